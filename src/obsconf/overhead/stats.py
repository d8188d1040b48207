"""Statistics of an A/B overhead run: spreads, a bootstrap confidence interval of the median paired ratio,
and the smallest change a run can see.

Everything here is pure (numbers in, numbers out) and deterministic: the bootstrap uses a fixed seed, so
the same pairs always give the same interval.

Why pairs and a median: on a noisy 2-core machine the per-round numbers drift (other processes, CPU
frequency, cache state). Rounds of A (instrumented) and B (not instrumented) alternate, so each A round
is compared with the B round beside it; the drift cancels in the pair's ratio, and the median of the ratios
shrugs off the odd disturbed round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 20_240_611  # fixed: the same data always yields the same interval
#: CPU per request moves with load (waking an idle core, batching), so two variants at one arrival rate but
#: different costs are not measured on quite the same footing: a known burn read 0.94-1.0x its size at a
#: third to half of the capacity (10 runs), and up to 20% small at a tenth. The detection limit of a
#: paired difference adds this share of the difference to the interval's width.
LOAD_ACCURACY = 0.10


@dataclass(frozen=True)
class Spread:
    """Median of a sample with its spread: interquartile range and the 5th/95th percentiles."""

    n: int
    median: float
    q1: float
    q3: float
    p5: float
    p95: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def spread(values: Sequence[float]) -> Spread:
    """The :class:`Spread` of ``values``; raises ``ValueError`` on an empty sample."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("spread() of an empty sample: no values were measured")
    q = np.percentile(arr, [50, 25, 75, 5, 95])
    return Spread(n=int(arr.size), median=float(q[0]), q1=float(q[1]), q3=float(q[2]), p5=float(q[3]), p95=float(q[4]))


def percentiles(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    """Percentiles ``qs`` (0-100) of ``values`` (linear interpolation); ``nan`` for an empty sample."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return [float("nan")] * len(qs)
    return [float(x) for x in np.percentile(arr, list(qs))]


def bootstrap_median_ci(
    values: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median of ``values``.

    With very few values the interval is coarse (it can only fall on observed values or midpoints of
    two), which is honest: few pairs cannot pin the median down.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("bootstrap_median_ci() of an empty sample")
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    return _central_interval(_resampled_medians(arr, np.random.default_rng(seed), resamples), confidence)


def _resampled_medians(arr: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """The medians of ``resamples`` bootstrap resamples of ``arr`` (drawn with replacement, same size)."""
    return np.median(arr[rng.integers(0, arr.size, size=(resamples, arr.size))], axis=1)


def _central_interval(resampled: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` share of a bootstrap distribution (the percentile method)."""
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(resampled, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Bounds:
    """A figure, its confidence interval and the smallest change the run resolves: what a gate decides on,
    whichever statistic (:class:`Estimate`, :class:`PairedComparison`, :class:`RatioChange`) it comes from."""

    point: float
    low: float
    high: float
    detection: float


@dataclass(frozen=True)
class Estimate:
    """The median of per-block values (ratios, differences, bare-request units) with its bootstrap CI."""

    n: int
    median: float
    ci_low: float
    ci_high: float
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def detection_limit(self) -> float:
        """The smallest change this run detects reliably: the CI's full width (see :class:`PairedComparison`)."""
        return self.ci_high - self.ci_low

    @property
    def half_width(self) -> float:
        return self.detection_limit / 2.0

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.median, self.ci_low, self.ci_high, self.detection_limit)

    def to_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "median": self.median, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "confidence": self.confidence, "half_width": self.half_width, "detection_limit": self.detection_limit}


def estimate(values: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE) -> Estimate:
    """:class:`Estimate` of ``values`` (one per block of rounds); raises ``ValueError`` when empty."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("estimate() of an empty sample: no complete block of rounds")
    lo, hi = bootstrap_median_ci(arr, confidence=confidence)
    return Estimate(n=int(arr.size), median=float(np.median(arr)), ci_low=lo, ci_high=hi, confidence=confidence)


@dataclass(frozen=True)
class PairedComparison:
    """A (treatment) against B (control), paired round by round.

    ``ratio_*`` are A/B (1.0 = no difference); ``pct_*`` the same as a percentage change
    (``(ratio - 1) * 100``); ``diff_*`` the paired difference A - B in the metric's own unit.
    ``detection_limit_pct`` / ``_abs`` is the smallest true change this run detects reliably: the full
    width of the 95% confidence interval (a change that large clears zero in about 97.5% of runs), plus
    :data:`LOAD_ACCURACY` of the measured change (CPU per request moves a little with load).
    """

    pairs: int
    confidence: float
    ratio_median: float
    ratio_ci_low: float
    ratio_ci_high: float
    diff_median: float
    diff_ci_low: float
    diff_ci_high: float
    a_median: float
    b_median: float

    @property
    def pct_median(self) -> float:
        return (self.ratio_median - 1.0) * 100.0

    @property
    def pct_ci_low(self) -> float:
        return (self.ratio_ci_low - 1.0) * 100.0

    @property
    def pct_ci_high(self) -> float:
        return (self.ratio_ci_high - 1.0) * 100.0

    @property
    def detection_limit_pct(self) -> float:
        return (self.ratio_ci_high - self.ratio_ci_low) * 100.0 + LOAD_ACCURACY * abs(self.pct_median)

    @property
    def detection_limit_abs(self) -> float:
        """Full width of the difference's interval plus the load allowance, in the metric's unit."""
        return self.diff_ci_high - self.diff_ci_low + LOAD_ACCURACY * abs(self.diff_median)

    @property
    def diff_bounds(self) -> Bounds:
        """The paired difference A - B, in the metric's unit."""
        return Bounds(self.diff_median, self.diff_ci_low, self.diff_ci_high, self.detection_limit_abs)

    @property
    def pct_bounds(self) -> Bounds:
        """The same change as a percentage of B."""
        return Bounds(self.pct_median, self.pct_ci_low, self.pct_ci_high, self.detection_limit_pct)

    def to_dict(self) -> dict[str, float | int]:
        return {
            "pairs": self.pairs,
            "confidence": self.confidence,
            "ratio_median": self.ratio_median,
            "ratio_ci_low": self.ratio_ci_low,
            "ratio_ci_high": self.ratio_ci_high,
            "pct_median": self.pct_median,
            "pct_ci_low": self.pct_ci_low,
            "pct_ci_high": self.pct_ci_high,
            "diff_median": self.diff_median,
            "diff_ci_low": self.diff_ci_low,
            "diff_ci_high": self.diff_ci_high,
            "a_median": self.a_median,
            "b_median": self.b_median,
            "detection_limit_pct": self.detection_limit_pct,
            "detection_limit_abs": self.detection_limit_abs,
        }


