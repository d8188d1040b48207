"""Each break of the broken target does what it says, in process (no sinks, no backends)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from obsconf.reference.app import create_app
from obsconf.reference.config import ReferenceConfig
from tests.broken_target.breaks import BREAKS, apply_breaks, parse_breaks
from tests.broken_target.serve import main

CANARY = "sk-obsconf-canary-5f2a9c7e1b"


@dataclass
class Served:
    client: TestClient
    prof: Any
    spans: InMemorySpanExporter
    lines: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, line: bytes, record: dict[str, Any], event: Any) -> None:
        self.lines.append(record)

    def finished(self) -> dict[str, Any]:
        return {s.name: s for s in self.spans.get_finished_spans()}


@pytest.fixture
def serve() -> Iterator[Any]:
    clients: list[TestClient] = []

    def start(profile: str, breaks: Sequence[str]) -> Served:
        app = create_app(profile, ReferenceConfig.for_tests(profile))
        apply_breaks(app, breaks)
        prof = app.state.profile
        memory = InMemorySpanExporter()
        prof.tel.provider.add_span_processor(SimpleSpanProcessor(memory))
        served = Served(TestClient(app), prof, memory)
        prof.tel.logger.add_sink(served)
        served.client.__enter__()
        clients.append(served.client)
        return served

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _save(s: Served) -> None:
    resp = s.client.post("/snapshots/k1?agent_id=a&session_id=s", json={"state": {"api_key": CANARY}})
    assert resp.status_code == 201, resp.text


def test_parse_breaks() -> None:
    assert parse_breaks("none") == [] and parse_breaks("") == []
    assert parse_breaks("span-parent, log-secret") == ["span-parent", "log-secret"]
    with pytest.raises(ValueError, match="unknown break kind"):
        parse_breaks("span-parent,typo")


def test_a_break_the_profile_lacks_is_refused() -> None:
    app = create_app("syncd", ReferenceConfig.for_tests("syncd"))
    with pytest.raises(ValueError, match="not available for profile 'syncd'"):
        apply_breaks(app, ["health-schema"])


def test_cli_refuses_a_break_for_another_profile(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--profile", "persist", "--port", "0", "--break", "health-schema"])
    assert exc.value.code == 2
    assert "not available for profile persist" in capsys.readouterr().err


def test_every_break_names_its_profiles() -> None:
    assert set(BREAKS) == {"span-parent", "metric-label", "histogram-buckets", "log-secret", "span-secret",
                           "log-no-trace-id", "retry-no-backoff", "health-schema", "op-error-status", "log-target",
                           "latency-buckets", "latency-blind", "sampling-ignores-rate", "log-context", "no-stack-trace",
                           "span-kind", "service-version", "readiness-ignores-deps", "health-envelope",
                           "dotted-attributes", "slo-env-ignored", "slo-unit", "runs-uncounted", "absolute-paths",
                           "labelled-files", "errors-uncounted", "no-log-indexes", "log-burn", "metrics-burn",
                           "counter-skips-errors", "span-queue-small", "access-log-sampled", "auth-forgotten"}
    assert all(b.patches and b.what for b in BREAKS.values())


def test_unbroken_persist_keeps_the_reference_tree(serve: Any) -> None:
    s = serve("persist", [])
    _save(s)
    spans = s.finished()
    assert spans["local_file_write"].parent.span_id == spans["save_snapshot"].context.span_id


def test_span_parent_skips_save_snapshot(serve: Any) -> None:
    s = serve("persist", ["span-parent"])
    _save(s)
    spans = s.finished()
    server = spans["POST /snapshots/{key}"]
    assert spans["local_file_write"].parent.span_id == server.context.span_id
    assert spans["save_snapshot"].parent.span_id == server.context.span_id
    assert spans["put_object_request"].parent.span_id == spans["local_file_write"].context.span_id


def test_metric_label_drops_operation(serve: Any) -> None:
    s = serve("persist", ["metric-label"])
    assert s.client.get("/snapshots/missing").status_code == 404
    text = s.client.get("/metrics").text
    assert "persist_s3_errors_total 1.0" in text
    assert 'persist_s3_requests_total{operation="get_object"}' in text  # the others keep their label


def test_log_and_span_secret(serve: Any) -> None:
    s = serve("persist", ["log-secret", "span-secret"])
    _save(s)
    body_lines = [r for r in s.lines if r.get("message") == "Snapshot request received"]
    assert len(body_lines) == 1 and CANARY in body_lines[0]["body"] and len(body_lines[0]["trace_id"]) == 32
    assert CANARY in s.finished()["POST /snapshots/{key}"].attributes["snapshot.request_body"]


def test_log_without_trace_id(serve: Any) -> None:
    s = serve("persist", ["log-no-trace-id"])
    _save(s)
    saved = [r for r in s.lines if r.get("message") == "Snapshot saved"]
    others = [r for r in s.lines if r.get("message") == "request completed"]
    assert saved and all("trace_id" not in r and "span_id" not in r for r in saved)
    assert others and all(len(r["trace_id"]) == 32 for r in others)


def test_retry_without_backoff(serve: Any) -> None:
    s = serve("persist", ["retry-no-backoff"])
    assert s.prof.backoff.schedule() == [0.0, 0.0, 0.0]


def test_histogram_buckets(serve: Any) -> None:
    s = serve("assistant", ["histogram-buckets"])
    assert s.client.get("/api/agents").status_code == 200
    text = s.client.get("/metrics").text
    assert 'assistant_request_duration_seconds_bucket{endpoint="/api/agents",le="0.05",method="GET"}' in text
    assert 'le="0.001"' not in text.split("assistant_request_duration_seconds")[1]


def test_health_schema(serve: Any) -> None:
    s = serve("prethrift", ["health-schema"])
    assert s.client.get("/health/ready").json()["status"] is True
    assert s.client.get("/health/live").json()["status"] == "healthy"


# ---- the breaks for the seeds' statements -------------------------------------------------------------------------------------


def test_op_error_status_and_log_target(serve: Any) -> None:
    s = serve("persist", ["op-error-status", "log-target"])
    assert s.client.get("/snapshots/missing").status_code == 404
    attempt = s.finished()["get_object_request"]
    assert attempt.attributes["error.type"] == "NoSuchKey" and attempt.status.status_code.name == "UNSET"
    assert s.prof.s3_log.target == "persist::s3"  # (in process the store is a local directory, not S3)


def test_latency_buckets_and_blind(serve: Any) -> None:
    s = serve("persist", ["latency-buckets", "latency-blind"])
    _save(s)
    text = s.client.get("/metrics").text
    assert 'persist_s3_latency_seconds_bucket{le="0.5"' not in text and 'le="0.05",operation="put_object"} 1.0' in text


def test_sampling_ignores_rate(serve: Any) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    s = serve("prethrift", ["sampling-ignores-rate"])
    assert s.prof.tel.tracer.sampler is ALWAYS_ON  # the SDK tracer: no other break wraps it here


def test_prethrift_context_stack_kind_version_readiness(serve: Any) -> None:
    s = serve("prethrift", ["log-context", "no-stack-trace", "span-kind", "service-version", "readiness-ignores-deps",
                            "latency-blind"])
    assert s.client.get("/api/error").status_code == 500
    (line,) = [r for r in s.lines if r.get("path") == "/api/error"]
    assert "request_id" not in line and "exception" not in line and "error" in line
    server = s.finished()["GET /api/error"]
    assert server.kind.name == "INTERNAL" and server.resource.attributes["service.version"] == "0.0.0"
    s.prof.config = type(s.prof.config)(**{**s.prof.config.__dict__, "s3_url": "http://127.0.0.1:9"})
    assert s.client.get("/health/ready").status_code == 200  # the S3 check fails, readiness says 200
    assert 'http_request_duration_seconds_bucket{endpoint="/api/error",le="0.005",method="GET"} 1.0' in \
        s.client.get("/metrics").text


def test_assistant_health_envelope(serve: Any) -> None:
    s = serve("assistant", ["health-envelope"])
    body = s.client.get("/health").json()
    assert set(body) == {"status", "checks"}


def test_aurum_names_slos_context(serve: Any) -> None:
    s = serve("aurum", ["dotted-attributes", "slo-env-ignored", "slo-unit", "runs-uncounted", "log-context",
                        "no-stack-trace"])
    headers = {"X-Tenant-ID": "acme"}
    assert s.client.post("/api/scenarios", json={"name": "n", "scenario_id": "sc-1"}, headers=headers).status_code == 201
    assert s.client.post("/api/scenarios/sc-1/runs", json={}, headers=headers).status_code == 201
    assert "scenario.id" in s.finished()["scenario.create"].attributes
    slos = {x["name"]: x for x in s.client.get("/v1/observability/slos").json()["slos"]}
    assert slos["api_latency_p95"]["unit"] == "s"
    assert 'transaction_type="scenario_run"} 0.0' in s.client.get("/metrics").text
    access = [r for r in s.lines if r.get("message") == "Request completed"]
    assert access and all("tenant_id" not in r for r in access)


def test_syncd_paths_labels_errors(serve: Any, tmp_path: Any) -> None:
    s = serve("syncd", ["absolute-paths", "labelled-files", "errors-uncounted"])
    body = s.client.post("/sync/jobs/docs", json={"create_files": 1}).json()
    assert body["source"].startswith("/")
    assert s.client.post("/sync/jobs/x", json={"source": "nope"}).status_code == 404
    text = s.client.get("/metrics").text
    assert 'sync_files_processed_total{job_id="any_job",operation="create"} 1.0' in text
    assert "sync_errors_total{" not in text


def test_syncd_no_log_indexes_empties_the_migration() -> None:
    import obsconf.reference.profiles.syncd.migration as syncd

    original = syncd.DAEMON_LOGS_MIGRATION
    try:
        apply_breaks(create_app("syncd", ReferenceConfig.for_tests("syncd")), ["no-log-indexes"])
        assert syncd.DAEMON_LOGS_MIGRATION["index_columns"] == ()
    finally:
        syncd.DAEMON_LOGS_MIGRATION = original


def test_auth_forgotten_leaves_metrics_open() -> None:
    cfg = ReferenceConfig.for_tests("aurum", env={"AURUM_OBSERVABILITY_TOKEN": "t"})
    app = create_app("aurum", cfg)
    apply_breaks(app, ["auth-forgotten"])
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/v1/observability/metrics").status_code == 401
# ---- the breaks that only a load shows ----------------------------------------------------------------------------


def test_counter_skips_errors_but_the_histogram_does_not(serve: Any) -> None:
    s = serve("prethrift", ["counter-skips-errors"])
    assert s.client.get("/api/fail?status=500").status_code == 500
    assert s.client.get("/api/ok").status_code == 200
    text = s.client.get("/metrics").text
    assert 'http_requests_total{endpoint="/api/ok",method="GET",status_code="200"} 1.0' in text
    assert 'status_code="500"' not in text
    assert 'http_request_duration_seconds_count{endpoint="/api/fail",method="GET"} 1.0' in text


def test_access_log_keeps_one_line_in_two(serve: Any) -> None:
    s = serve("persist", ["access-log-sampled"])
    for _ in range(4):
        assert s.client.get("/api/ok").status_code == 200
    assert len([r for r in s.lines if r.get("message") == "request completed"]) == 2


def test_span_queue_small_shrinks_the_batch_processor() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from tests.broken_target.breaks import SMALL_SPAN_QUEUE

    # an exporter needs an OTLP endpoint; nothing listens on port 9, and nothing is sent in this test
    app = create_app("aurum", ReferenceConfig.for_tests("aurum", otlp_http_url="http://127.0.0.1:9"))
    apply_breaks(app, ["span-queue-small"])
    processors = app.state.profile.tel.provider._active_span_processor._span_processors
    queues = [(p._batch_processor._max_queue_size, p._batch_processor._queue.maxlen) for p in processors
              if isinstance(p, BatchSpanProcessor)]
    assert queues == [(SMALL_SPAN_QUEUE, SMALL_SPAN_QUEUE)]
    app.state.profile.tel.provider.shutdown()


def test_span_queue_small_needs_an_exporter() -> None:
    app = create_app("aurum", ReferenceConfig.for_tests("aurum"))
    with pytest.raises(ValueError, match="needs tracing with an OTLP exporter"):
        apply_breaks(app, ["span-queue-small"])
