"""Draft the ``logs`` section from the lines that arrived: source, stream labels, format, levels, required
fields, trace correlation, redaction canaries and the events the workload's requests logged.

Everything is decided so that the draft passes against the same service and workload: a field is required
only when every line read had it, an event's ``min_count`` is the count seen within the requests, lines
outside any request are exempted from correlation by their message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from obsconf.contract.valuetypes import type_ok
from obsconf.draft.observation import Observation
from obsconf.draft.patterns import alternation, common_type, generalize
from obsconf.draft.yamltext import Block, Comments, Entry, Item, Items
from obsconf.model import LogRecord, get_field, is_missing

LEVEL_FIELDS = ("level", "severity", "levelname", "log.level", "lvl", "severity_text", "loglevel")
MESSAGE_FIELDS = ("message", "msg", "event", "@message", "log")
TRACE_FIELD_HINTS = ("trace_id", "traceId", "trace.id", "traceid", "otelTraceID", "dd.trace_id")
# labels that name a service in a Loki stream; the first whose value is the service name selects the stream
STREAM_KEYS = ("service_name", "service", "app", "application", "job", "service.name")
_SEVERITY = {name: rank for rank, names in enumerate((
    ("trace",), ("debug",), ("info",), ("notice",), ("warn", "warning"), ("error", "err"),
    ("critical", "crit"), ("alert",), ("fatal", "panic", "emergency"))) for name in names}
MAX_EVENTS = 25


@dataclass
class LogsDraft:
    """The drafted section (None when no usable line arrived) and what the rest of the draft must know."""

    block: Block | None
    why_not: tuple[str, ...] = ()  # comment lines when ``block`` is None
    warnings: list[str] = field(default_factory=list)  # said on stderr too: the draft fails as it is


def _records_with_id(records: list[LogRecord], ids: set[str]) -> list[LogRecord]:
    return [r for r in records if any(t in r.line for t in ids)]


def find_stream(lines: list[LogRecord], name: str, trace_ids: set[str]) -> tuple[dict[str, str], list[LogRecord]]:
    """The stream labels that select this service's lines in the log store, and those lines (all time read).

    Ours are lines that carry a trace id of the workload's requests, or a label whose value is the service
    name; the selector is one label naming the service when there is one, else every label those lines share."""
    ours = _records_with_id(lines, trace_ids) or [r for r in lines if name in r.labels.values()]
    if not ours:
        return {}, []
    shared = dict(ours[0].labels)
    for rec in ours[1:]:
        shared = {k: v for k, v in shared.items() if rec.labels.get(k) == v}
    naming = [k for k in STREAM_KEYS if shared.get(k) == name] + sorted(k for k, v in shared.items() if v == name)
    stream = {naming[0]: name} if naming else shared
    if not stream:
        return {}, []
    return stream, [r for r in lines if all(r.labels.get(k) == v for k, v in stream.items())]


def _pick_field(records: list[LogRecord], candidates: tuple[str, ...], ok: Any) -> str | None:
    """The first candidate field that every record has with a value ``ok`` accepts."""
    for name in candidates:
        if all(not is_missing(v := get_field(r.fields, name)) and ok(v) for r in records):
            return name
    return None


def _is_level(value: Any) -> bool:
    return isinstance(value, str) and value.lower() in _SEVERITY


def _ids_field(records: list[LogRecord], ids: set[str], hints: tuple[str, ...]) -> tuple[str | None, int]:
    """The top-level field whose values are these ids in the most lines (hinted names first on ties)."""
    counts: Counter[str] = Counter()
    for rec in records:
        for key, value in rec.fields.items():
            if isinstance(value, str) and value.lower() in ids:
                counts[key] += 1
    if not counts:
        return None, 0
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] in hints))
    return best


@dataclass
class _Sources:
    chosen: tuple[str, ...]
    window: list[LogRecord]  # lines of the workload window, from every chosen source
    every: list[LogRecord]  # every line read from the chosen sources, start-up lines included
    stream: dict[str, str]
    evidence: str
    skipped: list[str]


def _choose_sources(obs: Observation) -> _Sources:
    got = obs.collected
    name = obs.request.name
    stream, store_all = find_stream(obs.store_lines, name, obs.sent_trace_ids)
    store_window = [r for r in store_all if r.timestamp_ns >= got.started_ns]
    candidates = {
        "loki": (store_window, store_all, "in the log store"),
        "console": (list(got.console), list(obs.console_lines), "on stdout"),
    }
    chosen, window, every, said, skipped = [], [], [], [], []
    for source, (win, all_lines, where) in candidates.items():
        if not win:
            if source == "console" and not got.started_by_obsconf:
                skipped.append("stdout: obsconf did not start the service, so it cannot read it")
            else:
                skipped.append(f"{where}: no line arrived while the workload ran")
            continue
        not_json = [r for r in win if not r.fields]
        if not_json:
            example = not_json[0].line
            for secret in obs.request.secrets:
                example = example.replace(secret, "***")
            skipped.append(f"{where}: {len(not_json)} of {len(win)} lines are not JSON objects "
                           f"(e.g. {example[:60]!r}), and a contract reads JSON lines")
            continue
        chosen.append(source)
        window += win
        every += [r for r in all_lines if r.fields]
        said.append(f"{len(win)} JSON lines {where}")
    evidence = " and ".join(said) + " while the workload ran"
    return _Sources(tuple(chosen), window, every, stream if "loki" in chosen else {}, evidence, skipped)


def _levels(records: list[LogRecord], level_field: str) -> tuple[list[str], str]:
    seen = Counter(str(get_field(r.fields, level_field)) for r in records)
    ordered = sorted(seen, key=lambda v: (_SEVERITY.get(v.lower(), 99), v))
    counts = ", ".join(f"{v} {seen[v]}" for v in ordered)
    return ordered, f"seen: {counts}; add the levels your logger writes on paths this workload missed"


def _required(records: list[LogRecord], skip: set[str]) -> tuple[dict[str, str], list[str]]:
    """Top-level fields every line has, with the type they all share (and the fields left out, why)."""
    first = records[0].fields
    keys = [k for k in first if k not in skip and all(k in r.fields for r in records)]
    typed, mixed = {}, []
    for key in keys:
        kind = common_type(r.fields[key] for r in records)
        if kind is None:
            mixed.append(key)
        else:
            typed[key] = kind
    return typed, mixed


def _message_of(rec: LogRecord, message_field: str | None) -> str | None:
    if message_field is None:
        return None
    value = get_field(rec.fields, message_field)
    return None if is_missing(value) else str(value)


def _correlation(obs: Observation, src: _Sources, message_field: str | None) -> tuple[Block | None, list[str],
                                                                                      str | None, str | None]:
    """(correlation block, comment lines when left out, trace id field, span id field)."""
    sent = obs.sent_trace_ids
    got = obs.collected
    trace_field, n_traced = _ids_field(src.window, sent, TRACE_FIELD_HINTS)
    if trace_field is None:
        return None, ["correlation: not drafted, no log line carries the trace id of its request (W3C traceparent "
                      "was sent with every request); log the active span's trace and span ids"], None, None
    span_ids: dict[str, set[str]] = {}
    for s in got.spans:
        span_ids.setdefault(s.trace_id, set()).add(s.span_id)
    all_span_ids = {sid for ids in span_ids.values() for sid in ids}
    span_field, _ = _ids_field(src.window, all_span_ids, ("span_id", "spanId", "span.id", "spanid"))
    if span_field is None:
        return None, [f"correlation: not drafted, lines carry the trace id in {trace_field!r} but no field holds the "
                      "id of a span of that trace"], trace_field, None

    def correlated(rec: LogRecord) -> bool:
        return type_ok(get_field(rec.fields, trace_field), "hex32") and type_ok(get_field(rec.fields, span_field),
                                                                                 "hex16")

    outside = [r for r in src.every if not correlated(r)]
    exempt = Items()
    if outside:
        messages = [_message_of(r, message_field) for r in outside]
        if message_field is None or any(m is None for m in messages):
            return None, [f"correlation: not drafted, {len(outside)} lines carry no trace id and no message field "
                          "to exempt them by"], trace_field, span_field
        pattern = alternation([m for m in messages if m is not None])
        exempt.items.append(Item(Block([
            Entry("field", message_field, f"{len(outside)} of {len(src.every)} lines read carry no trace id: "
                                          "outside any request (start-up, shutdown, background)"),
            Entry("pattern", pattern)])))
    # what the correlation case demands: every logged trace id has spans, every span id is one of its trace
    logged: dict[str, list[LogRecord]] = {}
    for rec in src.window:
        if correlated(rec):
            logged.setdefault(str(get_field(rec.fields, trace_field)).lower(), []).append(rec)
    dangling = [t for t in logged if t not in span_ids]
    wrong = [r for t, recs in logged.items() if t in span_ids for r in recs
             if str(get_field(r.fields, span_field)).lower() not in span_ids[t]]
    traced = [x for x in got.exchanges if x.trace_id]
    untraced = [x for x in traced if x.trace_id not in span_ids]
    if dangling or wrong or untraced:
        why = (f"{len(dangling)} logged trace ids have no trace in Jaeger" if dangling else
               f"{len(wrong)} lines name a span that is not in their trace" if wrong else
               f"{len(untraced)} of {len(traced)} requests have no trace under their traceparent's id")
        return None, [f"correlation: not drafted, {why}; the correlation case would fail as the service is"], \
            trace_field, span_field
    silent = [x for x in traced if x.trace_id not in logged]
    block = Block()
    block.add("trace_id_field", trace_field, f"the request's trace id in {n_traced} of {len(src.window)} lines "
                                             "of the workload")
    block.add("span_id_field", span_field, "a span of that trace in every line that has a trace id")
    if exempt.items:
        block.add("exempt", exempt)
    if silent:
        block.add("request_log_required", False, f"{len(silent)} of {len(traced)} requests logged no line "
                                                 f"(e.g. {silent[0].method} {silent[0].url.split('/', 3)[-1]!s:.40})")
    else:
        block.add("request_log_required", True, f"each of the {len(traced)} requests logged a line with its trace id")
    return block, [], trace_field, span_field


def _events(obs: Observation, src: _Sources, message_field: str | None, level_field: str | None,
            trace_field: str | None, skip: set[str]) -> tuple[Items, list[str]]:
    sent = obs.sent_trace_ids
    if message_field is None:
        return Items(), ["events: not drafted, the lines have no message field"]
    in_requests = [r for r in src.window if trace_field is None
                   or str(get_field(r.fields, trace_field)).lower() in sent]
    groups: dict[tuple[str, str | None], list[LogRecord]] = {}
    for rec in in_requests:
        message = _message_of(rec, message_field)
        if message is None:
            continue
        level = None if level_field is None else str(get_field(rec.fields, level_field))
        groups.setdefault((generalize(message), level), []).append(rec)
    items = Items()
    names: set[str] = set()
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    for (pattern, level), recs in ordered[:MAX_EVENTS]:
        message = _message_of(recs[0], message_field) or pattern
        name = message[:48].strip() or pattern
        if name in names:
            name = f"{name} ({level})"
        names.add(name)
        fields = _event_fields(recs, {*skip, message_field, level_field, trace_field})
        requests = {str(get_field(r.fields, trace_field)).lower() for r in recs} if trace_field else set()
        where = f", in {len(requests)} of {len(obs.collected.exchanges)} requests" if trace_field else ""
        ev = Block([Entry("name", name, f"logged {len(recs)} time(s){where}")])
        if level is not None:
            ev.add("level", level)
        ev.add("message", pattern)
        if fields:
            ev.add("fields", fields, "in every line of the event")
        ev.add("min_count", len(recs))
        items.items.append(Item(ev))
    notes = []
    if len(ordered) > MAX_EVENTS:
        notes.append(f"events: the {len(ordered) - MAX_EVENTS} least frequent of {len(ordered)} messages are left out")
    if trace_field is not None:
        outside = sorted({_message_of(r, message_field) or "" for r in src.window if r not in in_requests})
        if outside:
            notes.append("events: lines outside the requests are left out (their count depends on timing): "
                         + ", ".join(repr(m[:40]) for m in outside[:5]))
    return items, notes


def _event_fields(recs: list[LogRecord], skip: set[str | None]) -> dict[str, str]:
    """The fields every line of an event carries (but ``skip``), with the value type they share."""
    fields = {}
    for key in recs[0].fields:
        if key in skip or not all(key in r.fields for r in recs):
            continue
        kind = common_type(r.fields[key] for r in recs)
        if kind is not None:
            fields[key] = kind
    return fields


def _redaction(obs: Observation, src: _Sources) -> tuple[Block, list[str]]:
    secrets = obs.request.secrets
    block = Block()
    if not secrets:
        block.add("values", [], above=("TODO: list the secrets the workload sends (canaries) so this case can fail: "
                                       "obsconf contract draft --secret VALUE, or add them here with their shapes "
                                       "under 'patterns'",))
        return block, []
    sent = _requests_carrying(obs, secrets)
    read = src.window + src.every + obs.store_lines + obs.console_lines + list(obs.collected.console)
    leaks = [s for s in secrets if any(s in r.line for r in read)
             or any(s in str(v) for sp in obs.collected.spans for v in sp.attributes.values())]
    warnings = [f"secret {s[:4]}... already appears in the service's log lines or spans: the redaction cases of "
                "this draft fail as the service is" for s in leaks]
    comment = f"sent in {sent} of {len(obs.collected.exchanges)} requests; " + (
        "ALREADY LEAKED, see the warnings" if leaks else "found in no log line and no span attribute")
    block.add("values", list(secrets), comment)
    return block, warnings


def _requests_carrying(obs: Observation, secrets: tuple[str, ...]) -> int:
    from obsconf.workload.run import expand_steps

    count = 0
    for step in expand_steps(obs.request.steps):
        text = repr(getattr(step, "json", None)) + getattr(step, "path", "") + repr(getattr(step, "headers", {}))
        count += any(s in text for s in secrets)
    return count


def logs_section(obs: Observation) -> LogsDraft:
    """The ``logs`` section, or why there is none."""
    src = _choose_sources(obs)
    if not src.chosen:
        return LogsDraft(None, ("logs: not drafted, no usable log line arrived:", *[f"  {s}" for s in src.skipped],
                                "obsconf sets LOKI_PUSH_URL (Loki push protocol) and reads stdout; JSON lines only"))
    every = src.every
    message_field = _pick_field(every, MESSAGE_FIELDS, lambda v: isinstance(v, str))
    level_field = _pick_field(every, LEVEL_FIELDS, _is_level)
    block = Block()
    source = "both" if len(src.chosen) == 2 else src.chosen[0]
    skipped = f"; not read: {'; '.join(src.skipped)}" if src.skipped else ""
    block.add("source", source, src.evidence + skipped)
    if src.stream:
        block.add("stream", src.stream, "the labels of this service's stream in the log store")
    block.add("format", "json", f"{len(every)} of {len(every)} lines read are JSON objects (start-up lines included)")
    if level_field not in (None, "level"):
        block.add("level_field", level_field, "holds a level name in every line")
    if message_field not in (None, "message"):
        block.add("message_field", message_field, "holds the message in every line")
    correlation, corr_notes, trace_field, span_field = _correlation(obs, src, message_field)
    skip = {f for f in (trace_field, span_field) if f}
    required, mixed = _required(every, skip)
    if required:
        note = f"in every one of the {len(every)} lines read, always of this type"
        if mixed:
            note += f"; left out (their type varies): {', '.join(mixed)}"
        block.add("required_fields", required, note)
    if level_field is not None:
        levels, note = _levels(every, level_field)
        block.add("levels", levels, note)
    redaction, warnings = _redaction(obs, src)
    block.add("redaction", redaction)
    if correlation is not None:
        block.add("correlation", correlation)
    events, event_notes = _events(obs, src, message_field, level_field, trace_field, skip | set(required))
    notes = tuple(corr_notes + event_notes)
    if events.items:
        block.add("events", events, "what the workload's requests logged, with the counts seen", above=notes)
    elif notes:
        block.entries.append(Entry("", Comments(notes)))
    return LogsDraft(block, warnings=warnings)
