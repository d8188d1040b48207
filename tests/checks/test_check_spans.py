"""Span checks on good and non-conformant traces."""

from __future__ import annotations

from obsconf.checks.redaction import check_span_redaction
from obsconf.checks.sampling import check_sampling
from obsconf.checks.spans import check_span_attributes, check_span_parents, check_span_status, check_spans
from obsconf.contract.model import AttributeSpec, RedactionSpec, SamplingSpec, SpanSpec, SpansSpec, StatusRule
from obsconf.model import HttpExchange, Span

T1 = "a" * 32
T2 = "b" * 32


def span(name: str, sid: str, parent: str | None, *, trace: str = T1, kind: str = "internal",
         status: str = "unset", start: int = 0, **attrs: object) -> Span:
    return Span(trace_id=trace, span_id=sid.ljust(16, "0"), parent_id=parent.ljust(16, "0") if parent else None,
                name=name, service="persist", start_us=start, duration_us=10, attributes=dict(attrs),
                status=status, kind=kind)


SPEC = SpansSpec(
    operations=(
        SpanSpec("save_snapshot", parent_kind="server",
                 attributes=(AttributeSpec("size_bytes", "integer"), AttributeSpec("operation_type", "string", equals="save"))),
        SpanSpec("s3_upload", parent="save_snapshot", attributes=(AttributeSpec("bucket", "string"),)),
        SpanSpec("put_object_request", parent="s3_upload"),
    ),
    status_rules=(StatusRule(attribute=("http.status_code", "http.response.status_code"), gte=500),),
    loc="persist.yaml:70 spans",
)


def good_trace(trace: str = T1) -> list[Span]:
    return [
        span("POST /snapshots/{key}", "1", None, trace=trace, kind="server", **{"http.status_code": 200}),
        span("save_snapshot", "2", "1", trace=trace, size_bytes=10, operation_type="save"),
        span("s3_upload", "3", "2", trace=trace, bucket="b"),
        span("put_object_request", "4", "3", trace=trace),
    ]


def failing_request() -> list[Span]:
    return [span("GET /api/fail", "9", None, trace=T2, kind="server", status="error", **{"http.status_code": 500})]


def test_conformant_trace_passes() -> None:
    assert check_spans(SPEC, good_trace() + failing_request()) == []


def test_no_spans_at_all_is_one_clear_finding() -> None:
    findings = check_spans(SPEC, [], query="GET /api/traces?service=persist")
    assert len(findings) == 1 and "no span arrived at all" in findings[0].message
    assert findings[0].query.startswith("GET /api/traces")


def test_missing_span_name_is_reported_with_what_was_seen() -> None:
    spans = [s for s in good_trace() if s.name != "s3_upload"] + failing_request()
    findings = check_spans(SPEC, spans)
    present = [f for f in findings if f.check == "spans.present"]
    assert present and "no span named 's3_upload' arrived" in present[0].message
    assert "save_snapshot" in present[0].message  # lists what did arrive


def test_wrong_parent_is_caught() -> None:
    spans = good_trace()
    spans[3] = span("put_object_request", "4", "2")  # hung under save_snapshot instead of s3_upload
    findings = check_span_parents(SPEC, spans, trace_url="http://127.0.0.1:16686/trace/{trace_id}")
    assert len(findings) == 1
    f = findings[0]
    assert f.check == "spans.parent" and f.expected == "s3_upload" and f.actual == "save_snapshot"
    assert f.link == f"http://127.0.0.1:16686/trace/{T1}"


def test_parent_kind_and_lost_parent() -> None:
    spans = good_trace()
    spans[0] = span("POST /snapshots/{key}", "1", None, kind="internal")
    findings = check_span_parents(SPEC, spans)
    assert findings and "must be a child of a server span" in findings[0].message
    orphan = [span("s3_upload", "3", "7", bucket="b")]
    findings = check_span_parents(SPEC, orphan)
    assert any("not in the trace" in f.message for f in findings)
    assert any("no span named 'save_snapshot' arrived" in f.message for f in findings)


