"""Cases of the ``alerts`` section: the rules file, promtool's unit tests, live drives, and seed defects."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from obsconf.cases.case import SEED_DEFECT, Case, Probe, path_of
from obsconf.checks.alerts import check_alert_drive, check_alert_rules
from obsconf.checks.http import check_expected_status
from obsconf.checks.promtool import promtool_test_rules
from obsconf.contract.model import AlertDrive, AlertRuleSpec, Contract
from obsconf.model import Finding


def alerts_cases(contract: Contract) -> list[Case]:
    alerts = contract.alerts
    if alerts is None:
        return []
    rule_paths = tuple(path_of(r.loc) for r in alerts.rules)
    cases = [Case(contract, "alerts", "rules_match_seed", "alerts.rules",
                  lambda probe: check_alert_rules(alerts, probe.rules_text()),
                  "the rules file holds the contract's alert rules", ("alerts",) + rule_paths)]
    if alerts.tests_file is not None:
        tests_file = alerts.tests_file
        where = f"{contract.name} alerts"
        cases.append(Case(contract, "alerts", "promtool_test_rules", "alerts.promtool",
                          lambda probe: promtool_test_rules(alerts.rules_file, tests_file, where=where),
                          "`promtool test rules` passes the rules' unit tests", ("alerts",) + rule_paths))
    for drive in alerts.drives:
        cases.append(Case(contract, "alerts", f"drive_{drive.name}", "alerts.live",
                          lambda probe, d=drive: _drive_findings(d, probe),
                          f"drive {drive.name!r}: {', '.join(drive.fires)} fire on the service's series, the other "
                          "rules stay quiet", (path_of(drive.loc),)))
    for rule in alerts.rules:
        if rule.defect is not None:
            cases.append(Case(contract, "alerts", f"defect_{rule.name}", "alerts.defect",
                              lambda probe, r=rule: _defect_findings(alerts.rules_file, r, contract.name),
                              f"seed defect in {rule.name}: {rule.defect.claim}", (path_of(rule.loc),)))
    return cases


def _drive_findings(drive: AlertDrive, probe: Probe) -> list[Finding]:
    run = probe.alert_drive(drive)
    alerts = probe.collected().contract.alerts
    findings = check_alert_drive(drive, run.rule_names, run.before, run.seen, job=run.job,
                                 for_override=alerts.for_override if alerts else None, query=run.query, link=run.link)
    # each pass over the drive's workload answers as its steps expect while the fault holds (e.g. readiness
    # 503 while liveness stays 200); the first failing pass is reported
    for exchanges in run.passes:
        bad = check_expected_status(drive.workload, exchanges)
        if bad:
            findings += [replace(f, where=drive.loc or f.where, message=f"during drive {drive.name!r}: {f.message}")
                         for f in bad]
            break
    return findings + run.findings


def _defect_findings(rules_file: Any, rule: AlertRuleSpec, name: str) -> list[Finding]:
    """The seed's rule as written, run by promtool against the proof's unit tests: they pass when the defect
    is real, and the case then reports it as a seed defect (not a failure of the service)."""
    assert rule.defect is not None
    where = rule.loc or f"alerts {rule.name}"
    failed = promtool_test_rules(rules_file, rule.defect.proof, where=where)
    if failed:
        return [replace(f, message=f"the proof of the seed defect in {rule.name!r} does not hold any more "
                                   f"(promtool test rules {rule.defect.proof.name}): {f.message}") for f in failed]
    return [Finding(SEED_DEFECT, where, f"seed defect in {rule.name!r}: {rule.defect.claim}",
                    expected="a rule that fires exactly when its summary says",
                    actual=f"proven by `promtool test rules {rule.defect.proof.name}` (passes)",
                    query=f"promtool test rules {rule.defect.proof}")]
