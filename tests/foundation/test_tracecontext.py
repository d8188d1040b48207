"""The one reading of W3C trace context headers (obsconf.workload.tracecontext) on good and malformed values."""

from __future__ import annotations

from obsconf.workload.tracecontext import (
    TRACEPARENT,
    header_trace_id,
    header_value,
    new_traceparent,
    parse_traceparent,
    trace_id_of,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
VALUE = f"00-{TRACE}-00f067aa0ba902b7-01"


def test_new_traceparent_parses_back_to_its_trace_id() -> None:
    value, trace_id = new_traceparent()
    parsed = parse_traceparent(value)
    assert parsed is not None and parsed.sampled and f"{parsed.trace_id:032x}" == trace_id == trace_id_of(value)
    unsampled, _ = new_traceparent(sampled=False)
    assert parse_traceparent(unsampled).sampled is False  # type: ignore[union-attr]


def test_parse_refuses_malformed_values() -> None:
    for bad in ("", "00-abc-def-01", f"ff-{TRACE}-00f067aa0ba902b7-01", f"00-{'0' * 32}-00f067aa0ba902b7-01",
                f"00-{TRACE}-{'0' * 16}-01", f"00-{TRACE}-00f067aa0ba902b7-01-extra", f"00-{'x' * 32}-00f067aa0ba902b7-01"):
        assert parse_traceparent(bad) is None, bad
    assert parse_traceparent(f"01-{TRACE}-00f067aa0ba902b7-01-future") is not None


def test_trace_ids_from_headers() -> None:
    assert trace_id_of(f"  {VALUE.upper()} ") == TRACE
    assert trace_id_of("00-short-00f067aa0ba902b7-01") == ""
    assert header_trace_id(VALUE) == TRACE
    assert header_trace_id(f" {TRACE.upper()} ") == TRACE  # a bare id (X-Trace-Id)
    assert header_value({"TraceParent": VALUE}, TRACEPARENT) == VALUE
    assert header_value({"x": "1"}, TRACEPARENT) is None
