"""Correlation of log lines, traces and requests (by the trace id of their traceparent), and the optional
response header that echoes the trace id."""

from __future__ import annotations

import json

from obsconf.checks.correlation import check_correlation, check_response_header
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


def resp(trace: str | None, header: str | None = None) -> HttpExchange:
    """A request sent with a traceparent naming ``trace``; ``header`` is what its X-Trace-Id answered."""
    headers = {"x-trace-id": header} if header else {}
    return HttpExchange("GET", "http://127.0.0.1:8000/api/ok", 200, headers, None, 1.0, trace_id=trace or "")


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


def test_request_whose_trace_never_arrived() -> None:
    findings = check_correlation(SPEC, [line(T1, "a")], [span(T1, "a")], [resp(T2), resp(T1)], trace_url=URL)
    (f,) = findings
    assert "1 of 2 requests have no trace in the trace backend under the trace id of their W3C traceparent" \
        in f.message and f.link.endswith(T2)


def test_requests_without_traceparent_cannot_be_paired() -> None:
    findings = check_correlation(SPEC, [line(T1, "a")], [span(T1, "a")], [resp(None)])
    assert any("none of 1 requests carried a traceparent" in f.message for f in findings)


def test_response_header_only_when_the_contract_names_one() -> None:
    ok = [resp(T1, T1), resp(T2, f"00-{T2}-{'1' * 16}-01")]  # a bare id, and W3C traceresponse
    assert check_response_header("X-Trace-Id", ok) == []
    bad = [resp(T1), resp(T2, "test-trace-123"), resp(T1, T2), resp(T2, T2)]
    (f,) = check_response_header("X-Trace-Id", bad)
    assert "3 of 4 responses lack a X-Trace-Id header naming their request's trace" in f.message
    assert "no request was made" in check_response_header("traceresponse", [])[0].message


def test_request_without_log_line() -> None:
    findings = check_correlation(SPEC, [line(T1, "a")], [span(T1, "a"), span(T2, "b")], [resp(T1), resp(T2)])
    assert len(findings) == 1 and "left no log line with their trace id" in findings[0].message
    relaxed = CorrelationSpec(request_log_required=False)
    assert check_correlation(relaxed, [line(T1, "a")], [span(T1, "a"), span(T2, "b")], [resp(T1), resp(T2)]) == []


def test_no_data_and_no_trace_ids_in_logs() -> None:
    assert "nothing could be correlated" in check_correlation(SPEC, [], [], [])[0].message
    findings = check_correlation(SPEC, [line(None)], [span(T1, "a")], [])
    assert findings and "none of 1 log lines carries a 'trace_id'" in findings[0].message
