"""The statistics of a comparison: Mann-Whitney U and the geometric mean."""
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
