"""The real promtool on exposition text and on the contracts' alerting rules (about 50 ms per call).

A machine without promtool FAILS these tests with the provisioning hint (never skips them): promtool is part
of the stack that ``obsconf provision`` sets up."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsconf.checks import promtool
from obsconf.checks.promtool import promtool_check_metrics, promtool_test_rules
from obsconf.contract import default_contract_paths, load_contract
from obsconf.errors import BackendMissing


def test_clean_exposition_has_no_findings() -> None:
    assert promtool_check_metrics("# HELP ok_total Requests.\n# TYPE ok_total counter\nok_total 1\n") == []


def test_lint_problems_become_findings() -> None:
    text = "# HELP foo_seconds x\n# TYPE foo_seconds counter\nfoo_seconds 1\n# TYPE bar gauge\nbar 1\n"
    findings = promtool_check_metrics(text)
    messages = "\n".join(f.message for f in findings)
    assert {f.check for f in findings} == {"metrics.promtool"}
    assert "bar no help text" in messages and '"_total" suffix' in messages


WITH_ALERTS = [p for p in default_contract_paths() if load_contract(p).alerts is not None]


@pytest.mark.parametrize("path", WITH_ALERTS, ids=lambda p: p.name)
def test_shipped_alert_rules_pass_their_unit_tests(path: Path) -> None:
    contract = load_contract(path)
    assert contract.alerts is not None and contract.alerts.tests_file is not None
    assert promtool_test_rules(contract.alerts.rules_file, contract.alerts.tests_file) == []


def test_seed_latency_buckets_can_never_fire_the_latency_alert(tmp_path: Path) -> None:
    """Why persist.yaml adds buckets above 1.0: with the seed's layout p95 never exceeds 1.0."""
    contract = load_contract(next(p for p in default_contract_paths() if p.name == "persist.yaml"))
    assert contract.alerts is not None
    tests = tmp_path / "seed_buckets.test.yml"
    tests.write_text(
        """
rule_files: [ignored.yml]
tests:
  - interval: 1m
    input_series:
      - {series: 'persist_s3_latency_seconds_bucket{operation="put_object",le="0.1"}', values: '0x20'}
      - {series: 'persist_s3_latency_seconds_bucket{operation="put_object",le="0.5"}', values: '0x20'}
      - {series: 'persist_s3_latency_seconds_bucket{operation="put_object",le="1.0"}', values: '0x20'}
      - {series: 'persist_s3_latency_seconds_bucket{operation="put_object",le="+Inf"}', values: '0+10x20'}
    alert_rule_test:
      - eval_time: 12m
        alertname: PersistHighLatency
        exp_alerts: [{exp_labels: {severity: warning, operation: put_object}}]
""",
        encoding="utf-8",
    )
    findings = promtool_test_rules(contract.alerts.rules_file, tests)
    assert len(findings) == 1
    assert "PersistHighLatency" in findings[0].message and findings[0].actual == "[]"


def test_broken_rules_file_is_reported(tmp_path: Path) -> None:
    rules = tmp_path / "bad.rules.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]) >\n", encoding="utf-8")
    tests = tmp_path / "t.yml"
    tests.write_text("rule_files: [bad.rules.yml]\ntests: []\n", encoding="utf-8")
    findings = promtool_test_rules(rules, tests)
    assert findings and findings[0].check == "alerts"


def test_missing_promtool_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSCONF_PROMTOOL", "/nonexistent/promtool")
    monkeypatch.setattr(promtool.shutil, "which", lambda _name: None)
    monkeypatch.setattr(promtool.os, "access", lambda _p, _m: False)
    with pytest.raises(BackendMissing, match="obsconf provision") as exc:
        promtool_check_metrics("")
    assert "apt-get install -y --no-install-recommends prometheus" in str(exc.value)
