"""The gate decides on confidence bounds: pass, fail, undecided, bad input; proven on synthetic reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from obsconf.overhead import gate
from tests.overhead.synthetic import make_report

B = [150.0, 155.0, 148.0, 152.0, 151.0, 149.0, 153.0, 150.0]


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


def test_small_overhead_passes_on_the_default_goal(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + 40 for b in B], B)
    assert _run(tmp_path, doc) == gate.EXIT_PASS
    out = capsys.readouterr().out
    assert out.startswith("GATE PASS")
    assert "--max-overhead-us 100" in out  # says which limit it applied
    assert len(out.splitlines()) <= 20  # one screen


def test_overhead_beyond_the_limit_at_the_lower_bound_fails(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + 240 for b in B], B)
    assert _run(tmp_path, doc, "--max-overhead-us", "150") == gate.EXIT_FAIL
    out = capsys.readouterr().out
    assert "GATE FAIL" in out and "even the lower bound exceeds" in out


def test_relative_limit(tmp_path: Path) -> None:
    doc = make_report([b * 1.30 for b in B], B)
    assert _run(tmp_path, doc, "--max-overhead-pct", "50") == gate.EXIT_PASS
    assert _run(tmp_path, doc, "--max-overhead-pct", "20") == gate.EXIT_FAIL


def test_point_estimate_under_the_limit_but_upper_bound_over_is_undecided(tmp_path: Path, capsys: Any) -> None:
    # median overhead ~ 90 us (under 100) but the pairs scatter from 40 to 150 us
    a = [b + d for b, d in zip(B, [40, 150, 60, 140, 90, 85, 130, 50], strict=True)]
    result = gate.evaluate(make_report(a, B), max_overhead_us=100)
    check = result.checks[0]
    assert check.verdict == gate.UNDECIDED
    assert result.exit_code == gate.EXIT_UNDECIDED
    assert "--rounds 32" in check.detail  # tells how to get a decision
    assert _run(tmp_path, make_report(a, B), "--max-overhead-us", "100") == gate.EXIT_UNDECIDED
    assert "GATE UNDECIDED" in capsys.readouterr().out


def test_rounds_with_errors_make_the_run_undecided() -> None:
    doc = make_report([b + 10 for b in B], B, errors=500)
    result = gate.evaluate(doc, max_overhead_us=100)
    assert result.verdict == gate.UNDECIDED
    assert any("failed" in c.detail for c in result.checks)


def test_rounds_without_requests_make_the_run_undecided() -> None:
    doc = make_report([b + 10 for b in B], B, requests=0)
    assert gate.evaluate(doc).verdict == gate.UNDECIDED


def test_regression_against_a_baseline(tmp_path: Path) -> None:
    baseline = make_report([b * 1.10 for b in B], B)
    same = make_report([b * 1.11 for b in B], B)
    worse = make_report([b * 1.60 for b in B], B)
    limits = ("--max-overhead-pct", "100", "--max-regression-pct", "10")
    assert _run(tmp_path, same, *limits, baseline=baseline) == gate.EXIT_PASS
    assert _run(tmp_path, worse, *limits, baseline=baseline) == gate.EXIT_FAIL


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


def test_other_schema_version_is_named(tmp_path: Path, capsys: Any) -> None:
    doc = make_report([b + 10 for b in B], B)
    doc["schema_version"] = 99
    assert _run(tmp_path, doc) == gate.EXIT_BAD_INPUT
    assert "schema_version" in capsys.readouterr().out


def test_saturated_rounds_are_noted() -> None:
    doc = make_report([b + 10 for b in B], B, throughput=500.0)
    assert any("saturated" in n for n in gate.evaluate(doc).notes)
