"""Health, SLO, alert-rule and workload-status checks on good and non-conformant data."""

from __future__ import annotations

from pathlib import Path

from obsconf.checks.alerts import check_alert_rules, findings_from_promtool
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
from obsconf.checks.slos import check_slos
from obsconf.contract.model import AlertRuleSpec, AlertsSpec, HealthSpec, RequestStep, SloSpec
from obsconf.model import HttpExchange

HEALTH = HealthSpec(
    path="/health",
    schema={
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["healthy", "degraded", "unhealthy"]},
            "checks": {"type": "array", "items": {"type": "object", "required": ["name", "duration_ms"],
                                                  "properties": {"duration_ms": {"type": "number"}}}},
        },
    },
    loc="prethrift.yaml:95 health[0]",
)


def x(path: str, status: int = 200, body: object = None, method: str = "GET") -> HttpExchange:
    return HttpExchange(method, f"http://127.0.0.1:8000{path}", status, {"content-type": "application/json"}, body, 1.0)


def test_health_conformant() -> None:
    body = {"status": "healthy", "checks": [{"name": "database", "duration_ms": 5.2}]}
    assert check_health([HEALTH], [x("/api/ok"), x("/health", body=body)]) == []


def test_health_wrong_schema_names_the_path_in_the_body() -> None:
    body = {"status": "healthy", "checks": [{"name": "database", "duration_ms": "5ms"}]}
    findings = check_health([HEALTH], [x("/health", body=body)])
    assert len(findings) == 1
    f = findings[0]
    assert "body.checks[0].duration_ms" in f.message and "'5ms' is not of type 'number'" in f.message
    assert f.query == "GET http://127.0.0.1:8000/health"


def test_health_wrong_status_and_text_body() -> None:
    findings = check_health([HEALTH], [x("/health", status=503, body="Service Unavailable")])
    msgs = [f.message for f in findings]
    assert any("answered 503" in m for m in msgs) and any("did not answer JSON" in m for m in msgs)


def test_health_never_called_is_a_finding() -> None:
    findings = check_health([HEALTH], [x("/api/ok")])
    assert findings and "was never called" in findings[0].message


SLOS = (
    SloSpec("api_availability", 0.999, loc="aurum.yaml:150 slos[0]"),
    SloSpec("api_latency_p95", 500, comparison="<=", unit="ms"),
)


def test_slos_match_in_any_reasonable_shape() -> None:
    listed = [{"name": "api_availability", "target": 0.999, "unit": "ratio"},
              {"name": "api_latency_p95", "target": 500, "unit": "ms"}]
    assert check_slos(SLOS, listed) == []
    assert check_slos(SLOS, {"slos": listed}) == []
    assert check_slos(SLOS, {"api_availability": {"objective": 0.999, "unit": "ratio"},
                             "api_latency_p95": {"target": 500.0, "unit": "ms"}}) == []


def test_slo_wrong_target_unit_and_missing() -> None:
    findings = check_slos(SLOS, [{"name": "api_availability", "target": 0.99, "unit": "ratio"}])
    assert findings[0].expected == 0.999 and findings[0].actual == 0.99
    assert "not reported" in findings[1].message
    assert "no SLO definitions" in check_slos(SLOS, {})[0].message
    (unit,) = check_slos(SLOS[1:], [{"name": "api_latency_p95", "target": 500, "unit": "seconds"}])
    assert "does not report its target in 'ms'" in unit.message
    (none,) = check_slos(SLOS[1:], [{"name": "api_latency_p95", "target": 500}])
    assert "names no unit" in none.message


RULES = """
groups:
  - name: persist
    rules:
      - alert: PersistHighErrorRate
        expr: rate(persist_s3_errors_total[5m]) / rate(persist_s3_requests_total[5m]) > 0.05
        for: 2m
        labels: {severity: warning}
"""


def test_alert_rules_present_and_as_in_seed(tmp_path: Path) -> None:
    spec = AlertsSpec(rules_file=tmp_path / "r.yml", rules=(
        AlertRuleSpec("PersistHighErrorRate", expr="rate(persist_s3_errors_total[5m])/rate(persist_s3_requests_total[5m]) > 0.05",
                      for_="2m", severity="warning"),))
    assert check_alert_rules(spec, RULES) == []
    missing = AlertsSpec(rules_file=tmp_path / "r.yml", rules=(AlertRuleSpec("PersistHighLatency"),))
    f = check_alert_rules(missing, RULES)[0]
    assert "'PersistHighLatency' is not in" in f.message and f.actual == ["PersistHighErrorRate"]
    changed = AlertsSpec(rules_file=tmp_path / "r.yml", rules=(AlertRuleSpec("PersistHighErrorRate", for_="5m", severity="critical"),))
    assert len(check_alert_rules(changed, RULES)) == 2


