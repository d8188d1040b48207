"""Pure check that logs, traces and responses agree on trace ids.

Every log line's trace id resolves to a trace that holds spans (and its span id to a span of that
trace); every response's ``X-Trace-Id`` is a well-formed trace id whose trace arrived and, when the
contract says so, at least one log line carries it.
"""

from __future__ import annotations

from collections.abc import Sequence

from obsconf.checks._common import clip, get_field, is_missing, type_ok
from obsconf.contract.model import CorrelationSpec
from obsconf.model import Finding, HttpExchange, LogRecord, Span

TRACE_HEADER = "x-trace-id"


def response_trace_id(exchange: HttpExchange) -> str | None:
    """The ``X-Trace-Id`` header of a response (case-insensitive), or None."""
    for key, value in exchange.headers.items():
        if key.lower() == TRACE_HEADER:
            return value
    return None


def check_correlation(
    spec: CorrelationSpec,
    logs: Sequence[LogRecord],
    spans: Sequence[Span],
    exchanges: Sequence[HttpExchange],
    *,
    trace_url: str = "",
    query: str = "",
) -> list[Finding]:
    """Logs -> traces and responses -> traces -> logs resolve. ``spans`` must hold every span read for the
    trace ids involved (the caller fetches them from Jaeger); ``trace_url`` is a template with {trace_id}."""
    where = spec.loc or "correlation"

    def link(trace_id: str) -> str:
        return trace_url.format(trace_id=trace_id) if trace_url else ""

    findings: list[Finding] = []
    if not logs and not exchanges:
        return [Finding("correlation", where, "neither log lines nor responses arrived, nothing could be correlated",
                        expected="log lines and responses", actual="none", query=query)]
    span_ids: dict[str, set[str]] = {}
    for s in spans:
        span_ids.setdefault(s.trace_id, set()).add(s.span_id)
    logged: dict[str, list[LogRecord]] = {}
    for rec in logs:
        trace = get_field(rec.fields, spec.trace_id_field) if rec.fields else None
        if isinstance(trace, str) and type_ok(trace, "hex32"):
            logged.setdefault(trace, []).append(rec)
    if logs and not logged:
        findings.append(
            Finding("correlation", where, f"none of {len(logs)} log lines carries a {spec.trace_id_field!r}, so no "
                    "log line can be tied to a trace", expected=f"{spec.trace_id_field}: hex32", actual="absent",
                    query=query)
        )
    dangling = [t for t in logged if t not in span_ids]
    if dangling:
        first = logged[dangling[0]][0]
        findings.append(
            Finding(
                "correlation",
                where,
                f"{len(dangling)} of {len(logged)} trace ids found in log lines have no span in the trace backend "
                f"(unsampled or unexported traces, or a trace id not taken from the active span); first line: "
                f"{clip(first.line)}",
                expected="a trace with spans for every logged trace id",
                actual=dangling[:5],
                query=query,
                link=link(dangling[0]),
            )
        )
    wrong_span = []
    for trace, recs in logged.items():
        if trace not in span_ids:
            continue
        for rec in recs:
            sid = get_field(rec.fields, spec.span_id_field)
            if not is_missing(sid) and sid not in span_ids[trace]:
                wrong_span.append((trace, rec, sid))
    if wrong_span:
        trace, rec, sid = wrong_span[0]
        findings.append(
            Finding(
                "correlation",
                where,
                f"{len(wrong_span)} log lines name a {spec.span_id_field!r} that is not a span of their trace; "
                f"first: {clip(rec.line)}",
                expected=f"one of the {len(span_ids[trace])} span ids of trace {trace}",
                actual=sid,
                query=query,
                link=link(trace),
            )
        )
    bad_header, no_trace, no_log = [], [], []
    for x in exchanges:
        tid = response_trace_id(x)
        if tid is None or not type_ok(tid, "hex32"):
            bad_header.append((x, tid))
        elif tid not in span_ids:
            no_trace.append((x, tid))
        elif spec.request_log_required and tid not in logged:
            no_log.append((x, tid))
    if bad_header:
        x, tid = bad_header[0]
        findings.append(
            Finding("correlation", where, f"{len(bad_header)} of {len(exchanges)} responses lack a valid X-Trace-Id "
                    f"header (32 lowercase hex); first: {x.method} {x.url}", expected="X-Trace-Id: <32 hex>",
                    actual=tid if tid is not None else "absent", query=f"{x.method} {x.url}")
        )
    if no_trace:
        x, tid = no_trace[0]
        findings.append(
            Finding("correlation", where, f"{len(no_trace)} of {len(exchanges)} responses name a trace that never "
                    f"arrived; first: {x.method} {x.url} -> X-Trace-Id {tid}", expected="a trace with spans",
                    actual="no span", query=query, link=link(tid))
        )
    if no_log:
        x, tid = no_log[0]
        findings.append(
            Finding("correlation", where, f"{len(no_log)} of {len(exchanges)} traced requests left no log line with "
                    f"their trace id; first: {x.method} {x.url} -> X-Trace-Id {tid}",
                    expected=f"a log line with {spec.trace_id_field}={tid}", actual="none", query=query, link=link(tid))
        )
    return findings