def test_parent_alternatives_and_root() -> None:
    spec = SpansSpec(operations=(SpanSpec("s3_download", parent=("load_snapshot", "verify_snapshot")),
                                 SpanSpec("POST /api/chat", root=True)))
    ok = [span("verify_snapshot", "1", None), span("s3_download", "2", "1"), span("POST /api/chat", "3", None)]
    assert check_span_parents(spec, ok) == []
    bad = [span("save_snapshot", "1", None), span("s3_download", "2", "1"),
           span("x", "5", None), span("POST /api/chat", "3", "5")]
    msgs = [f.message for f in check_span_parents(spec, bad)]
    assert any("wrong parent" in m for m in msgs) and any("must be a root" in m for m in msgs)


def test_missing_and_mistyped_attributes() -> None:
    spans = good_trace()
    spans[1] = span("save_snapshot", "2", "1", size_bytes="10", operation_type="load")
    findings = check_span_attributes(SPEC, spans)
    by_attr = {f.expected: f for f in findings}
    assert "size_bytes: integer" in by_attr and "'10' (string)" in by_attr["size_bytes: integer"].actual
    assert "expected to equal 'save'" in by_attr["operation_type: string"].actual
    spans[2] = span("s3_upload", "3", "2")
    findings = check_span_attributes(SPEC, spans)
    assert any(f.actual == "bucket: absent" for f in findings)


def test_error_status_rule() -> None:
    wrong = [span("GET /api/fail", "9", None, trace=T2, kind="server", status="unset", **{"http.response.status_code": 503})]
    findings = check_span_status(SPEC, wrong)
    assert findings and findings[0].expected == "error" and findings[0].actual == "unset"
    assert "set the span status" in findings[0].message


def test_status_rule_not_exercised_is_a_finding() -> None:
    findings = check_span_status(SPEC, good_trace())
    assert findings and "rule was not exercised" in findings[0].message


def test_secret_in_span_attribute_is_caught() -> None:
    red = RedactionSpec(values=("sk-obsconf-canary-5f2a9c7e1b",), fields={"api_key": "[REDACTED]"})
    clean = good_trace()
    assert check_span_redaction(red, clean) == []
    dirty = clean + [span("handle", "5", "1", **{"request.body": '{"api_key": "sk-obsconf-canary-5f2a9c7e1b"}'}),
                     span("auth", "6", "1", api_key="abc")]
    findings = check_span_redaction(red, dirty)
    text = "\n".join(f.render() for f in findings)
    assert "attribute 'request.body'" in text and "sk-obsconf-canary-5f2a9c7e1b" not in text
    assert "field 'api_key' not masked" in text
    assert check_span_redaction(red, [])[0].actual == "0 spans"


def exchange(status: int, trace: str | None) -> HttpExchange:
    return HttpExchange("GET", "http://127.0.0.1:8000/api/ok", status, {}, None, 1.0, trace_id=trace or "")


def test_sampling_at_full_rate_requires_every_trace() -> None:
    spec = SamplingSpec(env="TRACE_SAMPLE_RATE", run_rate=1.0, always_sample_errors=True)
    spans = good_trace() + failing_request()
    assert check_sampling(spec, [exchange(200, T1), exchange(500, T2)], spans) == []
    findings = check_sampling(spec, [exchange(200, T1), exchange(200, "d" * 32), exchange(500, "c" * 32)], spans)
    assert any("1 of 2 requests were traced" in f.message and "TRACE_SAMPLE_RATE=1" in f.message for f in findings)
    assert any("only 0 of 1 error responses were traced" in f.message for f in findings)


def test_sampling_errors_rule_needs_an_error() -> None:
    spec = SamplingSpec(run_rate=1.0, always_sample_errors=True)
    findings = check_sampling(spec, [exchange(200, T1)], good_trace())
    assert findings and "not exercised" in findings[0].message
