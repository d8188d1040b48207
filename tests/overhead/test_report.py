"""Report schema, rendering and plots, on synthetic data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from obsconf.errors import ContractError
from obsconf.overhead.plots import latency_histogram, write_plots
from obsconf.overhead.report import render_markdown, write_report
from obsconf.overhead.schema import SCHEMA_VERSION, MicroResult, load_report, pair_values, validate_report
from tests.overhead.synthetic import make_report

A = [200.0, 210.0, 205.0, 199.0]
B = [150.0, 155.0, 152.0, 149.0]


def test_synthetic_report_is_valid_and_versioned() -> None:
    doc = make_report(A, B)
    assert validate_report(doc, "x.json")["schema_version"] == SCHEMA_VERSION


def test_invalid_round_names_the_field() -> None:
    doc = make_report(A, B)
    doc["rounds"][3]["variant"] = "C"
    with pytest.raises(ContractError, match=r"rounds\.3\.variant"):
        validate_report(doc, "x.json")


def test_load_report_names_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"a":\n}')
    with pytest.raises(ContractError, match="line 2"):
        load_report(path)


def test_pair_values_follow_pairs_not_run_order() -> None:
    doc = make_report(A, B)
    assert pair_values(doc) == (A, B)
    assert pair_values(doc, "latency.p99_us") == ([2000.0] * 4, [2000.0] * 4)


def test_incomplete_pairs_are_dropped() -> None:
    doc = make_report(A, B)
    doc["rounds"] = doc["rounds"][:-1]  # the last pair lost one round
    a, b = pair_values(doc)
    assert (a, b) == (A[:3], B[:3])


def test_markdown_states_result_goal_and_detection_limit() -> None:
    doc = make_report(A, B)
    doc["micro"] = [dict(vars(MicroResult("span start+end", "d", 14.0, 13.5, 14.5, 13.0, 30.0, 30, 500,
                                          budget_us=100.0, budget_source="seed 002")), within_budget=True)]
    md = render_markdown(doc)
    assert "Instrumentation costs **51.5 us CPU per request**" in md  # median of paired differences
    assert "within the goal" in md
    assert "Detection limit" in md
    assert "| span start+end | 14.00 | 13.50 - 14.50 | 13.00 - 30.00 |" in md
    assert len(re.findall(r"^\| \d+ \| \d+ \| [AB] \|", md, flags=re.M)) == 8  # one row per round


def test_write_report_and_plots(tmp_path: Path) -> None:
    doc = make_report(A, B)
    doc["latency_histogram"] = latency_histogram({"A": [200.0, 300.0, 5000.0], "B": [150.0, 250.0, 900.0]}, bins=10)
    json_path, md_path = write_report(doc, tmp_path)
    assert json.loads(json_path.read_text())["kind"] == "obsconf-overhead-report"
    assert md_path.read_text().startswith("# Instrumentation overhead")
    plots = write_plots(doc, tmp_path)
    assert [p.name for p in plots] == ["overhead_latency.png", "overhead_cpu_by_round.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in plots)


def test_latency_histogram_shares_edges() -> None:
    hist = latency_histogram({"A": [100.0, 200.0], "B": [150.0]}, bins=4)
    assert len(hist["edges_us"]) == 5
    assert sum(hist["A"]) == 2 and sum(hist["B"]) == 1
    assert latency_histogram({"A": [], "B": []}) == {}


def test_markdown_gives_the_machine_independent_figures_and_goals() -> None:
    bare = [50.0, 52.0, 49.0, 51.0]
    a = [b + 0.8 * z for b, z in zip(B, bare, strict=True)]
    doc = make_report(a, B, bare=bare, stock=[5 * x for x in a], burn=[x + 50 for x in a], burn_us=50)
    doc["config"]["sink_received"] = {"requests": {"/v1/traces": 3}, "bytes": {"/v1/traces": 900}}
    md = render_markdown(doc)
    assert "the discarding sink received 3 POSTs to `/v1/traces`" in md
    assert "## Machine-independent figures" in md
    assert "| added CPU in bare requests" in md and "**missed** (goal <= 0.4; median 2.00x the goal)" in md
    assert "| latency p99 A/B at 1000 req/s | 1.000 |" in md and "**met** (goal <= 1.5)" in md
    assert "| stock OpenTelemetry: CPU per request, stock/A | 5.000x |" in md
    assert "| injected burn of 50 us, measured as burn - A | 50.0 us |" in md
    assert "Regression resolution" in md
    assert len(re.findall(r"^\| \d+ \| \d+ \| (A|B|bare|stock|burn) \|", md, flags=re.M)) == 20  # every round
