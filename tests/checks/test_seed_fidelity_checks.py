"""The seed-fidelity checks, each on conformant and non-conformant data: span kinds and resources, failed
operations, sampling at the seed's rate (exact binomial test), log context and pinned event fields, store
indexes, bucket bounds, retry lines and error counters, alert drives, SLO env targets and PromQL, dashboards
and budgets."""

from __future__ import annotations

from obsconf.checks.alerts import check_alert_drive, most_active
from obsconf.checks.binomial import ALPHA, requests_needed, two_sided_p
from obsconf.checks.budgets import Measurement, Unmeasurable, check_budget
from obsconf.checks.dashboards import check_dashboard
from obsconf.checks.logs import check_log_context, check_log_events
from obsconf.checks.logstore import check_store_indexes
from obsconf.checks.metrics import check_metric
from obsconf.checks.retries import check_retries
from obsconf.checks.sampling import check_sampling
from obsconf.checks.slos import check_slo_env, check_slo_expressions, env_targets
from obsconf.checks.spans import check_span_kinds, check_span_resource, check_span_status
from obsconf.contract.model import (
    AlertDrive,
    AttributeSpec,
    BackoffSpec,
    ContextSpec,
    DashboardSpec,
    LogEventSpec,
    LogsSpec,
    LogStoreSpec,
    MetricSpec,
    ResourceSpec,
    RetryLogSpec,
    RetrySpec,
    SamplingSpec,
    SloSpec,
    SpanSpec,
    SpansSpec,
    StatusRule,
)
from obsconf.model import HttpExchange, LogRecord, MetricFamily, MetricSample, Series, Span

T = "a" * 32


def span(name: str, *, kind: str = "internal", status: str = "unset", trace: str = T, sid: str = "1",
         duration_us: int = 1000, resource: dict | None = None, **attrs: object) -> Span:
    return Span(trace, sid.ljust(16, "0"), None, name, "svc", 0, duration_us, dict(attrs), status, kind,
                resource=resource or {})


def line(**fields: object) -> LogRecord:
    import json

    return LogRecord(0, json.dumps(fields), dict(fields))


# ---- spans ---------------------------------------------------------------------------------------------


def test_span_kind_is_enforced() -> None:
    spec = SpansSpec(operations=(SpanSpec("POST /api/chat", kind="server"),))
    assert check_span_kinds(spec, [span("POST /api/chat", kind="server")]) == []
    (f,) = check_span_kinds(spec, [span("POST /api/chat", kind="internal")])
    assert f.check == "spans.kind" and "SpanKind.SERVER" in f.message and f.actual == "internal"


def test_resource_attributes_on_every_span() -> None:
    spec = ResourceSpec((AttributeSpec("service.version", "string", equals="1.0.0"),))
    assert check_span_resource(spec, [span("a", resource={"service.version": "1.0.0"})]) == []
    (f,) = check_span_resource(spec, [span("a", resource={"service.version": "0.1"}), span("b")])
    assert "2 of 2 spans" in f.message and "OTEL_RESOURCE_ATTRIBUTES" in f.message


def test_failed_operations_have_error_status() -> None:
    rule = SpansSpec(status_rules=(StatusRule(("error.type",), None, present=True, span_kind=None),))
    good = [span("get_object_request", status="error", **{"error.type": "NoSuchKey"})]
    assert check_span_status(rule, good) == []
    (f,) = check_span_status(rule, [span("get_object_request", **{"error.type": "NoSuchKey"})])
    assert "do not have status 'error'" in f.message
    (none,) = check_span_status(rule, [span("ok")])
    assert "no failed operation was exercised" in none.message


# ---- sampling --------------------------------------------------------------------------------------------


def test_binomial_test_matches_the_reference_values() -> None:
    # R: binom.test(3, 100, 0.01)$p.value = 0.0794; binom.test(0, 100, 0.1)$p.value = 2.66e-05
    assert abs(two_sided_p(3, 100, 0.01) - 0.0794) < 1e-3
    assert two_sided_p(0, 100, 0.1) < 1e-4
    assert two_sided_p(10, 100, 0.1) > 0.99
    assert requests_needed(0.01) >= 700 and requests_needed(0.1) >= 70 and requests_needed(1.0) == 20
    for p in (0.01, 0.1, 0.5):
        n = requests_needed(p)
        assert two_sided_p(0, n, p) < ALPHA and two_sided_p(n, n, p) < ALPHA


def _window_run(n: int, kept: int, *, errors: int = 0, kept_errors: int = 0) -> tuple[list[HttpExchange], list[Span]]:
    base = "http://127.0.0.1:9/api/ok"
    exchanges = [HttpExchange("GET", base, 200, {}, None, 2.0) for _ in range(n)]
    exchanges += [HttpExchange("GET", "http://127.0.0.1:9/api/fail", 500, {}, None, 2.0) for _ in range(errors)]
    spans = [span("GET /api/ok", kind="server", sid=str(i), **{"url.path": "/api/ok", "http.response.status_code": 200})
             for i in range(kept)]
    spans += [span("GET /api/fail", kind="server", status="error", sid=f"e{i}",
                   **{"url.path": "/api/fail", "http.response.status_code": 500}) for i in range(kept_errors)]
    return exchanges, spans


