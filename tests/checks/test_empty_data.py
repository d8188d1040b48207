"""No check passes on empty or unexercised data: each one, given nothing (or a contract item nothing
exercised), returns a finding that says what was not exercised and how to exercise it.

The table lists every public check of :mod:`obsconf.checks` (and the fault verdict, the budget and coverage
checks); a test keeps it complete, so a new check cannot skip this rule.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import obsconf.checks as checks
from obsconf.checks.alerts import check_alert_drive, check_alert_rules
from obsconf.checks.budgets import Unmeasurable, check_budget, check_budgets
from obsconf.checks.correlation import check_response_header
from obsconf.checks.dashboards import check_dashboard
from obsconf.checks.dependencies import check_dependency_traffic, check_fault_reached
from obsconf.checks.logs import check_log_context
from obsconf.checks.logstore import check_store_indexes
from obsconf.checks.promtool import promtool_check_metrics
from obsconf.checks.slos import check_slo_env, check_slo_expressions
from obsconf.checks.spans import check_span_resource
from obsconf.contract.model import (
    AlertDrive,
    AlertsSpec,
    AttributeSpec,
    BackoffSpec,
    ContextSpec,
    CorrelationSpec,
    DashboardSpec,
    DeliverySpec,
    DependencySpec,
    FaultScenarioSpec,
    FaultSpec,
    HealthSpec,
    LogEventSpec,
    LogsSpec,
    LogStoreSpec,
    MetricSpec,
    RedactionSpec,
    RequestStep,
    ResourceSpec,
    RetryLogSpec,
    RetrySpec,
    SamplingSpec,
    SloSpec,
    SpanSpec,
    SpansSpec,
    StatusRule,
)
from obsconf.faults.runner import FaultRun
from obsconf.faults.verdict import judge_fault

LOGS = LogsSpec(required_fields={"level": "string"}, events=(LogEventSpec("started", "started"),))
SPANS = SpansSpec(operations=(SpanSpec("op"),), status_rules=(StatusRule(("http.status_code",), 500),))
METRIC = MetricSpec("x_total", "counter", increases=True)
RETRY = RetrySpec("put", 4, BackoffSpec(100), attempt_span="attempt", log=RetryLogSpec("Retrying"))
FAULT = FaultScenarioSpec("f", FaultSpec("s3", "down"))
DRIVE = AlertDrive("d", fires=("A",))

#: check name -> a call with empty (or unexercised) data
EMPTY: dict[str, Callable[[], list[Any]]] = {
    "check_expected_status": lambda: checks.check_expected_status([], []),
    "check_health": lambda: checks.check_health([], []),
    "check_health(not called)": lambda: checks.check_health([HealthSpec("/health")], []),
    "check_log_schema": lambda: checks.check_log_schema(LOGS, []),
    "check_log_redaction": lambda: checks.check_log_redaction(RedactionSpec(values=("s",)), []),
    "check_log_trace_ids": lambda: checks.check_log_trace_ids(CorrelationSpec(), []),
    "check_log_events": lambda: checks.check_log_events(LOGS, []),
    "check_log_events(no events)": lambda: checks.check_log_events(LogsSpec(), []),
    "check_log_store": lambda: checks.check_log_store(LogStoreSpec("pocketbase", "daemon_logs"), []),
    "check_store_indexes": lambda: check_store_indexes(LogStoreSpec("pocketbase", "c", indexes=("CREATE INDEX i ON c (x)",)), None),
    "check_log_delivery": lambda: checks.check_log_delivery(DeliverySpec(), {"loki": []}, 0),
    "check_log_context": lambda: check_log_context(ContextSpec(("request_id",)), [], []),
    "check_logs": lambda: checks.check_logs(LOGS, []),
    "check_correlation": lambda: checks.check_correlation(CorrelationSpec(), [], [], []),
    "check_response_header": lambda: check_response_header("traceresponse", []),
    "check_spans": lambda: checks.check_spans(SPANS, []),
    "check_span_presence": lambda: checks.check_span_presence(SPANS, []),
    "check_span_parents": lambda: checks.check_span_parents(SPANS, []),
    "check_span_kinds": lambda: checks.check_span_kinds(SpansSpec(operations=(SpanSpec("op", kind="server"),)), []),
    "check_span_attributes": lambda: checks.check_span_attributes(
        SpansSpec(operations=(SpanSpec("op", attributes=(AttributeSpec("k", "string"),)),)), []),
    "check_span_status": lambda: checks.check_span_status(SPANS, []),
    "check_span_status(present)": lambda: checks.check_span_status(
        SpansSpec(status_rules=(StatusRule(("error.type",), None, present=True, span_kind=None),)), []),
    "check_span_redaction": lambda: checks.check_span_redaction(RedactionSpec(values=("s",)), []),
    "check_span_resource": lambda: check_span_resource(ResourceSpec((AttributeSpec("service.version", "string"),)), []),
    "check_sampling": lambda: checks.check_sampling(SamplingSpec(run_rate=0.1), [], []),
    "check_span_semconv": lambda: checks.check_span_semconv([]),
    "check_metric": lambda: checks.check_metric(METRIC, []),
    "check_metrics": lambda: checks.check_metrics([METRIC], []),
    "check_series": lambda: checks.check_series(METRIC, []),
    "check_metric_semconv": lambda: checks.check_metric_semconv([]),
    "promtool_check_metrics": lambda: promtool_check_metrics(""),
    "check_dashboard": lambda: check_dashboard(DashboardSpec("rate", "rate(x_total[5m])"), [], job="svc"),
    "check_retries": lambda: checks.check_retries(RETRY),
    "check_alert_rules": lambda: check_alert_rules(AlertsSpec(Path("rules.yml")), ""),
    "check_alert_drive": lambda: check_alert_drive(DRIVE, [], {}, {}, job="svc"),
    "check_slos": lambda: checks.check_slos([], []),
    "check_slos(no report)": lambda: checks.check_slos([SloSpec("a", 0.9)], {}),
    "check_slo_env": lambda: check_slo_env([], {}),
    "check_slo_expressions": lambda: check_slo_expressions([SloSpec("a", 0.9, expression="x")], {}),
    "check_budgets": lambda: check_budgets({}, {}),
    "check_budget(unmeasurable)": lambda: check_budget("log_line_ms", 1, Unmeasurable("not loadable")),
    "check_budget(not measured)": lambda: check_budget("span_ms", 0.1, None),
    "check_dependency_traffic": lambda: check_dependency_traffic([], {}, started=True),
    "check_dependency_traffic(no traffic)": lambda: check_dependency_traffic(
        [DependencySpec("s3", "AWS_ENDPOINT_URL_S3", "s3")], {}, started=True),
    "check_fault_reached": lambda: check_fault_reached(DependencySpec("s3", "X", "s3"), 0, where="f"),
    "judge_fault": lambda: judge_fault(FAULT, FaultRun("c", "f", "s3", "down", 4.0)),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_check_fails_on_empty_data(name: str) -> None:
    findings = EMPTY[name]()
    assert findings, f"{name} passed on empty data"
    for f in findings:
        assert len(f.message) > 30, f"{name}: the finding must say what was not exercised: {f.message!r}"


def test_every_public_check_is_in_the_table() -> None:
    public = {n for n, obj in inspect.getmembers(checks) if n.startswith("check_") and callable(obj)}
    covered = {name.split("(")[0] for name in EMPTY}
    assert public <= covered, f"checks without an empty-data test: {sorted(public - covered)}"


def test_findings_say_how_to_exercise() -> None:
    """A few representative findings name the fix, not only the absence."""
    (delivery,) = checks.check_log_delivery(DeliverySpec(), {"loki": []}, 0)
    assert "add an 'emit' step" in delivery.message
    sampling = checks.check_sampling(SamplingSpec(run_rate=0.1, always_sample_errors=True),
                                     [], [])
    assert "spans.sampling.workload" in sampling[0].message
    (rules,) = check_alert_rules(AlertsSpec(Path("rules.yml")), "")
    assert "alerts.rules" in rules.message
    (step,) = checks.check_expected_status([RequestStep("GET", "/")], [])
    assert "do not match the workload steps" in step.message
