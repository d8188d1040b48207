"""The lean OTLP encoder writes the same ExportTraceServiceRequest as the SDK's encoder, and redacts."""

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from obsconf.reference.otlpencode import SpanEncoder
from obsconf.reference.otlpexport import LeanOTLPSpanExporter
from obsconf.reference.redact import MASK, Redactor
from obsconf.reference.spancopy import copy_span


class Keep(SpanExporter):
    def __init__(self):
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _provider(keep, **resource):
    provider = TracerProvider(resource=Resource.create({"service.name": "persist", **resource}),
                              span_limits=SpanLimits(max_span_attributes=12, max_events=2, max_links=1))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    return provider


def _spans():
    keep = Keep()
    tracer = _provider(keep).get_tracer("obsconf.reference", "1.2.3", schema_url="https://opentelemetry.io/schemas/1.21.0")
    other = _provider(keep, **{"obsconf.profile": "syncd"}).get_tracer("other")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1),
                         trace_state=TraceState([("vendor", "v1"), ("k", "x")]))
    parent_ctx = set_span_in_context(NonRecordingSpan(remote))
    attrs = {"http.request.method": "GET", "url.path": "/api/ok", "ok": True, "no": False, "n": -7, "big": 2**62,
             "zero": 0, "ratio": 0.25, "one_float": 1.0, "empty": "", "tags": ("a", "b"), "codes": (1, 2),
             "flags": (True, False), "ratios": (0.5,), "extra_1": 1, "extra_2": 2}  # 16 > limit 12: dropped
    with tracer.start_as_current_span("GET /api/ok", context=parent_ctx, kind=SpanKind.SERVER, attributes=attrs,
                                      links=[Link(remote, {"link.kind": "follows"}),
                                             Link(SpanContext(1, 2, False), {})]) as root:
        with tracer.start_as_current_span("s3_upload", attributes={"bucket": "b", "retry_count": 0}) as child:
            child.set_status(Status(StatusCode.ERROR, "AccessDenied: nope"))
        root.record_exception(ValueError("boom"))
        for i in range(3):  # one more than max_events
            root.add_event(f"e{i}", {"i": i})
        root.set_status(Status(StatusCode.OK))
    with other.start_as_current_span("sync_job", kind=SpanKind.CONSUMER):
        pass
    with tracer.start_as_current_span("", kind=SpanKind.CLIENT):  # an empty name is left out, as the SDK does
        pass
    return keep.spans


def _parse(data):
    return ExportTraceServiceRequest.FromString(data)


def test_same_message_as_the_sdk_encoder():
    spans = _spans()
    assert spans[1].dropped_attributes == 4 and spans[1].dropped_events == 2 and spans[1].dropped_links == 1
    assert _parse(SpanEncoder().encode(spans)) == encode_spans(spans)


def test_same_bytes_as_the_sdk_for_a_plain_server_span():
    spans = _spans()[:2]
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializePartialToString()


def test_cached_encodings_are_reused_and_stay_correct():
    spans = _spans()
    enc = SpanEncoder()
    first = enc.encode(spans)
    assert enc.encode(spans) == first
    assert _parse(enc.encode(spans[::-1])) == encode_spans(spans[::-1])


def test_equal_values_of_different_types_keep_their_own_encoding():
    keep = Keep()
    tracer = _provider(keep).get_tracer("t")
    for value in (True, 1, 1.0, "1"):
        with tracer.start_as_current_span("x", attributes={"v": value}):
            pass
    enc = SpanEncoder()
    decoded = _parse(enc.encode(keep.spans))
    values = [s.attributes[0].value for s in decoded.resource_spans[0].scope_spans[0].spans]
    assert [v.WhichOneof("value") for v in values] == ["bool_value", "int_value", "double_value", "string_value"]


def test_attributes_are_redacted_like_the_exporter_copy():
    keep = Keep()
    tracer = _provider(keep).get_tracer("t")
    attrs = {"db.password": "hunter2", "http.url": "/login?token=abc123&x=1", "note": "Bearer abc.def",
             "api_key": 42, "key": "agent/snapshot_001.json.gz"}
    with tracer.start_as_current_span("x", attributes=attrs):
        pass
    red = Redactor()
    decoded = _parse(SpanEncoder(red).encode(keep.spans))
    expected = encode_spans([copy_span(s, attributes=red.mapping(s.attributes)) for s in keep.spans])
    assert decoded == expected
    values = {kv.key: kv.value for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert values["db.password"].string_value == MASK and values["api_key"].string_value == MASK
    assert "abc123" not in values["http.url"].string_value and "abc.def" not in values["note"].string_value
    assert values["key"].string_value == "agent/snapshot_001.json.gz"


class _Outcome:
    success = True
    error = None


class _Client:
    def __init__(self):
        self.bodies = []

    def export(self, data):
        self.bodies.append(data)
        return _Outcome()


def test_lean_exporter_sends_the_lean_encoding_through_the_sdk_client():
    exporter = LeanOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", timeout=1, redactor=Redactor())
    assert exporter.lean and exporter.redacts_attributes
    exporter._client = client = _Client()
    spans = _spans()
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert _parse(client.bodies[0]) == encode_spans(spans)


def test_lean_exporter_without_redactor_leaves_redaction_to_the_caller():
    exporter = LeanOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", timeout=1)
    assert exporter.lean and not exporter.redacts_attributes


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_integers_outside_int64_are_left_out_as_the_sdk_does(value):
    keep = Keep()
    with _provider(keep).get_tracer("t").start_as_current_span("x", attributes={"ok": 1, "huge": value}):
        pass
    decoded = _parse(SpanEncoder().encode(keep.spans))
    assert [kv.key for kv in decoded.resource_spans[0].scope_spans[0].spans[0].attributes] == ["ok"]
