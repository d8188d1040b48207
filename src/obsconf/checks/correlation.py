"""Pure checks that logs, traces and requests agree on trace ids.

Every log line's trace id resolves to a trace that holds spans (and its span id to a span of that
trace); every request's trace id (the one its W3C ``traceparent`` carried) has a trace that arrived and,
when the contract says so, at least one log line that carries it. A response header that must echo the
trace id (``spans.response_header``: ``X-Trace-Id``, or W3C ``traceresponse``) is checked on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from obsconf.checks._common import clip, trace_link
from obsconf.contract.model import CorrelationSpec
from obsconf.contract.valuetypes import type_ok
from obsconf.model import Finding, HttpExchange, LogRecord, Span, get_field, is_missing
from obsconf.workload.tracecontext import header_trace_id, header_value


def header(exchange: HttpExchange, name: str) -> str | None:
    """A response header by name, case-insensitive, or None."""
    return header_value(exchange.headers, name)


def check_response_header(name: str, exchanges: Sequence[HttpExchange], *, where: str = "spans.response_header"
                          ) -> list[Finding]:
    """Every response carries header ``name`` naming the trace of its request."""
    if not exchanges:
        return [Finding("spans.response_header", where, "no request was made, so the header could not be checked",
                        expected=f"responses with {name}", actual="0 requests")]
    bad = []
    for x in exchanges:
        value = header(x, name)
        got = header_trace_id(value) if value is not None else None
        if got is None or not type_ok(got, "hex32") or (x.trace_id and got != x.trace_id):
            bad.append((x, value))
    if not bad:
        return []
    x, value = bad[0]
    return [Finding("spans.response_header", where,
                    f"{len(bad)} of {len(exchanges)} responses lack a {name} header naming their request's trace; "
                    f"first: {x.method} {x.url}", expected=f"{name}: {x.trace_id or '<32 hex>'}",
                    actual=value if value is not None else "absent", query=f"{x.method} {x.url}")]


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
    if not logs and not exchanges:
        return [Finding("correlation", where, "neither log lines nor responses arrived, nothing could be correlated",
                        expected="log lines and responses", actual="none", query=query)]
    span_ids: dict[str, set[str]] = {}
    for span in spans:
        span_ids.setdefault(span.trace_id, set()).add(span.span_id)
    logged: dict[str, list[LogRecord]] = {}
    for rec in logs:
        trace = get_field(rec.fields, spec.trace_id_field) if rec.fields else None
        if isinstance(trace, str) and type_ok(trace, "hex32"):
            logged.setdefault(trace, []).append(rec)
    findings: list[Finding] = []
    if logs and not logged:
        findings.append(
            Finding("correlation", where, f"none of {len(logs)} log lines carries a {spec.trace_id_field!r}, so no "
                    "log line can be tied to a trace", expected=f"{spec.trace_id_field}: hex32", actual="absent",
                    query=query)
        )
    findings += _log_findings(spec, logged, span_ids, where, trace_url, query)
    return findings + _request_findings(spec, exchanges, logged, span_ids, where, trace_url, query)


def _log_findings(spec: CorrelationSpec, logged: dict[str, list[LogRecord]], span_ids: dict[str, set[str]],
                  where: str, trace_url: str, query: str) -> list[Finding]:
    """Each trace id a log line names has spans, and each span id a line names is a span of its trace."""
    findings: list[Finding] = []
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
                link=trace_link(trace_url, dangling[0]),
            )
        )
    wrong_span = []
    for trace, recs in logged.items():
        if trace not in span_ids:
            continue
        for rec in recs:
            span_id = get_field(rec.fields, spec.span_id_field)
            if not is_missing(span_id) and span_id not in span_ids[trace]:
                wrong_span.append((trace, rec, span_id))
    if wrong_span:
        trace, rec, span_id = wrong_span[0]
        findings.append(
            Finding(
                "correlation",
                where,
                f"{len(wrong_span)} log lines name a {spec.span_id_field!r} that is not a span of their trace; "
                f"first: {clip(rec.line)}",
                expected=f"one of the {len(span_ids[trace])} span ids of trace {trace}",
                actual=span_id,
                query=query,
                link=trace_link(trace_url, trace),
            )
        )
    return findings


def _request_findings(spec: CorrelationSpec, exchanges: Sequence[HttpExchange], logged: dict[str, list[LogRecord]],
                      span_ids: dict[str, set[str]], where: str, trace_url: str, query: str) -> list[Finding]:
    """Each request's trace id (from its traceparent) has a trace and, when required, a log line."""
    findings: list[Finding] = []
    traced = [x for x in exchanges if x.trace_id]
    if exchanges and not traced:
        findings.append(
            Finding("correlation", where, f"none of {len(exchanges)} requests carried a traceparent (the run samples "
                    "below 1.0), so requests cannot be paired with traces and log lines", expected="traced requests",
                    actual="0", query=query))
    no_trace = [x for x in traced if x.trace_id not in span_ids]
    no_log = [x for x in traced if x.trace_id in span_ids and spec.request_log_required and x.trace_id not in logged]
    if no_trace:
        first = no_trace[0]
        findings.append(
            Finding("correlation", where, f"{len(no_trace)} of {len(traced)} requests have no trace in the trace "
                    f"backend under the trace id of their W3C traceparent (does the service propagate trace "
                    f"context?); first: {first.method} {first.url} -> trace {first.trace_id}",
                    expected="a trace with spans", actual="no span", query=query,
                    link=trace_link(trace_url, first.trace_id))
        )
    if no_log:
        first = no_log[0]
        findings.append(
            Finding("correlation", where, f"{len(no_log)} of {len(traced)} traced requests left no log line with "
                    f"their trace id; first: {first.method} {first.url} -> trace {first.trace_id}",
                    expected=f"a log line with {spec.trace_id_field}={first.trace_id}", actual="none", query=query,
                    link=trace_link(trace_url, first.trace_id))
        )
    return findings
