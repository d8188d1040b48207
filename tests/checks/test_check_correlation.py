"""Correlation of log lines, traces and X-Trace-Id response headers."""

from __future__ import annotations

import json

from obsconf.checks.correlation import check_correlation
from obsconf.contract.model import CorrelationSpec
from obsconf.model import HttpExchange, LogRecord, Span

T1, T2 = "1" * 32, "2" * 32
SPEC = CorrelationSpec(loc="persist.yaml:55 logs.correlation")
URL = "http://127.0.0.1:16686/trace/{trace_id}"


def span(trace: str, sid: str) -> Span:
    return Span(trace, sid * 16, None, "GET /api/ok", "persist", 0, 1, kind="server")


def line(trace: str | None, sid: str | None = None) -> LogRecord:
    fields = {"level": "INFO", "message": "handled"}
    if trace:
        fields["trace_id"] = trace
    if sid:
        fields["span_id"] = sid * 16
    return LogRecord(1, json.dumps(fields), fields)


def resp(trace: str | None) -> HttpExchange:
    return HttpExchange("GET", "http://127.0.0.1:8000/api/ok", 200, {"x-trace-id": trace} if trace else {}, None, 1.0)


def test_everything_resolves() -> None:
    assert check_correlation(SPEC, [line(T1, "a"), line(T2, "b")], [span(T1, "a"), span(T2, "b")],
                             [resp(T1), resp(T2)], trace_url=URL) == []


def test_log_trace_id_without_trace() -> None:
    findings = check_correlation(SPEC, [line(T1, "a"), line(T2, "b")], [span(T1, "a")], [resp(T1)], trace_url=URL)
    f = findings[0]
    assert "have no span in the trace backend" in f.message and f.actual == [T2] and f.link.endswith(T2)


def test_log_span_id_not_in_trace() -> None:
    findings = check_correlation(SPEC, [line(T1, "c")], [span(T1, "a")], [resp(T1)])
    assert any("not a span of their trace" in f.message for f in findings)


def test_response_header_problems() -> None:
    spans = [span(T1, "a")]
    logs = [line(T1, "a")]
    findings = check_correlation(SPEC, logs, spans, [resp(None), resp("test-trace-123"), resp(T2), resp(T1)])
    msgs = "\n".join(f.message for f in findings)
    assert "2 of 4 responses lack a valid X-Trace-Id" in msgs
    assert "1 of 4 responses name a trace that never arrived" in msgs


def test_request_without_log_line() -> None:
    findings = check_correlation(SPEC, [line(T1, "a")], [span(T1, "a"), span(T2, "b")], [resp(T1), resp(T2)])
    assert len(findings) == 1 and "left no log line with their trace id" in findings[0].message
    relaxed = CorrelationSpec(request_log_required=False)
    assert check_correlation(relaxed, [line(T1, "a")], [span(T1, "a"), span(T2, "b")], [resp(T1), resp(T2)]) == []


def test_no_data_and_no_trace_ids_in_logs() -> None:
    assert "nothing could be correlated" in check_correlation(SPEC, [], [], [])[0].message
    findings = check_correlation(SPEC, [line(None)], [span(T1, "a")], [])
    assert findings and "none of 1 log lines carries a 'trace_id'" in findings[0].message
