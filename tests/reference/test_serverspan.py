"""The middleware's cheap server span reaches the collector as the same message the SDK's span would give,
and is used only where the SDK's span could not differ (every span recorded, the batch exporter alone)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from obsconf.reference.app import create_app
from obsconf.reference.config import ReferenceConfig
from obsconf.reference.otlpencode import SpanEncoder
from obsconf.reference.serverspan import ServerSpanFactory


class Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[Any] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


class FixedIds:
    """The same ids for both spans, so their encodings can be compared byte for byte."""

    def generate_span_id(self) -> int:
        return 0x1122334455667788

    def generate_trace_id(self) -> int:
        return 0xAABBCCDDEEFF00112233445566778899

    def is_trace_id_random(self) -> bool:
        return True


def _same_request(span: Any) -> None:
    span.set_attributes({"http.route": "/items/{id}", "http.response.status_code": 500, "skipped": None})
    span.update_name("GET /items/{id}")
    span.record_exception(ValueError("boom"), timestamp=1_000)
    span.set_attribute("error.type", "ValueError")
    span.set_status(Status(StatusCode.ERROR, "ValueError: boom"))


def _pair(parent: SpanContext | None) -> tuple[Any, Any]:
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "persist"}), id_generator=FixedIds(),
                              sampler=ALWAYS_ON)  # as the reference's telemetry, where the cheap span is used
    provider.add_span_processor(SimpleSpanProcessor(keep))
    attrs = {"http.request.method": "GET", "url.path": "/items/7", "url.scheme": "http"}
    ctx = set_span_in_context(NonRecordingSpan(parent)) if parent else None
    sdk = provider.get_tracer("obsconf.reference", "1.0").start_span("GET /items/7", context=ctx,
                                                                     kind=SpanKind.SERVER, attributes=dict(attrs))
    factory = ServerSpanFactory(SimpleSpanProcessor(keep), provider.resource,
                                InstrumentationScope("obsconf.reference", "1.0"), FixedIds())
    lean = factory.start("GET /items/7", parent, dict(attrs))
    for span in (sdk, lean):
        _same_request(span)
        span.end()
    sdk_done, lean_done = keep.spans
    lean_done.start_time, lean_done.end_time = sdk_done.start_time, sdk_done.end_time  # only the clock differs
    return sdk_done, lean_done


def test_same_bytes_as_the_sdk_span_for_the_same_request() -> None:
    sdk, lean = _pair(None)
    assert lean.parent is None and lean.context.trace_flags.sampled
    assert lean.context == sdk.context  # ids, flags (sampled, random trace id), trace state
    assert SpanEncoder().encode([lean]) == SpanEncoder().encode([sdk])
    # and the SDK's own encoder reads it as the same message
    assert ExportTraceServiceRequest.FromString(SpanEncoder().encode([lean])) == encode_spans([sdk])
    assert encode_spans([lean]) == encode_spans([sdk])


def test_a_remote_parent_makes_it_a_child_in_the_same_trace() -> None:
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0))
    sdk, lean = _pair(remote)
    assert lean.context.trace_id == 0xABC and lean.parent == remote and lean.context == sdk.context
    assert encode_spans([lean]) == encode_spans([sdk])


def test_an_ended_span_ignores_writes() -> None:
    _, lean = _pair(None)
    before = dict(lean.attributes)
    lean.set_attribute("late", 1)
    lean.set_status(Status(StatusCode.OK))
    assert dict(lean.attributes) == before and lean.status.status_code is StatusCode.ERROR


def _telemetry(profile: str) -> Any:
    env = {"OBSCONF_INSTRUMENTATION": "on", "OBSCONF_OTLP_HTTP_URL": "http://127.0.0.1:9"}
    return create_app(profile, ReferenceConfig.from_env(profile, env)).state.telemetry


def test_used_only_where_the_sdk_span_could_not_differ() -> None:
    assert _telemetry("persist").server_spans is not None  # every span recorded, batch exporter alone
    assert _telemetry("aurum").server_spans is None  # its span store is a second processor
    assert _telemetry("assistant").server_spans is None  # sampled, with tail keeping


def test_children_and_log_lines_join_the_server_span() -> None:
    app = create_app("persist", ReferenceConfig.from_env("persist", {"OBSCONF_INSTRUMENTATION": "on"}))
    assert app.state.telemetry.server_spans is not None
    with TestClient(app) as client:
        resp = client.get("/api/ok", headers={"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"})
    assert resp.status_code == 200 and resp.headers["x-trace-id"] == "ab" * 16


def test_a_processor_added_later_sees_the_server_span() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    app = create_app("persist", ReferenceConfig.from_env("persist", {"OBSCONF_INSTRUMENTATION": "on"}))
    memory = InMemorySpanExporter()
    app.state.telemetry.provider.add_span_processor(SimpleSpanProcessor(memory))
    with TestClient(app) as client:
        client.get("/api/ok")
    server = {s.name: s for s in memory.get_finished_spans()}["GET /api/ok"]
    assert server.attributes["http.response.status_code"] == 200 and server.kind is SpanKind.SERVER
