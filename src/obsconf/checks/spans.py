"""Pure checks of spans: names present, parent-child tree, kinds, attributes, status rules, resource.

Sampling is checked in :mod:`.sampling`, secrets in span attributes in :mod:`.redaction`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from obsconf.checks._common import describe, trace_link
from obsconf.contract.model import AttributeSpec, ResourceSpec, SpanSpec, SpansSpec, StatusRule
from obsconf.contract.valuetypes import type_ok
from obsconf.model import Finding, Span


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


def _unseen(check: str, op: SpanSpec, what: str, query: str) -> Finding:
    return Finding(check, op.loc or f"spans {op.name}", f"no span named {op.name!r} arrived, so its {what} could not "
                   "be checked: does the workload make the service run that operation?", expected=op.name,
                   actual="absent", query=query)


def check_span_parents(
    spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = ""
) -> list[Finding]:
    """Each expected span hangs under the expected parent (by name or kind), or is a root if so stated."""
    index = _index(spans)
    findings = []
    for op in spec.operations:
        instances = [s for s in spans if s.name == op.name]
        if not instances:
            findings.append(_unseen("spans.parent", op, "parent", query))
            continue
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
                    link=trace_link(trace_url, span.trace_id),
                )
            )
    return findings


def check_span_kinds(spec: SpansSpec, spans: Sequence[Span], *, trace_url: str = "", query: str = "") -> list[Finding]:
    """Each expected span with a ``kind`` has that span kind (an internal span is not a server span)."""
    findings = []
    for op in spec.operations:
        if op.kind is None:
            continue
        instances = [s for s in spans if s.name == op.name]
        if not instances:
            findings.append(_unseen("spans.kind", op, "kind", query))
            continue
        bad = [s for s in instances if s.kind != op.kind]
        if bad:
            findings.append(
                Finding(
                    "spans.kind",
                    op.loc or f"spans {op.name}",
                    f"span {op.name!r} has kind {bad[0].kind!r} in {len(bad)} of {len(instances)} spans, the "
                    f"contract says {op.kind!r} (first in trace {bad[0].trace_id}): start it with "
                    f"SpanKind.{op.kind.upper()}",
                    expected=op.kind,
                    actual=bad[0].kind,
                    query=query,
                    link=trace_link(trace_url, bad[0].trace_id),
                )
            )
    return findings


def attribute_problem(attr: AttributeSpec, attributes: dict[str, Any]) -> str | None:
    """What is wrong with ``attr`` in ``attributes`` (absent, wrong type, value), or None."""
    return _attribute_problem(attr, attributes)


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
        if not instances and op.attributes:
            findings.append(_unseen("spans.attributes", op, "attributes", query))
            continue
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
                        link=trace_link(trace_url, span.trace_id),
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
        if rule.present:
            findings += _present_rule(rule, candidates, where, trace_url, query)
            continue
        assert rule.gte is not None
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
                    link=trace_link(trace_url, span.trace_id),
                )
            )
    return findings


def _present_rule(rule: StatusRule, spans: Sequence[Span], where: str, trace_url: str, query: str) -> list[Finding]:
    """Spans carrying one of the rule's attributes (a failed operation's ``error.type``) have its status."""
    names = " or ".join(rule.attribute)
    marked = [s for s in spans if any(a in s.attributes for a in rule.attribute)]
    if not marked:
        return [Finding("spans.status", where, f"no {rule.span_kind or ''} span carrying {names} arrived: no failed "
                        "operation was exercised; add a request that makes an operation fail to the workload (e.g. "
                        "a missing resource)", expected=f"spans with {names}", actual="none", query=query)]
    bad = [s for s in marked if s.status != rule.status]
    if not bad:
        return []
    first = bad[0]
    return [Finding("spans.status", where, f"{len(bad)} of {len(marked)} spans of failed operations (they carry "
                    f"{names}) do not have status {rule.status!r}; first: {first.name!r} (set the span status when "
                    "the operation fails)", expected=rule.status, actual=first.status, query=query,
                    link=trace_link(trace_url, first.trace_id))]


def check_span_resource(spec: ResourceSpec, spans: Sequence[Span], *, where: str = "", query: str = "",
                        trace_url: str = "") -> list[Finding]:
    """Every span carries each resource attribute (``service.version`` ...) with its type and value."""
    where = where or spec.loc or "spans.resource"
    if not spans:
        return [Finding("spans.resource", where, "no span arrived, so the resource attributes could not be checked",
                        expected=[a.name for a in spec.attributes], actual="0 spans", query=query)]
    findings = []
    for attr in spec.attributes:
        bad = [(s, p) for s in spans if (p := _attribute_problem(attr, s.resource)) is not None]
        if bad:
            span, actual = bad[0]
            findings.append(Finding(
                "spans.resource", attr.loc or where,
                f"resource attribute {attr.name!r} is missing or wrong on {len(bad)} of {len(spans)} spans (the "
                f"resource has: {', '.join(sorted(span.resource)) or 'nothing'}): set it on the tracer provider's "
                "resource (OTEL_RESOURCE_ATTRIBUTES or the SDK's Resource)",
                expected=f"{attr.name}: {attr.type}" + (f" = {attr.equals!r}" if attr.equals is not None else ""),
                actual=f"{attr.name}: {actual}", query=query, link=trace_link(trace_url, span.trace_id)))
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
    # parents, kinds and attributes of the spans that arrived; a missing span is one presence finding
    names = {s.name for s in spans}
    seen = SpansSpec(operations=tuple(op for op in spec.operations if op.name in names))
    return (
        check_span_presence(spec, spans, query=query, link=link)
        + check_span_parents(seen, spans, trace_url=trace_url, query=query)
        + check_span_kinds(seen, spans, trace_url=trace_url, query=query)
        + check_span_attributes(seen, spans, trace_url=trace_url, query=query)
        + check_span_status(spec, spans, trace_url=trace_url, query=query)
    )
