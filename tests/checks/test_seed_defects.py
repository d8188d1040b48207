"""A seed defect is reported as such only while its promtool proof holds; a proof that fails is a failure."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from obsconf.cases.alerts import _defect_findings
from obsconf.cases.case import SEED_DEFECT
from obsconf.contract.loader import default_contract_paths, load_contract

PRETHRIFT = load_contract(next(p for p in default_contract_paths() if p.name == "prethrift.yaml"))


def test_a_proven_defect_is_one_seed_defect_finding() -> None:
    rule = next(r for r in PRETHRIFT.alerts.rules if r.defect is not None)
    (finding,) = _defect_findings(PRETHRIFT.alerts.rules_file, rule, PRETHRIFT.name)
    assert finding.check == SEED_DEFECT and "divided by itself" in finding.message
    assert "prethrift.defects.test.yml" in finding.actual


def test_a_proof_that_no_longer_holds_fails_the_case(tmp_path: Path) -> None:
    """If the rules file were fixed (or the claim wrong), the proof's promtool tests fail: the case then fails
    with promtool's findings instead of reporting a defect."""
    rule = next(r for r in PRETHRIFT.alerts.rules if r.defect is not None)
    proof = tmp_path / "wrong.test.yml"
    proof.write_text(rule.defect.proof.read_text(encoding="utf-8").replace("value: 1", "value: 0.001"), encoding="utf-8")
    wrong = replace(rule, defect=replace(rule.defect, proof=proof))
    findings = _defect_findings(PRETHRIFT.alerts.rules_file, wrong, PRETHRIFT.name)
    assert findings and all(f.check != SEED_DEFECT for f in findings)
    assert "does not hold any more" in findings[0].message
