"""Pure checks: ``check_x(contract_part, collected_data, ...) -> list[Finding]``, no network.

Modules: logs, redaction (secrets in logs and spans), logstore, delivery, spans, sampling, metrics, retries,
health, alerts, slos, correlation, http (workload statuses), semconv (OpenTelemetry semantic conventions);
``promtool`` runs the local promtool binary and returns findings too.
"""

from obsconf.checks.alerts import check_alert_rules, findings_from_promtool
from obsconf.checks.correlation import check_correlation
from obsconf.checks.delivery import check_log_delivery
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
from obsconf.checks.logs import check_log_events, check_log_schema, check_log_trace_ids, check_logs
from obsconf.checks.logstore import check_log_store
from obsconf.checks.metrics import check_metric, check_metrics, check_series
from obsconf.checks.redaction import check_log_redaction, check_span_redaction
from obsconf.checks.retries import check_retries
from obsconf.checks.sampling import check_sampling
from obsconf.checks.semconv import check_metric_semconv, check_span_semconv
from obsconf.checks.slos import check_slos
from obsconf.checks.spans import (
    check_span_attributes,
    check_span_kinds,
    check_span_parents,
    check_span_presence,
    check_span_status,
    check_spans,
)

__all__ = [
    "check_alert_rules",
    "check_correlation",
    "check_expected_status",
    "check_health",
    "check_log_delivery",
    "check_log_events",
    "check_log_redaction",
    "check_log_schema",
    "check_log_store",
    "check_log_trace_ids",
    "check_logs",
    "check_metric",
    "check_metric_semconv",
    "check_metrics",
    "check_retries",
    "check_sampling",
    "check_series",
    "check_slos",
    "check_span_attributes",
    "check_span_kinds",
    "check_span_parents",
    "check_span_presence",
    "check_span_redaction",
    "check_span_semconv",
    "check_span_status",
    "check_spans",
    "findings_from_promtool",
]
