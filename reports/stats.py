"""The statistics of a comparison: Mann-Whitney U, the geometric mean,
percentile-bootstrap intervals of medians and of changes, Welch's t for
runs that kept only aggregates, Tukey's outlier classification, and the
noise floor of an A/A comparison."""
import math

import numpy as np
from scipy import stats as _scipy_stats

MIN_REPETITIONS_FOR_U_TEST = 9


def mann_whitney_u(a, b):
    """Two-sided Mann-Whitney U test; returns (U of a, p-value)."""
    result = _scipy_stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def geomean(values):
    """Geometric mean of positive numbers."""
    values = list(values)
    if not values or any(v <= 0 for v in values):
        raise ValueError("geomean needs positive values")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def relative_change(old, new):
    """(new - old) / |old|, as Google Benchmark's compare.py reports it."""
    return (new - old) / abs(old) if old else float("inf")


# Bootstrap: percentile intervals, as criterion.rs reports them.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_LEVEL = 0.95
BOOTSTRAP_METHOD = ("percentile bootstrap of the median, %d resamples, %d%% level, seed 1"
                    % (BOOTSTRAP_RESAMPLES, round(100 * BOOTSTRAP_LEVEL)))


def _percentile(sorted_values, q):
    """Linear interpolation between closest ranks, q in [0, 1]."""
    if len(sorted_values) == 0:
        raise ValueError("no values")
    pos = q * (len(sorted_values) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    low, high, frac = sorted_values[lo], sorted_values[hi], pos - lo
    # On a rank, or between equal values, the value itself: an infinite
    # change (an old median of 0) would otherwise read inf - inf or inf * 0,
    # which are nan.
    if frac == 0 or low == high:
        return float(low)
    return float(low + (high - low) * frac)


def _resampled_medians(samples, resamples, rng):
    """The median of each of `resamples` resamples (with replacement)."""
    a = np.asarray(samples, dtype=float)
    return np.median(a[rng.integers(0, len(a), size=(resamples, len(a)))], axis=1)


def bootstrap_median_ci(samples, resamples=BOOTSTRAP_RESAMPLES, level=BOOTSTRAP_LEVEL, seed=1):
    """(low, high) of the median of `samples` (deterministic for a seed)."""
    samples = list(samples)
    if not samples:
        raise ValueError("no samples")
    meds = np.sort(_resampled_medians(samples, resamples, np.random.default_rng(seed)))
    alpha = (1 - level) / 2
    return _percentile(meds, alpha), _percentile(meds, 1 - alpha)


def bootstrap_change_ci(old, new, resamples=BOOTSTRAP_RESAMPLES, level=BOOTSTRAP_LEVEL, seed=1):
    """(low, high) of (median(new) - median(old)) / median(old), each side
    resampled independently."""
    old, new = list(old), list(new)
    if not old or not new:
        raise ValueError("no samples")
    rng = np.random.default_rng(seed)
    o = _resampled_medians(old, resamples, rng)
    n = _resampled_medians(new, resamples, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        changes = np.sort(np.where(o != 0, (n - o) / np.abs(o), np.inf))
    alpha = (1 - level) / 2
    return _percentile(changes, alpha), _percentile(changes, 1 - alpha)


WELCH_METHOD = "Welch's t-test and interval on the aggregates' means (no repetitions in the file)"


def welch_change(old_mean, old_sd, old_n, new_mean, new_sd, new_n, level=BOOTSTRAP_LEVEL):
    """For runs that kept only aggregates (mean, stddev, repetitions): the
    two-sided p-value of Welch's t-test and the interval of the relative
    change of the mean, (low, high), at `level`. None where it cannot be
    computed (fewer than 2 repetitions, a zero mean, both spreads 0)."""
    if old_n < 2 or new_n < 2 or not old_mean:
        return None
    va, vb = old_sd ** 2 / old_n, new_sd ** 2 / new_n
    se = math.sqrt(va + vb)
    if se == 0:
        return None
    df = (va + vb) ** 2 / (va ** 2 / (old_n - 1) + vb ** 2 / (new_n - 1))
    diff = new_mean - old_mean
    p = float(2 * _scipy_stats.t.sf(abs(diff) / se, df))
    t = float(_scipy_stats.t.ppf(1 - (1 - level) / 2, df))
    return p, ((diff - t * se) / abs(old_mean), (diff + t * se) / abs(old_mean))


def classify_outliers(samples):
    """Tukey's fences, as criterion.rs classifies: counts of low/high, mild
    (beyond 1.5 IQR) and severe (beyond 3 IQR). Nothing is dropped."""
    v = sorted(samples)
    counts = {"low_severe": 0, "low_mild": 0, "high_mild": 0, "high_severe": 0}
    if len(v) < 4:
        return counts
    q1, q3 = _percentile(v, 0.25), _percentile(v, 0.75)
    iqr = q3 - q1
    for x in v:
        if x < q1 - 3 * iqr:
            counts["low_severe"] += 1
        elif x < q1 - 1.5 * iqr:
            counts["low_mild"] += 1
        elif x > q3 + 3 * iqr:
            counts["high_severe"] += 1
        elif x > q3 + 1.5 * iqr:
            counts["high_mild"] += 1
    return counts


def noise_floor(changes):
    """The noise floor of a family from an A/A comparison: the largest
    |relative change| between two runs of the same binary."""
    changes = [abs(c) for c in changes if c is not None and math.isfinite(c)]
    return max(changes) if changes else 0.0
