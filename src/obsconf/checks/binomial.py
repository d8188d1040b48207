"""The exact two-sided binomial test, for sampling rates: pure arithmetic, no SciPy."""

from __future__ import annotations

import math

#: The significance level of every sampling test: a correct sampler fails it once in a thousand runs.
ALPHA = 0.001


def _log_pmf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def two_sided_p(k: int, n: int, p: float) -> float:
    """P-value of ``k`` successes in ``n`` trials at rate ``p``: the probability of every outcome no likelier
    than ``k`` (the "minimum likelihood" method of R's binom.test and SciPy's binomtest)."""
    if not 0 <= k <= n:
        raise ValueError(f"k={k} outside 0..{n}")
    here = _log_pmf(k, n, p)
    if here == -math.inf:
        return 0.0
    tolerance = 1e-7 * abs(here) + 1e-12
    total = sum(math.exp(lp) for i in range(n + 1) if (lp := _log_pmf(i, n, p)) <= here + tolerance)
    return min(1.0, total)


def requests_needed(p: float, alpha: float = ALPHA, floor: int = 20) -> int:
    """The fewest requests at rate ``p`` for which both extremes - nothing sampled, everything sampled - are
    rejected at ``alpha``: fewer, and a sampler that keeps nothing (or everything) could pass."""
    if p <= 0.0 or p >= 1.0:
        return floor
    n = floor
    while two_sided_p(0, n, p) >= alpha or two_sided_p(n, n, p) >= alpha:
        n += max(1, n // 20)
    return n