def compare_pairs(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedComparison:
    """Compare paired measurements ``a[i]`` (treatment) and ``b[i]`` (control) of the same round pair."""
    if len(a) != len(b):
        raise ValueError(f"compare_pairs(): {len(a)} A values but {len(b)} B values; rounds must pair up")
    if not a:
        raise ValueError("compare_pairs(): no pairs were measured")
    arr_a = np.asarray(a, dtype=float)
    arr_b = np.asarray(b, dtype=float)
    if np.any(arr_b <= 0):
        raise ValueError("compare_pairs(): a B value is <= 0, so a ratio is meaningless (did the round run?)")
    ratios = arr_a / arr_b
    diffs = arr_a - arr_b
    r_lo, r_hi = bootstrap_median_ci(ratios, confidence=confidence, resamples=resamples, seed=seed)
    d_lo, d_hi = bootstrap_median_ci(diffs, confidence=confidence, resamples=resamples, seed=seed)
    return PairedComparison(
        pairs=int(arr_a.size),
        confidence=confidence,
        ratio_median=float(np.median(ratios)),
        ratio_ci_low=r_lo,
        ratio_ci_high=r_hi,
        diff_median=float(np.median(diffs)),
        diff_ci_low=d_lo,
        diff_ci_high=d_hi,
        a_median=float(np.median(arr_a)),
        b_median=float(np.median(arr_b)),
    )


@dataclass(frozen=True)
class RatioChange:
    """How the median of ``new`` ratios compares with the median of ``baseline`` ratios (two runs)."""

    new_median: float
    baseline_median: float
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    confidence: float

    @property
    def resolution_pct(self) -> float:
        """The smallest change between the two runs told reliably from noise: the CI's full width."""
        return self.ci_high_pct - self.ci_low_pct

    @property
    def half_width_pct(self) -> float:
        return self.resolution_pct / 2.0

    @property
    def bounds(self) -> Bounds:
        return Bounds(self.change_pct, self.ci_low_pct, self.ci_high_pct, self.resolution_pct)

    def to_dict(self) -> dict[str, float]:
        return {"new_median": self.new_median, "baseline_median": self.baseline_median,
                "change_pct": self.change_pct, "ci_low_pct": self.ci_low_pct, "ci_high_pct": self.ci_high_pct,
                "half_width_pct": self.half_width_pct, "resolution_pct": self.resolution_pct,
                "confidence": self.confidence}


def ratio_change(
    new: Sequence[float],
    baseline: Sequence[float],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> RatioChange:
    """Percentage change of the median A/B ratio from ``baseline`` to ``new``, with a bootstrap interval.

    The two runs are independent, so each is resampled on its own. Comparing A/B ratios (never raw
    CPU numbers) across runs cancels what differs between the two machines or moments.
    """
    arr_n = np.asarray(new, dtype=float)
    arr_b = np.asarray(baseline, dtype=float)
    if arr_n.size == 0 or arr_b.size == 0:
        raise ValueError("ratio_change(): a run without pairs cannot be compared")
    rng = np.random.default_rng(seed)
    med_n = _resampled_medians(arr_n, rng, resamples)
    med_b = _resampled_medians(arr_b, rng, resamples)
    lo, hi = _central_interval((med_n / med_b - 1.0) * 100.0, confidence)
    point_n, point_b = float(np.median(arr_n)), float(np.median(arr_b))
    return RatioChange(
        new_median=point_n,
        baseline_median=point_b,
        change_pct=(point_n / point_b - 1.0) * 100.0,
        ci_low_pct=lo,
        ci_high_pct=hi,
        confidence=confidence,
    )
