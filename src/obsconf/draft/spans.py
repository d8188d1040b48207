"""Draft the ``spans`` section from the traces of the workload's requests: one operation per span name of
the service, with its kind, its parent (or that it is a root) and the attributes every instance carried,
typed; status rules, sampling and a trace-id response header where the run shows them; semantic
conventions turned off, with the flagged names as the reason, only when the service uses old names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from obsconf.checks.correlation import header
from obsconf.checks.semconv import check_span_semconv
from obsconf.draft.observation import Observation
from obsconf.draft.patterns import common_type, generalize, is_generalized
from obsconf.draft.yamltext import Block, Comments, Entry, Item, Items
from obsconf.live.collect import BY_TRACEPARENT
from obsconf.model import Finding, Span
from obsconf.workload.tracecontext import header_trace_id

STATUS_ATTRIBUTES = ("http.response.status_code", "http.status_code")
# what the workload's client or a library release decides, not the service: never pinned with equals
_NOT_PINNED = ("user_agent.original",)
_DIGIT = re.compile(r"[0-9]")


@dataclass
class SpansDraft:
    block: Block | None
    why_not: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


def _depth(span: Span, index: dict[tuple[str, str], Span]) -> int:
    depth, current, seen = 0, span, set()
    while current.parent_id and (current.trace_id, current.parent_id) in index and current.span_id not in seen:
        seen.add(current.span_id)
        current = index[(current.trace_id, current.parent_id)]
        depth += 1
    return depth


def _example(value: Any, secrets: tuple[str, ...]) -> str:
    text = str(value)
    for secret in secrets:
        text = text.replace(secret, "***")
    return repr(text[:37] + "..." if len(text) > 40 else text) if isinstance(value, str) else text


def _attribute(key: str, values: list[Any], obs: Observation) -> tuple[Any, str] | None:
    """(the contract's attribute value - a type or {type, equals|pattern} -, the evidence comment)."""
    kind = common_type(values, attribute=True)
    if kind is None:
        return None
    n = len(values)
    distinct = list(dict.fromkeys(map(str, values)))
    secrets = obs.request.secrets
    example = _example(values[0], secrets)
    # an exact value only where it is the same on several spans and cannot be this run's own or a release's
    # (a port, an address, a run id, a date, a version): booleans, and strings without digits
    pinnable = key not in _NOT_PINNED and not key.endswith(".version")
    if len(distinct) == 1 and n >= 2 and kind in ("string", "boolean") and pinnable:
        text = distinct[0]
        if kind == "boolean" or not (_DIGIT.search(text) or any(s in text for s in secrets)):
            return {"type": kind, "equals": values[0]}, f"always {example} on {n} of {n} spans"
    if kind == "string" and n >= 2 and len(distinct) > 1:
        patterns = {generalize(v) for v in distinct}
        if len(patterns) == 1 and is_generalized(distinct[0]):
            return {"type": kind, "pattern": patterns.pop()}, f"{len(distinct)} values of one shape, e.g. {example}"
    return kind, f"on {n} of {n} spans, e.g. {example}"


def _operation(name: str, spans: list[Span], index: dict[tuple[str, str], Span], obs: Observation) -> Block:
    n = len(spans)
    kinds = {s.kind for s in spans}
    op = Block([Entry("name", name, f"{n} span(s) in {len({s.trace_id for s in spans})} traces")])
    parents: list[Span | None] = []
    for s in spans:
        parent = index.get((s.trace_id, s.parent_id)) if s.parent_id else None
        parents.append(parent if parent is not None and parent.service == s.service else None)
    if all(p is None for p in parents):
        op.add("root", True, f"no parent in the service's own trace on {n} of {n} spans (the caller's span from "
                             "traceparent is not this service's)")
    elif all(p is not None for p in parents):
        names = sorted({p.name for p in parents if p is not None})
        op.add("parent", names[0] if len(names) == 1 else names, f"child of {' or '.join(names)} on {n} of {n} spans")
    else:
        roots = sum(p is None for p in parents)
        op.entries.append(Entry("", Comments((f"parent: not drafted, a root on {roots} of {n} spans and a child on "
                                              f"{n - roots}",))))
    if len(kinds) == 1:
        op.add("kind", kinds.pop(), f"on {n} of {n} spans")
    attributes = Block()
    common = [k for k in spans[0].attributes if all(k in s.attributes for s in spans)]
    for key in sorted(common):
        drafted = _attribute(key, [s.attributes[key] for s in spans], obs)
        if drafted is not None:
            attributes.add(key, drafted[0], drafted[1])
    if attributes.entries:
        op.add("attributes", attributes)
    return op


def _code(value: Any) -> int | None:
    """A status code as the status-rules check reads it (an int, or a string of one)."""
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _status_rule(spans: Sequence[Span]) -> tuple[Block | None, str]:
    for attribute in STATUS_ATTRIBUTES:
        coded = [(s, c) for s in spans if s.kind == "server" and (c := _code(s.attributes.get(attribute))) is not None]
        if not coded:
            continue
        failed = [s for s, c in coded if c >= 500]
        if not failed:
            return None, (f"status_rules: not drafted, no server span answered 5xx ({len(coded)} carry {attribute}); "
                          "add a failing request to the workload to check that errors are marked")
        wrong = [s for s in failed if s.status != "error"]
        if wrong:
            return None, (f"status_rules: not drafted, {len(wrong)} of {len(failed)} server spans with {attribute} "
                          f">= 500 have status {wrong[0].status!r} (the HTTP conventions want 'error')")
        rule = Block([Entry("attribute", attribute, f"{len(failed)} of {len(failed)} server spans answering 5xx "
                                                    "have status error"),
                      Entry("gte", 500), Entry("status", "error"), Entry("span_kind", "server")])
        return rule, ""
    return None, "status_rules: not drafted, no server span carries an HTTP status code attribute"


def _reason(findings: Sequence[Finding]) -> str:
    parts = []
    for f in findings:
        if f.check.endswith(".deprecated"):
            parts.append(f"{f.actual} (deprecated, {f.expected})")
        else:
            parts.append(f"{f.message.split(' by the semantic')[0].removeprefix('span attribute ')}")
    return "drafted from the service as it is, which uses " + "; ".join(parts)


def semconv_entry(findings: Sequence[Finding], checked: str) -> tuple[Any, str]:
    """The ``semconv`` value (true, or off with the flagged names as the reason) and its evidence."""
    if not findings:
        return True, f"the semantic-conventions check passed on the {checked} of this run"
    flagged = sorted({str(f.actual) for f in findings if f.check.endswith(".deprecated")})
    return ({"enabled": False, "reason": _reason(findings)},
            "TODO: move to the current names" + (f" ({', '.join(flagged)})" if flagged else "")
            + ", then write 'semconv: true'")


def _response_header(obs: Observation) -> str | None:
    exchanges = obs.collected.exchanges
    if not exchanges or not all(x.trace_id for x in exchanges):
        return None
    for name in exchanges[0].headers:
        if all((v := header(x, name)) is not None and header_trace_id(v) == x.trace_id for x in exchanges):
            return name
    return None


def spans_section(obs: Observation) -> SpansDraft:
    """The ``spans`` section, or why there is none."""
    got = obs.collected
    name = obs.request.name
    # only the requests' own traces: traces named by other log lines (a readiness probe, a scrape) come and
    # go with timing, so an operation seen only there would not arrive in every run
    sent = obs.sent_trace_ids if got.trace_lookup == BY_TRACEPARENT else set(got.traces)
    ours = [s for s in got.spans if s.service == name and s.trace_id in sent]
    if not ours:
        others = sorted({s.service for s in got.spans})
        hint = (f"; spans arrived under the service name(s) {', '.join(others)}: draft with --name {others[0]}"
                if others else "; does the service export OTLP to OTEL_EXPORTER_OTLP_ENDPOINT and propagate W3C "
                "traceparent?")
        return SpansDraft(None, (f"spans: not drafted, no span of service {name!r} arrived{hint}",))
    index = {(s.trace_id, s.span_id): s for s in got.spans}
    by_name: dict[str, list[Span]] = {}
    for s in sorted(ours, key=lambda s: (_depth(s, index), s.start_us)):
        by_name.setdefault(s.name, []).append(s)
    block = Block()
    notes: list[str] = []
    if got.trace_lookup != BY_TRACEPARENT:
        notes.append("the service did not join the traceparent sent with each request: spans were read by service "
                     "name in the run's window, so sampling and correlation are not drafted")
    block.add("operations", Items([Item(_operation(n, spans, index, obs)) for n, spans in by_name.items()]),
              f"{len(by_name)} span names of service {name!r} in the traces of the workload's requests",
              above=tuple(notes))
    rule, why = _status_rule(ours)
    left_out = [why] if why else []
    if rule is not None:
        block.add("status_rules", Items([Item(rule)]))
    traced = [x for x in got.exchanges if x.trace_id and x.trace_id in got.traces]
    if got.trace_lookup == BY_TRACEPARENT and got.exchanges and len(traced) == len(got.exchanges):
        block.add("sampling", {"run_rate": 1.0}, f"{len(traced)} of {len(got.exchanges)} requests traced at rate 1.0")
    else:
        left_out.append(f"sampling: not drafted, {len(traced)} of {len(got.exchanges)} requests have their trace in "
                        "Jaeger")
    value, comment = semconv_entry(check_span_semconv(got.spans), f"{len(got.spans)} spans")
    block.add("semconv", value, comment)
    header_name = _response_header(obs)
    if header_name:
        block.add("response_header", header_name, f"names the request's trace on {len(got.exchanges)} of "
                                                  f"{len(got.exchanges)} responses")
    if left_out:
        block.entries.append(Entry("", Comments(tuple(left_out))))
    return SpansDraft(block)
