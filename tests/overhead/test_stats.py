"""Bootstrap CI, paired ratio, detection limit, change between runs: synthetic data with known answers."""

from __future__ import annotations

import pytest

from obsconf.overhead.stats import (
    LOAD_ACCURACY,
    bootstrap_median_ci,
    compare_pairs,
    percentiles,
    ratio_change,
    spread,
)


def test_spread_of_known_sample() -> None:
    s = spread([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    assert (s.n, s.median, s.q1, s.q3) == (11, 6.0, 3.5, 8.5)
    assert s.iqr == 5.0
    assert s.p5 == pytest.approx(1.5) and s.p95 == pytest.approx(10.5)


def test_spread_refuses_empty_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        spread([])


def test_percentiles_of_empty_sample_are_nan() -> None:
    assert all(v != v for v in percentiles([], [50, 99]))


def test_bootstrap_ci_is_deterministic_and_brackets_the_median() -> None:
    values = [10.0, 11.0, 9.5, 10.2, 10.8, 9.9, 10.1, 10.4]
    lo, hi = bootstrap_median_ci(values)
    assert (lo, hi) == bootstrap_median_ci(values)  # fixed seed
    assert lo <= 10.15 <= hi
    assert min(values) <= lo and hi <= max(values)


def test_bootstrap_ci_narrows_with_more_data() -> None:
    few = [1.0, 1.2, 0.9, 1.1, 1.05, 0.95]
    many = few * 8
    few_lo, few_hi = bootstrap_median_ci(few)
    many_lo, many_hi = bootstrap_median_ci(many)
    assert (many_hi - many_lo) < (few_hi - few_lo)


def test_single_value_ci_is_that_value() -> None:
    assert bootstrap_median_ci([3.0]) == (3.0, 3.0)


def test_compare_pairs_recovers_a_known_ratio_and_difference() -> None:
    b = [100.0, 110.0, 95.0, 105.0, 98.0, 102.0, 101.0, 99.0]
    a = [x * 1.2 for x in b]
    c = compare_pairs(a, b)
    assert c.pairs == 8
    assert c.ratio_median == pytest.approx(1.2)
    assert c.ratio_ci_low == pytest.approx(1.2) and c.ratio_ci_high == pytest.approx(1.2)
    assert c.pct_median == pytest.approx(20.0)
    # no noise: only the load allowance remains, a tenth of the 20% change
    assert c.detection_limit_pct == pytest.approx(LOAD_ACCURACY * 20.0)
    assert c.diff_ci_low <= c.diff_median <= c.diff_ci_high
    assert c.b_median == pytest.approx(100.5)


def test_noisy_pairs_give_a_wide_interval_and_a_large_detection_limit() -> None:
    b = [100.0] * 6
    a = [80.0, 130.0, 95.0, 120.0, 70.0, 125.0]
    c = compare_pairs(a, b)
    assert c.ratio_ci_low < 1.0 < c.ratio_ci_high
    assert c.detection_limit_pct > 10


def test_compare_pairs_refuses_unpaired_or_empty_or_zero_input() -> None:
    with pytest.raises(ValueError, match="pair up"):
        compare_pairs([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no pairs"):
        compare_pairs([], [])
    with pytest.raises(ValueError, match="<= 0"):
        compare_pairs([1.0], [0.0])


def test_ratio_change_between_runs() -> None:
    base = [1.10, 1.12, 1.09, 1.11, 1.10, 1.10]
    worse = [r * 1.5 for r in base]
    change = ratio_change(worse, base)
    assert change.change_pct == pytest.approx(50.0)
    assert change.ci_low_pct > 40
    same = ratio_change(base, base)
    assert same.ci_low_pct <= 0 <= same.ci_high_pct
