"""Pure checks of spans: names present, parent-child tree, attributes, status rules, sampling, secrets."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from obsconf.checks._common import describe, type_ok
from obsconf.checks.logs import find_secrets
from obsconf.contract.model import AttributeSpec, RedactionSpec, SamplingSpec, SpanSpec, SpansSpec, StatusRule
from obsconf.model import Finding, HttpExchange, Span


def _trace_link(trace_url: str, trace_id: str) -> str:
    return trace_url.format(trace_id=trace_id) if trace_url else ""


def _index(spans: Sequence[Span]) -> dict[tuple[str, str], Span]:
    return {(s.trace_id, s.span_id): s for s in spans}


def check_span_presence(
    spec: SpansSpec, spans: Sequence[Span], *, query: str = "", link: str = ""
) -> list[Finding]:
    """Every expected span name occurs at least once."""
    names = {s.name for s in spans}
    findings = []
    for op in spec.operations:
        if op.name not in names:
            seen = ", ".join(sorted(names)[:15]) or "no spans at all"
            findings.append(
                Finding(
                    "spans.present",
                    op.loc or f"spans {op.name}",
                    f"no span named {op.name!r} arrived (seen: {seen}): the operation is not instrumented, "
                    "is named differently, or its spans were not exported",
                    expected=op.name,
                    actual="absent",
                    query=query,
                    link=link,
                )
            )
    return findings


def _parent_problem(op: SpanSpec, span: Span, parent: Span | None) -> tuple[str, Any, Any] | None:
    """(message, expected, actual) if ``span``'s parent breaks ``op``'s rule, else None."""
    if op.root:
        if span.parent_id is None or parent is None or parent.service != span.service:
            return None
        return (f"span {op.name!r} must be a root, but its parent is {parent.name!r}", "no parent", parent.name)
    if op.parent is None and op.parent_kind is None:
        return None
    if span.parent_id is None:
        wanted = op.parent or f"a {op.parent_kind} span"
        return (f"span {op.name!r} has no parent; it must be a child of {wanted}", wanted, "no parent (root)")
    if parent is None:
        return (
            f"span {op.name!r} names parent span id {span.parent_id}, which is not in the trace: "
            "the parent was never exported or was dropped",
            op.parent or op.parent_kind,
            f"missing span {span.parent_id}",
        )
    names = (op.parent,) if isinstance(op.parent, str) else op.parent
    if names is not None and parent.name not in names:
        wanted = names[0] if len(names) == 1 else " or ".join(names)
        return (f"span {op.name!r} has the wrong parent", wanted, parent.name)
    if op.parent_kind is not None and parent.kind != op.parent_kind:
        return (
            f"span {op.name!r} must be a child of a {op.parent_kind} span, its parent {parent.name!r} is "
            f"{parent.kind}",
            f"kind {op.parent_kind}",
            f"{parent.name} (kind {parent.kind})",
        )
    return None


def check_span_parents(
    spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = ""
) -> list[Finding]:
    """Each expected span hangs under the expected parent (by name or kind), or is a root if so stated."""
    index = _index(spans)
    findings = []
    for op in spec.operations:
        instances = [s for s in spans if s.name == op.name]
        bad: list[tuple[Span, tuple[str, Any, Any]]] = []
        for span in instances:
            parent = index.get((span.trace_id, span.parent_id)) if span.parent_id else None
            problem = _parent_problem(op, span, parent)
            if problem:
                bad.append((span, problem))
        if bad:
            span, (message, expected, actual) = bad[0]
            findings.append(
                Finding(
                    "spans.parent",
                    op.loc or f"spans {op.name}",
                    f"{message} ({len(bad)} of {len(instances)} spans; first in trace {span.trace_id})",
                    expected=expected,
                    actual=actual,
                    query=query,
                    link=_trace_link(trace_url, span.trace_id),
                )
            )
    return findings


def _attribute_problem(attr: AttributeSpec, attributes: dict[str, Any]) -> str | None:
    if attr.name not in attributes:
        return "absent"
    value = attributes[attr.name]
    if not type_ok(value, attr.type):
        return describe(value)
    if attr.equals is not None and value != attr.equals:
        return f"{describe(value)}, expected to equal {attr.equals!r}"
    if attr.pattern is not None and not re.search(attr.pattern, str(value)):
        return f"{describe(value)}, expected to match /{attr.pattern}/"
    return None


def check_span_attributes(
    spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = ""
) -> list[Finding]:
    """Each expected span carries every required attribute with the stated type (and value/pattern)."""
    findings = []
    for op in spec.operations:
        instances = [s for s in spans if s.name == op.name]
        for attr in op.attributes:
            bad = [(s, p) for s in instances if (p := _attribute_problem(attr, s.attributes)) is not None]
            if bad:
                span, actual = bad[0]
                findings.append(
                    Finding(
                        "spans.attributes",
                        attr.loc or op.loc or f"spans {op.name}",
                        f"span {op.name!r}: attribute {attr.name!r} is missing or wrong in {len(bad)} of "
                        f"{len(instances)} spans (first in trace {span.trace_id}; it has: "
                        f"{', '.join(sorted(span.attributes)) or 'no attributes'})",
                        expected=f"{attr.name}: {attr.type}",
                        actual=f"{attr.name}: {actual}",
                        query=query,
                        link=_trace_link(trace_url, span.trace_id),
                    )
                )
    return findings


def _status_code(rule: StatusRule, span: Span) -> int | None:
    for name in rule.attribute:
        if name in span.attributes:
            try:
                return int(span.attributes[name])
            except (TypeError, ValueError):
                return None
    return None


def check_span_status(
    spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = ""
) -> list[Finding]:
    """Spans whose status code is >= the rule's threshold have the rule's status (e.g. error for >= 400).

    A rule that no span exercised is a finding: the workload must include a failing request."""
    findings = []
    for rule in spec.status_rules:
        where = rule.loc or "spans.status_rules"
        candidates = [s for s in spans if rule.span_kind is None or s.kind == rule.span_kind]
        coded = [(s, c) for s in candidates if (c := _status_code(rule, s)) is not None]
        hit = [(s, c) for s, c in coded if c >= rule.gte]
        if not hit:
            findings.append(
                Finding(
                    "spans.status",
                    where,
                    f"no {rule.span_kind or ''} span with {' or '.join(rule.attribute)} >= {rule.gte} arrived "
                    f"({len(coded)} spans carry the attribute): the rule was not exercised; add a failing request "
                    "to the workload (e.g. GET /api/fail?status=500)",
                    expected=f"spans with {rule.attribute[0]} >= {rule.gte}",
                    actual=f"{len(coded)} coded spans, none >= {rule.gte}",
                    query=query,
                )
            )
            continue
        bad = [(s, c) for s, c in hit if s.status != rule.status]
        if bad:
            span, code = bad[0]
            findings.append(
                Finding(
                    "spans.status",
                    where,
                    f"{len(bad)} of {len(hit)} spans with {rule.attribute[0]} >= {rule.gte} do not have status "
                    f"{rule.status!r}; first: {span.name!r} with code {code} (set the span status on error)",
                    expected=rule.status,
                    actual=span.status,
                    query=query,
                    link=_trace_link(trace_url, span.trace_id),
                )
            )
    return findings


def check_spans(
    spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = "", link: str = ""
) -> list[Finding]:
    """Presence, parents, attributes and status rules. No span at all is one finding saying so."""
    if not spans:
        return [
            Finding(
                "spans.present",
                spec.loc or "spans",
                "no span arrived at all: does the service export with the OTLP exporter to OTEL_EXPORTER_OTLP_ENDPOINT, "
                "with OTEL_TRACES_SAMPLER_ARG=1.0, and flush before the check reads?",
                expected=[op.name for op in spec.operations],
                actual="0 spans",
                query=query,
                link=link,
            )
        ]
    return (
        check_span_presence(spec, spans, query=query, link=link)
        + check_span_parents(spec, spans, trace_url=trace_url, query=query)
        + check_span_attributes(spec, spans, trace_url=trace_url, query=query)
        + check_span_status(spec, spans, trace_url=trace_url, query=query)
    )


def check_span_redaction(
    redaction: RedactionSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = "", where: str = ""
) -> list[Finding]:
    """No secret value, secret-shaped string or unmasked sensitive key in span attributes or events."""
    where = where or redaction.loc or "spans.redaction"
    if not spans:
        return [
            Finding("spans.redaction", where, "no span arrived, so span attributes could not be checked for secrets",
                    expected="at least one span", actual="0 spans", query=query)
        ]
    findings = []
    reported: set[str] = set()
    for span in spans:
        data: dict[str, Any] = dict(span.attributes)
        for i, event in enumerate(span.events):
            data[f"event[{i}]"] = event
        for key, value in _flatten(data):
            leaf = re.split(r"[.\[]", key)[-1] if "." in key or "[" in key else key
            hits = find_secrets(redaction, str(value), {leaf: value})
            for rule, shown in hits:
                if rule in reported:
                    continue
                reported.add(rule)
                findings.append(
                    Finding(
                        "spans.redaction",
                        where,
                        f"{rule} appears in span {span.name!r} (attribute {key!r}, trace {span.trace_id}): "
                        "redact it before setting the attribute",
                        expected="no secret in span attributes",
                        actual=shown,
                        query=query,
                        link=_trace_link(trace_url, span.trace_id),
                    )
                )
    return findings


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for k, v in data.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(data, list | tuple):
        out = []
        for i, v in enumerate(data):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, data)]


def check_sampling(
    spec: SamplingSpec,
    exchanges: Sequence[HttpExchange],
    spans: Sequence[Span],
    *,
    trace_url: str = "",
    query: str = "",
) -> list[Finding]:
    """The share of requests whose trace arrived matches ``run_rate``; error responses are always traced
    when ``always_sample_errors``. Trace ids are those the requests' W3C traceparent carried."""
    where = spec.loc or "spans.sampling"
    if not exchanges:
        return [Finding("spans.sampling", where, "no request was made, so sampling could not be checked",
                        expected="workload requests", actual="0 requests")]
    traced = {s.trace_id for s in spans}
    ids = [(x, x.trace_id) for x in exchanges]
    sampled = [x for x, t in ids if t and t in traced]
    n, k, p = len(exchanges), len(sampled), spec.run_rate
    findings = []
    # Accept k within 4 standard deviations of the binomial mean; at p = 1 or 0 that is exact.
    sigma = math.sqrt(n * p * (1 - p))
    if abs(k - n * p) > max(4 * sigma, 1e-9):
        missing = [x for x, t in ids if not (t and t in traced)]
        first = f"; first untraced: {missing[0].method} {missing[0].url}" if missing else ""
        findings.append(
            Finding(
                "spans.sampling",
                where,
                f"{k} of {n} requests have their trace in the backend at sample rate {p}{first}"
                f"{' (set ' + spec.env + '=' + str(p) + ')' if spec.env else ''}",
                expected=f"about {n * p:.0f} of {n}",
                actual=k,
                query=query,
            )
        )
    if spec.always_sample_errors:
        errors = [(x, t) for x, t in ids if x.status >= 400]
        lost = [(x, t) for x, t in errors if not (t and t in traced)]
        if not errors:
            findings.append(
                Finding("spans.sampling", where, "no error response in the workload, so 'always sample errors' was "
                        "not exercised: add e.g. GET /api/fail?status=500", expected=">= 1 error response", actual=0)
            )
        elif lost:
            x, t = lost[0]
            findings.append(
                Finding(
                    "spans.sampling",
                    where,
                    f"{len(lost)} of {len(errors)} error responses were not traced although errors are always "
                    f"sampled; first: {x.method} {x.url} -> {x.status}",
                    expected="every error traced",
                    actual=f"{len(errors) - len(lost)} traced",
                    query=query,
                    link=_trace_link(trace_url, t or ""),
                )
            )
    return findings

