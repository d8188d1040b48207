"""The gate decides on confidence bounds: pass, fail, undecided, bad input; proven on synthetic reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from obsconf.overhead import gate
from obsconf.overhead.figures import baseline_doc
from tests.overhead.synthetic import make_report

B = [150.0, 155.0, 148.0, 152.0, 151.0, 149.0, 153.0, 150.0]
BARE = [50.0, 51.0, 49.0, 50.0, 52.0, 50.0, 49.0, 51.0]
SMALL = 40.0  # added CPU of a cheap instrumentation, us
LARGE = 240.0  # added CPU of an expensive one, us
LIMIT = 150.0  # a limit between the two


def _run(tmp_path: Path, doc: dict[str, Any], *argv: str, baseline: dict[str, Any] | None = None) -> int:
    path = tmp_path / "overhead.json"
    path.write_text(json.dumps(doc))
    args = [str(path), *argv]
    if baseline is not None:
        base_path = tmp_path / "baseline.json"
        base_path.write_text(json.dumps(baseline))
        args += ["--baseline", str(base_path)]
    parser = argparse.ArgumentParser()
    gate.add_arguments(parser)
    return gate.run(parser.parse_args(args))


def test_without_limits_the_goals_in_ratios_apply(tmp_path: Path, capsys: Any) -> None:
    cheap = make_report([b + 0.2 * z for b, z in zip(B, BARE, strict=True)], B, bare=BARE)
    assert _run(tmp_path, cheap) == gate.EXIT_PASS
    out = capsys.readouterr().out
    assert out.startswith("GATE PASS")
    assert "--max-overhead-ratio 0.4 --max-p99-ratio 1.5" in out  # says which limits it applied
    assert len(out.splitlines()) <= 20  # one screen
    costly = make_report([b + 0.8 * z for b, z in zip(B, BARE, strict=True)], B, bare=BARE)
    assert _run(tmp_path, costly) == gate.EXIT_FAIL
    assert "in bare requests" in capsys.readouterr().out


def test_without_bare_calibration_the_us_goal_applies(capsys: Any) -> None:
    result = gate.evaluate(make_report([b + SMALL for b in B], B))
    assert result.verdict == gate.PASS
    assert any("--max-overhead-us 100" in n for n in result.notes)


def test_overhead_beyond_the_limit_at_the_lower_bound_fails(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + LARGE for b in B], B)
    assert _run(tmp_path, doc, "--max-overhead-us", str(LIMIT)) == gate.EXIT_FAIL
    out = capsys.readouterr().out
    assert "GATE FAIL" in out and "even the lower bound exceeds" in out
    assert _run(tmp_path, make_report([b + SMALL for b in B], B), "--max-overhead-us", str(LIMIT)) == gate.EXIT_PASS


def test_relative_limit(tmp_path: Path) -> None:
    doc = make_report([b * 1.30 for b in B], B)
    assert _run(tmp_path, doc, "--max-overhead-pct", "50") == gate.EXIT_PASS
    assert _run(tmp_path, doc, "--max-overhead-pct", "20") == gate.EXIT_FAIL


def test_ratio_limit_reads_added_cpu_in_bare_requests(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + 0.5 * z for b, z in zip(B, BARE, strict=True)], B, bare=BARE)
    assert _run(tmp_path, doc, "--max-overhead-ratio", "0.6") == gate.EXIT_PASS
    assert _run(tmp_path, doc, "--max-overhead-ratio", "0.4") == gate.EXIT_FAIL
    assert "0.500x bare" in capsys.readouterr().out


def test_ratio_limit_without_bare_calibration_is_undecided_and_says_why() -> None:
    result = gate.evaluate(make_report([b + SMALL for b in B], B), max_overhead_ratio=0.4)
    assert result.verdict == gate.UNDECIDED
    assert any("--no-bare" in c.detail for c in result.checks)


def test_p99_ratio_limit(tmp_path: Path) -> None:
    p99_b = [2000.0 + 10 * i for i in range(len(B))]
    slow_tail = make_report([b + SMALL for b in B], B, p99={"A": [3 * x for x in p99_b], "B": p99_b})
    assert _run(tmp_path, slow_tail, "--max-p99-ratio", "1.5") == gate.EXIT_FAIL
    calm_tail = make_report([b + SMALL for b in B], B, p99={"A": [1.1 * x for x in p99_b], "B": p99_b})
    assert _run(tmp_path, calm_tail, "--max-p99-ratio", "1.5") == gate.EXIT_PASS


def test_variant_burn_is_judged_in_the_same_report(tmp_path: Path) -> None:
    # one run: A adds 40 us, the burn variant 240 us; a limit between the two passes A and fails burn
    doc = make_report([b + SMALL for b in B], B, burn=[b + LARGE for b in B], burn_us=200)
    assert _run(tmp_path, doc, "--max-overhead-us", str(LIMIT)) == gate.EXIT_PASS
    assert _run(tmp_path, doc, "--max-overhead-us", str(LIMIT), "--variant", "burn") == gate.EXIT_FAIL
    result = gate.evaluate(doc, max_overhead_us=LIMIT, variant="stock")
    assert result.verdict == gate.UNDECIDED and "no variant 'stock'" in result.checks[0].detail


def test_point_estimate_under_the_limit_but_upper_bound_over_is_undecided(tmp_path: Path, capsys: Any) -> None:
    # median overhead ~ 90 us (under 100) but the pairs scatter from 40 to 150 us
    a = [b + d for b, d in zip(B, [40, 150, 60, 140, 90, 85, 130, 50], strict=True)]
    result = gate.evaluate(make_report(a, B), max_overhead_us=100)
    check = result.checks[0]
    assert check.verdict == gate.UNDECIDED
    assert result.exit_code == gate.EXIT_UNDECIDED
    assert "--rounds 32" in check.detail  # tells how to get a decision
    assert _run(tmp_path, make_report(a, B), "--max-overhead-us", str(100.0)) == gate.EXIT_UNDECIDED
    assert "GATE UNDECIDED" in capsys.readouterr().out


def test_rounds_with_errors_make_the_run_undecided() -> None:
    doc = make_report([b + 10 for b in B], B, errors=500)
    result = gate.evaluate(doc, max_overhead_us=100)
    assert result.verdict == gate.UNDECIDED
    assert any("failed" in c.detail for c in result.checks)


def test_errors_of_a_variant_not_judged_do_not_matter() -> None:
    doc = make_report([b + 10 for b in B], B, stock=[4 * b for b in B])
    for rnd in doc["rounds"]:
        if rnd["variant"] == "stock":
            rnd["errors"] = 500  # a saturated stock service drops requests; A vs B is still decidable
    assert gate.evaluate(doc, max_overhead_us=100).verdict == gate.PASS


def test_rounds_without_requests_make_the_run_undecided() -> None:
    doc = make_report([b + 10 for b in B], B, requests=0)
    assert gate.evaluate(doc).verdict == gate.UNDECIDED


def test_regression_against_a_baseline_of_ratios(tmp_path: Path, capsys: Any) -> None:
    baseline = baseline_doc(make_report([b * 1.10 for b in B], B, bare=BARE))
    assert "cpu_ratio" in baseline["blocks"][0] and "us" not in json.dumps(baseline["blocks"])
    same = make_report([b * 1.11 for b in B], B)
    worse = make_report([b * 1.60 for b in B], B)
    limits = ("--max-overhead-pct", "100", "--max-regression-pct", "10")
    assert _run(tmp_path, same, *limits, baseline=baseline) == gate.EXIT_PASS
    assert _run(tmp_path, worse, *limits, baseline=baseline) == gate.EXIT_FAIL
    assert "resolves about" in capsys.readouterr().out


def test_regression_of_the_burn_variant_in_the_same_run(tmp_path: Path) -> None:
    baseline = baseline_doc(make_report([b * 1.40 for b in B], B))
    doc = make_report([b * 1.41 for b in B], B, burn=[b * 1.40 * 1.2 for b in B])  # a 20% regression
    limits = ("--max-overhead-pct", "100", "--max-regression-pct", "10")
    assert _run(tmp_path, doc, *limits, baseline=baseline) == gate.EXIT_PASS
    assert _run(tmp_path, doc, *limits, "--variant", "burn", baseline=baseline) == gate.EXIT_FAIL


def test_a_full_report_serves_as_baseline_too(tmp_path: Path) -> None:
    old = make_report([b * 1.10 for b in B], B)
    assert _run(tmp_path, make_report([b * 1.60 for b in B], B), "--max-overhead-pct", "100",
                baseline=old) == gate.EXIT_FAIL


def test_regression_limit_without_baseline_is_noted(capsys: Any) -> None:
    result = gate.evaluate(make_report([b + 10 for b in B], B), max_regression_pct=5)
    assert any("needs --baseline" in n for n in result.notes)


def test_missing_report_is_bad_input(tmp_path: Path, capsys: Any) -> None:
    parser = argparse.ArgumentParser()
    gate.add_arguments(parser)
    assert gate.run(parser.parse_args([str(tmp_path / "nope.json")])) == gate.EXIT_BAD_INPUT
    assert "nope.json" in capsys.readouterr().out


def test_not_an_overhead_report_is_bad_input(tmp_path: Path, capsys: Any) -> None:
    assert _run(tmp_path, {"hello": 1}) == gate.EXIT_BAD_INPUT
    out = capsys.readouterr().out
    assert "GATE ERROR" in out and "overhead.json" in out


def test_bad_baseline_is_bad_input_naming_the_field(tmp_path: Path, capsys: Any) -> None:
    baseline = baseline_doc(make_report([b * 1.10 for b in B], B))
    baseline["blocks"][1]["cpu_ratio"] = "fast"
    assert _run(tmp_path, make_report(B, B), baseline=baseline) == gate.EXIT_BAD_INPUT
    assert "blocks.1.cpu_ratio" in capsys.readouterr().out


def test_other_schema_version_is_named(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + 10 for b in B], B)
    doc["schema_version"] = 99
    assert _run(tmp_path, doc) == gate.EXIT_BAD_INPUT
    assert "schema_version" in capsys.readouterr().out


def test_saturated_rounds_are_noted() -> None:
    doc = make_report([b + 10 for b in B], B, throughput=500.0)
    assert any("saturated" in n for n in gate.evaluate(doc).notes)


def test_a_baseline_alone_checks_the_regression_only() -> None:
    baseline = baseline_doc(make_report([b * 1.10 for b in B], B, bare=BARE))
    costly = make_report([b * 1.11 + 0.8 * z for b, z in zip(B, BARE, strict=True)], B, bare=BARE)
    from obsconf.overhead.schema import validate_baseline

    ratios = [blk["cpu_ratio"] for blk in validate_baseline(baseline, "b")["blocks"]]
    result = gate.evaluate(costly, baseline=ratios, max_regression_pct=100)
    assert [c.name for c in result.checks] == ["regression of the A/B CPU ratio vs baseline"]


def test_a_baseline_measured_otherwise_is_noted(tmp_path: Path, capsys: Any) -> None:
    old = make_report([b * 1.10 for b in B], B)
    old["config"]["sinks"] = "stack"
    new = make_report([b * 1.10 for b in B], B)
    new["config"]["sinks"] = "discard"
    assert _run(tmp_path, new, "--max-regression-pct", "10", baseline=baseline_doc(old)) == gate.EXIT_PASS
    assert "sinks: stack in the baseline, discard now" in capsys.readouterr().out
