"""The statistics of a comparison: Mann-Whitney U, the geometric mean,
percentile-bootstrap intervals of medians and of changes, Tukey's outlier
classification, and the noise floor of an A/A comparison."""
import math

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


def _median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def _percentile(sorted_values, q):
    """Linear interpolation between closest ranks, q in [0, 1]."""
    if not sorted_values:
        raise ValueError("no values")
    pos = q * (len(sorted_values) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_median_ci(samples, resamples=BOOTSTRAP_RESAMPLES, level=BOOTSTRAP_LEVEL, seed=1):
    """(low, high) of the median of `samples` (deterministic for a seed)."""
    import random
    samples = list(samples)
    if not samples:
        raise ValueError("no samples")
    rng = random.Random(seed)
    n = len(samples)
    meds = sorted(_median([samples[rng.randrange(n)] for _ in range(n)])
                  for _ in range(resamples))
    alpha = (1 - level) / 2
    return _percentile(meds, alpha), _percentile(meds, 1 - alpha)


def bootstrap_change_ci(old, new, resamples=BOOTSTRAP_RESAMPLES, level=BOOTSTRAP_LEVEL, seed=1):
    """(low, high) of (median(new) - median(old)) / median(old), each side
    resampled independently."""
    import random
    old, new = list(old), list(new)
    if not old or not new:
        raise ValueError("no samples")
    rng = random.Random(seed)
    changes = []
    for _ in range(resamples):
        o = _median([old[rng.randrange(len(old))] for _ in old])
        n = _median([new[rng.randrange(len(new))] for _ in new])
        changes.append(relative_change(o, n))
    changes.sort()
    alpha = (1 - level) / 2
    return _percentile(changes, alpha), _percentile(changes, 1 - alpha)


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