def test_sampling_at_the_seed_rate_by_count_in_the_window() -> None:
    spec = SamplingSpec(env="TRACE_SAMPLE_RATE", seed_default=0.1, always_sample_errors=True)
    exchanges, spans = _window_run(100, 11, errors=3, kept_errors=3)
    assert check_sampling(spec, exchanges, spans, rate=0.1) == []
    # a sampler that keeps everything, or nothing, fails the exact test
    for kept in (100, 0):
        exchanges, spans = _window_run(100, kept, errors=3, kept_errors=3)
        (f,) = check_sampling(spec, exchanges, spans, rate=0.1)
        assert "exact two-sided binomial test" in f.message and "TRACE_SAMPLE_RATE=0.1" in f.message
    # an error that was not kept
    exchanges, spans = _window_run(100, 10, errors=3, kept_errors=2)
    (f,) = check_sampling(spec, exchanges, spans, rate=0.1)
    assert "only 2 of 3 error responses were traced" in f.message


def test_slow_requests_and_critical_paths_are_always_kept() -> None:
    spec = SamplingSpec(seed_default=0.01, always_sample_slow_ms=250, always_sample_paths=("/api/agents",))
    exchanges = [HttpExchange("GET", "http://127.0.0.1:9/api/ok", 200, {}, None, 2.0) for _ in range(800)]
    exchanges += [HttpExchange("GET", "http://127.0.0.1:9/api/slow", 200, {}, None, 400.0)]
    exchanges += [HttpExchange("GET", "http://127.0.0.1:9/api/agents", 200, {}, None, 2.0) for _ in range(2)]
    ok = [span("GET /api/ok", kind="server", sid=str(i), **{"url.path": "/api/ok"}) for i in range(8)]
    slow = [span("GET /api/slow", kind="server", sid="s", duration_us=400_000, **{"url.path": "/api/slow"})]
    agents = [span("GET /api/agents", kind="server", sid=f"a{i}", **{"url.path": "/api/agents"}) for i in range(2)]
    assert check_sampling(spec, exchanges, ok + slow + agents, rate=0.01) == []
    findings = check_sampling(spec, exchanges, ok + agents[:1], rate=0.01)
    messages = " ".join(f.message for f in findings)
    assert "requests slower than 250 ms were traced" in messages and "requests to /api/agents" in messages


# ---- logs ------------------------------------------------------------------------------------------------


def test_context_fields_on_every_line_of_a_request() -> None:
    spec = ContextSpec(("request_id", "tenant_id"))
    lines = [line(trace_id=T, request_id="r", tenant_id="t", message="a"),
             line(trace_id=T, request_id="r", tenant_id="t", message="b")]
    assert check_log_context(spec, lines, [T]) == []
    lines.append(line(trace_id=T, request_id="r", tenant_id=None, message="c"))
    (f,) = check_log_context(spec, lines, [T])
    assert "1 of 3 log lines of 1 request(s) lack 'tenant_id'" in f.message


def test_event_fields_can_be_pinned_and_lines_selected() -> None:
    event = LogEventSpec("s3 done", "S3 operation completed", fields={"target": "string"},
                         equals={"target": "persist_core::storage::s3"})
    spec = LogsSpec(events=(event,))
    assert check_log_events(spec, [line(message="S3 operation completed", target="persist_core::storage::s3")]) == []
    (f,) = check_log_events(spec, [line(message="S3 operation completed", target="persist::s3")])
    assert "= 'persist_core::storage::s3'" in f.message
    stack = LogEventSpec("stack", "request completed", fields={"exception": "string"},
                         patterns={"exception": "Traceback"}, match={"path": "^/api/error$"})
    spec = LogsSpec(events=(stack,))
    good = [line(message="request completed", path="/api/fail"),
            line(message="request completed", path="/api/error", exception="Traceback (most recent call last):")]
    assert check_log_events(spec, good) == []
    (f,) = check_log_events(spec, [line(message="request completed", path="/api/error", exception="boom")])
    assert "~ /Traceback/" in f.message


def test_store_indexes() -> None:
    store = LogStoreSpec("pocketbase", "daemon_logs", indexes=("CREATE INDEX idx_l ON daemon_logs (level)",))
    assert check_store_indexes(store, ["CREATE INDEX `idx_l` ON `daemon_logs` (`level`)"]) == []
    (f,) = check_store_indexes(store, [])
    assert "lacks 1 of the 1 indexes" in f.message


# ---- metrics and retries ---------------------------------------------------------------------------------


def _hist(*les: str) -> list[MetricFamily]:
    samples = tuple(MetricSample("lat_bucket", {"le": le, "op": "put"}, 1.0) for le in les)
    return [MetricFamily("lat", "histogram", "latency", samples + (MetricSample("lat_count", {"op": "put"}, 1.0),))]


