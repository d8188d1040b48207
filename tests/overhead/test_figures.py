"""Machine-independent figures and the ratio-only baseline, on synthetic reports with known answers."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from obsconf.errors import ContractError
from obsconf.overhead import figures
from obsconf.overhead.schema import load_baseline_ratios
from tests.overhead.synthetic import make_report

B = [150.0, 155.0, 148.0, 152.0, 151.0, 149.0]
BARE = [50.0, 51.0, 49.0, 50.0, 52.0, 50.0]
HALF_BARE = [b + 0.5 * z for b, z in zip(B, BARE, strict=True)]  # A adds half a bare request per block


def test_added_cpu_in_bare_request_units() -> None:
    doc = make_report(HALF_BARE, B, bare=BARE)
    est = figures.bare_units(doc, "A")
    assert est is not None and est.median == pytest.approx(0.5) and est.n == len(B)
    assert doc["figures"]["overhead_bare_units"]["median"] == pytest.approx(0.5)
    whole = statistics.median(a / z for a, z in zip(HALF_BARE, BARE, strict=True))
    assert doc["figures"]["A_bare_units"]["median"] == pytest.approx(whole)


def test_ratios_per_block_and_the_p99_ratio() -> None:
    p99_b = [1000.0 + i for i in range(len(B))]
    doc = make_report([2 * b for b in B], B, p99={"A": [1.25 * x for x in p99_b], "B": p99_b})
    assert doc["figures"]["overhead_x_off"]["median"] == pytest.approx(1.0)
    assert doc["figures"]["p99_on_off"]["median"] == pytest.approx(1.25)
    assert "overhead_bare_units" not in doc["figures"]  # no calibration in this run: no bare units


def test_stock_and_burn_figures_only_when_they_ran() -> None:
    doc = make_report(HALF_BARE, B, bare=BARE, stock=[5 * a for a in HALF_BARE], burn=[a + 50 for a in HALF_BARE],
                      burn_us=50)
    figs = doc["figures"]
    assert figs["stock_cpu_vs_A"]["median"] == pytest.approx(5.0)
    assert figs["burn_detected_us"]["diff_median"] == pytest.approx(50.0)
    assert figs["burn_bare_units"]["median"] == pytest.approx(figures.bare_units(doc, "burn").median)
    plain = make_report(HALF_BARE, B)["figures"]
    assert not {"stock_cpu_vs_A", "burn_detected_us"} & set(plain)


def test_regression_resolution_grows_with_noise_and_suggests_a_limit() -> None:
    calm = make_report([b * 1.40 for b in B], B)
    noisy = make_report([b * f for b, f in zip(B, [1.2, 1.6, 1.3, 1.55, 1.25, 1.5], strict=True)], B)
    calm_res = calm["figures"]["regression_resolution_pct"]
    noisy_res = noisy["figures"]["regression_resolution_pct"]
    assert noisy_res > calm_res
    limit = noisy["figures"]["suggested_max_regression_pct"]
    assert limit % 5 == 0 and limit >= noisy_res


def test_baseline_is_ratios_only_and_reads_back(tmp_path: Path) -> None:
    doc = make_report(HALF_BARE, B, bare=BARE)
    path = figures.write_baseline(doc, tmp_path / "baseline" / "overhead.json")
    saved = json.loads(path.read_text())
    assert saved["kind"] == "obsconf-overhead-baseline"
    assert set(saved["blocks"][0]) == {"cpu_ratio", "overhead_bare_units", "p99_ratio"}
    assert load_baseline_ratios(path) == pytest.approx([a / b for a, b in zip(HALF_BARE, B, strict=True)])
    report_path = tmp_path / "overhead.json"
    report_path.write_text(json.dumps(doc))
    assert load_baseline_ratios(report_path) == pytest.approx(load_baseline_ratios(path))


def test_a_baseline_that_is_neither_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ContractError, match="b.json"):
        load_baseline_ratios(path)


def test_a_baseline_can_pool_several_runs_measured_alike(tmp_path: Path) -> None:
    from obsconf.errors import UsageError

    path = tmp_path / "overhead.json"
    first = make_report(HALF_BARE, B, bare=BARE)
    second = make_report([b * 1.5 for b in B], B, bare=BARE)
    figures.write_baseline(first, path)
    figures.write_baseline(second, path, append=True)
    pooled = json.loads(path.read_text())
    assert len(pooled["runs"]) == 2 and pooled["summary"]["blocks"] == 2 * len(B)
    assert load_baseline_ratios(path)[len(B):] == pytest.approx([1.5] * len(B))
    other = make_report(HALF_BARE, B, bare=BARE)
    other["config"]["sinks"] = "stack"
    with pytest.raises(UsageError, match="measured differently"):
        figures.write_baseline(other, path, append=True)
