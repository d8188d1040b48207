"""The real promtool on exposition text and on the contracts' alerting rules (about 50 ms per call).

Every test runs with both Prometheus releases obsconf provisions (3.16, the default, and the 2.42 fallback):
the verdicts must not depend on which one a session selects."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsconf.checks.promtool import promtool_check_metrics, promtool_path, promtool_test_rules
from obsconf.contract import default_contract_paths, load_contract
from obsconf.errors import BackendMissing, UsageError
from obsconf.settings import PROMETHEUS_VERSIONS, Settings


@pytest.fixture(params=PROMETHEUS_VERSIONS, ids=lambda v: f"prometheus{v}")
def release(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The session's Prometheus release, set the way a user sets it (the environment)."""
    monkeypatch.delenv("OBSCONF_PROMTOOL", raising=False)
    monkeypatch.setenv("OBSCONF_PROMETHEUS_VERSION", request.param)
    return Settings.from_env()


def test_clean_exposition_has_no_findings(release: Settings) -> None:
    assert promtool_check_metrics("# HELP ok_total Requests.\n# TYPE ok_total counter\nok_total 1\n") == []


def test_lint_problems_become_findings(release: Settings) -> None:
    text = "# HELP foo_seconds x\n# TYPE foo_seconds counter\nfoo_seconds 1\n# TYPE bar gauge\nbar 1\n"
    findings = promtool_check_metrics(text)
    messages = "\n".join(f.message for f in findings)
    assert {f.check for f in findings} == {"metrics.promtool"}
    assert "bar no help text" in messages and '"_total" suffix' in messages


WITH_ALERTS = [p for p in default_contract_paths() if load_contract(p).alerts is not None]


@pytest.mark.parametrize("path", WITH_ALERTS, ids=lambda p: p.name)
def test_shipped_alert_rules_pass_their_unit_tests(path: Path, release: Settings) -> None:
    contract = load_contract(path)
    assert contract.alerts is not None and contract.alerts.tests_file is not None
    assert promtool_test_rules(contract.alerts.rules_file, contract.alerts.tests_file) == []


def test_seed_latency_buckets_can_never_fire_the_latency_alert(tmp_path: Path, release: Settings) -> None:
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


def test_broken_rules_file_is_reported(tmp_path: Path, release: Settings) -> None:
    rules = tmp_path / "bad.rules.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]) >\n", encoding="utf-8")
    tests = tmp_path / "t.yml"
    tests.write_text("rule_files: [bad.rules.yml]\ntests: []\n", encoding="utf-8")
    findings = promtool_test_rules(rules, tests)
    assert findings and findings[0].check == "alerts"


def test_the_selected_release_is_the_promtool_that_runs(release: Settings) -> None:
    import subprocess

    out = subprocess.run([promtool_path(), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"version {release.prometheus_version}." in out, out


def test_missing_promtool_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBSCONF_PROMTOOL", raising=False)
    monkeypatch.setenv("OBSCONF_CACHE", str(tmp_path))  # an empty cache: 3.16 is not built there
    with pytest.raises(BackendMissing, match=r"promtool 3\.16 .*obsconf provision.*OBSCONF_PROMETHEUS_VERSION=2\.42"
                                             r".*OBSCONF_PROMTOOL"):
        promtool_check_metrics("")
    monkeypatch.setenv("OBSCONF_PROMTOOL", "/nonexistent/promtool")
    with pytest.raises(BackendMissing, match="OBSCONF_PROMTOOL=/nonexistent/promtool is not an executable"):
        promtool_check_metrics("")


def test_an_unknown_release_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBSCONF_PROMTOOL", raising=False)
    monkeypatch.setenv("OBSCONF_PROMETHEUS_VERSION", "3.0")
    with pytest.raises(UsageError, match="'3.0': expected one of 3.16, 2.42"):
        promtool_check_metrics("")