def test_buckets_include_allows_more_bounds() -> None:
    spec = MetricSpec("lat", "histogram", buckets_include=(0.1, 0.5, 1.0, float("inf")))
    assert check_metric(spec, _hist("0.05", "0.1", "0.5", "1.0", "2.5", "+Inf")) == []
    (f,) = check_metric(spec, _hist("0.05", "0.1", "1.0", "+Inf"))
    assert f.check == "metrics.buckets" and "lacks the bucket bounds ['0.5']" in f.message


def test_retry_lines_carry_their_fields_and_failures_are_counted() -> None:
    spec = RetrySpec("put_object", 4, BackoffSpec(100, slack_ms=1000), log=RetryLogSpec(
        "Retrying", fields=(AttributeSpec("bucket", "string"), AttributeSpec("operation", "string", equals="put_object"))),
        count_attribute=None, errors_metric="errors_total")
    lines = [LogRecord(i * 100_000_000, "{}", {"message": "Retrying", "level": "WARN", "retry_attempt": i + 1,
                                                "operation": "put_object", "trace_id": T}) for i in range(3)]
    before = [MetricFamily("errors", "counter", "", (MetricSample("errors_total", {}, 1.0),))]
    after = [MetricFamily("errors", "counter", "", (MetricSample("errors_total", {}, 1.0),))]
    messages = " ".join(f.message for f in check_retries(spec, logs=lines, before=before, after=after))
    assert "lack field 'bucket'" in messages and "did not rise" in messages


# ---- alerts, SLOs, dashboards, budgets -------------------------------------------------------------------


def test_alert_drive_fires_and_others_stay_quiet() -> None:
    drive = AlertDrive("s3-errors", fires=("HighErrorRate",))
    rules = ["HighErrorRate", "HighLatency", "Down"]
    before = {"HighErrorRate": "inactive", "HighLatency": "inactive", "Down": "pending"}
    assert check_alert_drive(drive, rules, before, {"HighErrorRate": "pending", "Down": "firing"}, job="j") == []
    findings = check_alert_drive(drive, rules, before, {"HighErrorRate": "inactive", "HighLatency": "firing"}, job="j")
    assert any("did not fire for job 'j'" in f.message for f in findings)
    assert any("'HighLatency' became firing" in f.message for f in findings)
    assert most_active(["inactive", "firing", "pending"]) == "firing"


def test_slo_env_targets_and_expressions() -> None:
    slos = [SloSpec("availability", 0.999, env="AVAIL"), SloSpec("latency", 500, unit="ms", env="LAT",
                                                                 expression="x")]
    assert env_targets(slos) == {"AVAIL": "0.4995", "LAT": "250"}
    assert check_slo_env(slos, [{"name": "availability", "target": 0.4995}, {"name": "latency", "target": 250}]) == []
    (f,) = check_slo_env(slos, [{"name": "availability", "target": 0.999}, {"name": "latency", "target": 250}])
    assert "does not read AVAIL" in f.message
    assert check_slo_expressions(slos, {"latency": [Series({}, ((0.0, 12.0),))]}) == []
    (f,) = check_slo_expressions(slos, {"latency": [Series({}, ((0.0, float("nan")),))]})
    assert f.actual == "NaN"


def test_dashboard_needs_series_of_the_service() -> None:
    spec = DashboardSpec("rate", "rate(x_total[5m])")
    assert check_dashboard(spec, [Series({"job": "svc"}, ((0.0, 1.5),))], job="svc") == []
    (f,) = check_dashboard(spec, [Series({"job": "other"}, ((0.0, 1.5),))], job="svc")
    assert "(only of other)" in f.message


def test_budget_over_limit_or_unmeasurable_never_passes() -> None:
    assert check_budget("log_line_ms", 1.0, Measurement(0.02, 0.01, 0.03, "micro")) == []
    (over,) = check_budget("span_ms", 0.1, Measurement(0.5, 0.4, 0.6, "micro"))
    assert "over the seed's budget of 0.1 ms" in over.message
    (why,) = check_budget("log_line_ms", 1.0, Unmeasurable("obsconf can load only the reference"))
    assert "cannot be measured for this target" in why.message


def test_ab_report_adapter_pairs_rounds_and_names_the_profile() -> None:
    from obsconf.live.budgets import ab_figures

    rounds = [{"pair": p, "variant": v, "cpu_us_per_request": cpu, "rss_bytes": rss}
              for p in range(4) for v, cpu, rss in (("A", 300.0 + p, 80 * 2**20), ("B", 200.0, 70 * 2**20))]
    doc = {"config": {"profile": "prethrift"}, "rounds": rounds, "created_utc": "now"}
    figures = ab_figures(doc, "prethrift")
    assert isinstance(figures, dict)
    assert 0.1 <= figures["request_overhead_ms"].value <= 0.104
    assert 50 <= figures["cpu_overhead_percent"].value <= 52
    assert figures["memory_baseline_mb"].value == 10
    assert "not 'persist'" in str(ab_figures(doc, "persist"))
    assert "no round pair" in str(ab_figures({"config": {"profile": "x"}, "rounds": []}, "x"))


