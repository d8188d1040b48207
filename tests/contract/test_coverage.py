"""Traceability: structured seed references on every item, the coverage of each seed, and its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from obsconf.cases.suite import build_cases
from obsconf.contract.loader import default_contract_paths, load_contract
from obsconf.contract.tools import COVERAGE_BEGIN, COVERAGE_END
from obsconf.errors import ContractError
from obsconf.report.coverage import (
    CHECKED,
    SEED_DEFECT,
    coverage_document,
    render_markdown,
    seed_coverage,
    statement_lines,
)

CONTRACTS = default_contract_paths()
README = CONTRACTS[0].parent / "README.md"
MIN_PERCENT = 85.0


def test_statement_lines_skip_headings_fences_tables_and_brackets() -> None:
    text = "\n".join([
        "# Title", "", "Prose that states something.", "**Features:**", "- a bullet", "```go", "func x() {",
        "}", "```", "| a | b |", "|---|---|", "| 1 | 2 |", "---",
    ])
    assert statement_lines(text) == [3, 5, 7, 12]


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_each_seed_is_covered_and_every_statement_accounted(path: Path) -> None:
    cov = seed_coverage(load_contract(path))
    assert not cov.missing_seed
    summary = cov.summary()
    assert summary["unaccounted"] == 0, [r for r in cov.rows() if r["status"] == "unaccounted"]
    assert cov.percent >= MIN_PERCENT, f"{cov.contract}: {cov.percent:.1f}% of the testable statements checked"


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_every_case_item_carries_a_seed_reference_or_a_convention(path: Path) -> None:
    """A case's items say where they come from in a structured way: seed lines, or why obsconf chose them."""
    contract = load_contract(path)
    for case in build_cases(contract):
        if case.kind == "metrics.semconv" and contract.metrics_semconv is not None and not contract.trace.get(
                "metrics.semconv"):
            continue  # on by default: no item in the contract (the list form of metrics)
        traced = [contract.trace.get(src) for src in case.sources]
        assert any(t is not None and (t.refs or t.convention) for t in traced), (case.id, case.sources)


def test_seed_defects_are_shown_on_their_lines() -> None:
    persist = seed_coverage(load_contract(next(p for p in CONTRACTS if p.name == "persist.yaml")))
    rows = [r for r in persist.rows() if r["status"] == SEED_DEFECT]
    assert rows and all(r["cases"] for r in rows) and "never" in rows[0]["note"]
    assert any(r["status"] == CHECKED for r in persist.rows())


def test_seed_lines_past_the_end_are_refused(tmp_path: Path) -> None:
    shipped = next(p for p in CONTRACTS if p.name == "persist.yaml")
    (tmp_path / "seeds").mkdir()
    seed = next((shipped.parent / "seeds").glob("000_*.txt"))
    (tmp_path / "seeds" / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "alerts").mkdir()
    for f in (shipped.parent / "alerts").glob("persist*"):
        (tmp_path / "alerts" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "persist.yaml"
    bad.write_text(shipped.read_text(encoding="utf-8").replace('seed: "356-366"', 'seed: "356-9999"'), encoding="utf-8")
    with pytest.raises(ContractError, match=r"line 9999 is past the end of seed 000_.*\(398 lines\)"):
        load_contract(bad)
    bad.write_text(shipped.read_text(encoding="utf-8").replace('seed: "356-366"', 'seed: "366-356"'), encoding="utf-8")
    with pytest.raises(ContractError, match="runs backwards"):
        load_contract(bad)


def test_readme_holds_the_current_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split(COVERAGE_BEGIN, 1)[1].split(COVERAGE_END, 1)[0].strip()
    expected = render_markdown([seed_coverage(load_contract(p)) for p in CONTRACTS]).strip()
    assert table == expected, ("fixtures/contracts/README.md's coverage table is stale: run `obsconf contract "
                               "coverage fixtures/contracts --readme fixtures/contracts/README.md`")


def test_coverage_document_is_the_report_slot() -> None:
    doc = coverage_document([load_contract(p) for p in CONTRACTS])
    assert set(doc) == {"assistant", "aurum", "persist", "prethrift", "syncd"}
    rows = doc["persist"]["rows"]
    assert {"requirement", "seed_lines", "contract_path", "cases", "status", "note"} <= set(rows[0])
    assert doc["persist"]["summary"]["percent"] >= MIN_PERCENT


def test_cli_prints_per_seed_and_fails_below_min(tmp_path: Path) -> None:
    out = tmp_path / "coverage.json"
    proc = subprocess.run([sys.executable, "-m", "obsconf.cli", "contract", "coverage", str(CONTRACTS[0].parent),
                           "--json", str(out), "--min", str(MIN_PERCENT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "persist (seed 000_4e38db8c29f31bb6.txt):" in proc.stdout and "not checked:" in proc.stdout
    assert "l.115-118" in proc.stdout or "115" in proc.stdout
    assert json.loads(out.read_text())["syncd"]["summary"]["testable"] > 0
    proc = subprocess.run([sys.executable, "-m", "obsconf.cli", "contract", "coverage", str(CONTRACTS[0]),
                           "--min", "100"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "below --min 100%" in proc.stderr