PROMTOOL_FAILED = """Unit Testing:  t.yml
  FAILED:
    alertname: PersistHighLatency, time: 12m,
        exp:[
            0:
              Labels:{alertname="PersistHighLatency", operation="put_object", severity="warning"}
              Annotations:{}
            ],
        got:[]
"""


def test_promtool_output_to_findings() -> None:
    assert findings_from_promtool("Unit Testing: t.yml\n  SUCCESS\n", 0, command="promtool test rules t.yml") == []
    findings = findings_from_promtool(PROMTOOL_FAILED, 1, command="promtool test rules t.yml", where="persist.yaml alerts")
    assert len(findings) == 1
    f = findings[0]
    assert "alertname: PersistHighLatency, time: 12m" in f.message
    assert 'operation="put_object"' in f.expected and f.actual == "[]"
    assert f.query == "promtool test rules t.yml"
    other = findings_from_promtool("  FAILED:\nbad.yml: yaml: line 3: did not find expected key\n", 1, command="c")
    assert other and "did not find expected key" in (other[0].actual or "")
    silent = findings_from_promtool("", 2, command="c")
    assert "exited 2" in silent[0].message


def test_expected_status_per_step() -> None:
    steps = [RequestStep("GET", "/api/ok", repeat=2, loc="persist.yaml:40 workload[0]"),
             RequestStep("GET", "/api/fail?status=500", expect_status=(500,))]
    good = [x("/api/ok"), x("/api/ok"), x("/api/fail?status=500", 500)]
    assert check_expected_status(steps, good) == []
    bad = [x("/api/ok"), x("/api/ok", 404, {"detail": "Not Found"}), x("/api/fail?status=500", 500)]
    f = check_expected_status(steps, bad)[0]
    assert f.where == "persist.yaml:40 workload[0]" and f.actual == 404 and "Not Found" in f.message
    assert check_expected_status(steps, good[:1])[0].message.startswith("the exchanges do not match")


# --- rules that Prometheus 3's le/quantile normalisation silently breaks ---------------------------------

BOUND_RULES = """
groups:
  - name: g
    rules:
      - alert: FastRequestsDropped
        expr: sum(rate(lat_seconds_bucket{le="1"}[5m])) / sum(rate(lat_seconds_count[5m])) < 0.9
      - record: job:median:latency
        expr: lat_summary{quantile!="0.50"}
      - alert: Portable
        expr: lat_seconds_bucket{le=~"1|1.0"} > 0 and lat_seconds_bucket{le="0.5"} > 0 and x{le="+Inf"} > 0
      - alert: Canonical
        expr: lat_seconds_bucket{le="1.0"} > 0 and lat_summary{quantile="0.99"} > 1 and y{le="1e+06"} > 0
"""


def test_bound_matchers_that_prometheus_3_never_matches_are_flagged() -> None:
    from obsconf.checks.alerts import check_bound_matchers

    findings = check_bound_matchers(BOUND_RULES, where="svc.rules.yml")
    assert [(f.where, f.actual, f.expected) for f in findings] == [
        ("svc.rules.yml rule FastRequestsDropped", 'le="1"', 'le="1.0"'),
        ("svc.rules.yml rule job:median:latency", 'quantile!="0.50"', 'quantile!="0.5"'),
    ]
    assert 'le=~"1|1.0" for both' in findings[0].message and "never matches" in findings[0].message
    assert check_bound_matchers("groups: [") == []  # a broken file is check_alert_rules' finding, not this one


def test_alert_rule_check_includes_the_bound_matchers(tmp_path: Path) -> None:
    rules = tmp_path / "svc.rules.yml"
    rules.write_text(BOUND_RULES)
    spec = AlertsSpec(rules_file=rules, rules=(AlertRuleSpec("Portable"),))
    assert [f.actual for f in check_alert_rules(spec, BOUND_RULES)] == ['le="1"', 'quantile!="0.50"']
