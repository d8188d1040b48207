"""Pure checks of log lines: schema, levels, secrets, trace ids, expected events, store schema, delivery.

Problems are grouped (one finding per field and problem, with a count and the first offending line)
so a run over thousands of lines stays readable. No data is a finding, never a pass.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from obsconf.checks._common import clip, describe, get_field, is_missing, mask, type_ok
from obsconf.contract.model import (
    ContextSpec,
    CorrelationSpec,
    DeliverySpec,
    LogEventSpec,
    LogsSpec,
    LogStoreSpec,
    RedactionSpec,
)
from obsconf.model import Finding, LogRecord


def _no_data(check: str, where: str, what: str, query: str, link: str) -> Finding:
    return Finding(
        check=check,
        where=where,
        message=f"no log line arrived, so {what} could not be checked: does the service push its log lines to "
        "LOKI_PUSH_URL (or write them to stdout, with logs.source: console), with the stream labels of "
        "logs.stream, and did the workload run?",
        expected="at least one log line",
        actual="0 lines",
        query=query,
        link=link,
    )


class _Grouper:
    """Collects (key -> count, first example) so one finding covers every line with the same problem."""

    def __init__(self) -> None:
        self.count: Counter[tuple[Any, ...]] = Counter()
        self.first: dict[tuple[Any, ...], tuple[str, Any]] = {}

    def add(self, key: tuple[Any, ...], line: str, actual: Any) -> None:
        self.count[key] += 1
        self.first.setdefault(key, (line, actual))


def check_log_schema(
    spec: LogsSpec,
    records: Sequence[LogRecord],
    *,
    where: str = "",
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Every line is JSON, has each required field with its type, and a level from ``spec.levels``."""
    where = where or spec.loc or "logs"
    if not records:
        return [_no_data("logs.schema", where, "the log schema", query, link)]
    total = len(records)
    not_json = _Grouper()
    missing = _Grouper()
    wrong = _Grouper()
    bad_level = _Grouper()
    for rec in records:
        if not rec.fields:
            not_json.add(("json",), rec.line, rec.line)
            continue
        for name, wanted in spec.required_fields.items():
            value = get_field(rec.fields, name)
            if is_missing(value):
                missing.add((name, wanted), rec.line, None)
            elif not type_ok(value, wanted):
                wrong.add((name, wanted), rec.line, describe(value))
        if spec.levels:
            level = get_field(rec.fields, spec.level_field)
            if is_missing(level) or level not in spec.levels:
                bad_level.add(("level",), rec.line, None if is_missing(level) else level)
    findings: list[Finding] = []
    for key, n in not_json.count.items():
        line, _ = not_json.first[key]
        findings.append(
            Finding(
                "logs.schema",
                where,
                f"{n} of {total} log lines are not JSON objects (format: json); first: {clip(line)}",
                expected="a JSON object per line",
                actual=clip(line, 120),
                query=query,
                link=link,
            )
        )
    for (name, wanted), n in missing.count.items():
        line, _ = missing.first[(name, wanted)]
        findings.append(
            Finding(
                "logs.schema",
                where,
                f"required field {name!r} is missing in {n} of {total} log lines; first: {clip(line)}",
                expected=f"{name}: {wanted}",
                actual="absent",
                query=query,
                link=link,
            )
        )
    for (name, wanted), n in wrong.count.items():
        line, actual = wrong.first[(name, wanted)]
        findings.append(
            Finding(
                "logs.schema",
                where,
                f"field {name!r} has the wrong type in {n} of {total} log lines; first: {clip(line)}",
                expected=f"{name}: {wanted}",
                actual=f"{name}: {actual}",
                query=query,
                link=link,
            )
        )
    for key, n in bad_level.count.items():
        line, actual = bad_level.first[key]
        seen = sorted({str(get_field(r.fields, spec.level_field)) for r in records if r.fields} - set(spec.levels))
        findings.append(
            Finding(
                "logs.levels",
                where,
                f"{n} of {total} log lines have a {spec.level_field!r} outside the allowed levels "
                f"(seen: {', '.join(seen)}); first: {clip(line)}",
                expected=list(spec.levels),
                actual=actual,
                query=query,
                link=link,
            )
        )
    return findings


def _walk_keys(data: Any, prefix: str = "") -> Iterable[tuple[str, str, Any]]:
    """(key, dotted path, value) for every key at any depth of a JSON value."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield str(key), path, value
            yield from _walk_keys(value, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk_keys(value, f"{prefix}[{i}]")


def find_secrets(redaction: RedactionSpec, text: str, data: Any = None) -> list[tuple[str, str]]:
    """(rule, shown value) for each secret found in ``text`` (raw) and each masked field in ``data``."""
    hits: list[tuple[str, str]] = []
    for value in redaction.values:
        if value and value in text:
            hits.append((f"secret value {mask(value)}", mask(value)))
    for pattern in redaction.patterns:
        m = re.search(pattern, text)
        if m:
            hits.append((f"secret pattern /{pattern}/", mask(m.group(0))))
    if redaction.fields and data is not None:
        for key, path, value in _walk_keys(data):
            masked = redaction.fields.get(key)
            if masked is not None and value != masked and value not in (None, ""):
                hits.append((f"field {path!r} not masked as {masked!r}", mask(str(value))))
    return hits


def scrub(redaction: RedactionSpec, text: str) -> str:
    """``text`` with every secret value and secret-shaped match replaced by ``***`` (for messages)."""
    for value in redaction.values:
        if value:
            text = text.replace(value, "***")
    for pattern in redaction.patterns:
        text = re.sub(pattern, "***", text)
    return text


def check_log_redaction(
    redaction: RedactionSpec,
    records: Sequence[LogRecord],
    *,
    where: str = "",
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """No secret value, secret-shaped string or unmasked sensitive field in any log line."""
    where = where or redaction.loc or "logs.redaction"
    if not records:
        return [_no_data("logs.redaction", where, "secret redaction", query, link)]
    groups = _Grouper()
    for rec in records:
        for rule, shown in find_secrets(redaction, rec.line, rec.fields):
            groups.add((rule,), rec.line, shown)
    findings = []
    for (rule,), n in groups.count.items():
        line, shown = groups.first[(rule,)]
        findings.append(
            Finding(
                "logs.redaction",
                where,
                f"{rule} appears in {n} log line(s): the service must redact it before logging; "
                f"first line (secrets masked here): {clip(scrub(redaction, line))}",
                expected="no secret in any log line",
                actual=shown,
                query=query,
                link=link,
            )
        )
    return findings


def _exempt(spec: CorrelationSpec, rec: LogRecord) -> bool:
    for match in spec.exempt:
        value = get_field(rec.fields, match.field)
        if not is_missing(value) and re.search(match.pattern, str(value)):
            return True
    return False


def check_log_trace_ids(
    spec: CorrelationSpec,
    records: Sequence[LogRecord],
    *,
    where: str = "",
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Every non-exempt log line carries a 32-hex trace id and a 16-hex span id."""
    where = where or spec.loc or "logs.correlation"
    if not records:
        return [_no_data("logs.trace_id", where, "trace ids in log lines", query, link)]
    checked = [r for r in records if not _exempt(spec, r)]
    if not checked:
        return [
            Finding(
                "logs.trace_id",
                where,
                f"all {len(records)} log lines are exempt from trace correlation, so none was checked: "
                "the workload produced no request log line",
                expected="request log lines with trace ids",
                actual="only exempt lines",
                query=query,
                link=link,
            )
        ]
    groups = _Grouper()
    for rec in checked:
        for field_name, wanted in ((spec.trace_id_field, "hex32"), (spec.span_id_field, "hex16")):
            value = get_field(rec.fields, field_name)
            if is_missing(value):
                groups.add((field_name, wanted, "missing"), rec.line, "absent")
            elif not type_ok(value, wanted):
                groups.add((field_name, wanted, "malformed"), rec.line, describe(value))
    findings = []
    for (field_name, wanted, problem), n in groups.count.items():
        line, actual = groups.first[(field_name, wanted, problem)]
        findings.append(
            Finding(
                "logs.trace_id",
                where,
                f"{n} of {len(checked)} request log lines have {'no' if problem == 'missing' else 'a malformed'} "
                f"{field_name!r} ({wanted}): emit it from the active span context; first: {clip(line)}",
                expected=f"{field_name}: {wanted}",
                actual=actual,
                query=query,
                link=link,
            )
        )
    return findings


def _event_matches(event: LogEventSpec, message_field: str, level_field: str, rec: LogRecord) -> bool:
    if not rec.fields:
        return False
    message = get_field(rec.fields, message_field)
    if is_missing(message) or not re.search(event.message, str(message)):
        return False
    if event.level is not None and get_field(rec.fields, level_field) != event.level:
        return False
    for path, pattern in event.match.items():
        value = get_field(rec.fields, path)
        if is_missing(value) or not re.search(pattern, str(value)):
            return False
    return True


def check_log_events(
    spec: LogsSpec,
    records: Sequence[LogRecord],
    *,
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Each expected event (level + message regex) occurs ``min_count`` times with its typed fields."""
    if not spec.events:
        return [Finding("logs.events", spec.loc or "logs.events", "the contract names no event, so none was checked",
                        expected="logs.events", actual="none")]
    if not records:
        return [_no_data("logs.events", spec.loc or "logs.events", "the expected events", query, link)]
    findings = []
    for event in spec.events:
        where = event.loc or f"logs.events {event.name}"
        matches = [r for r in records if _event_matches(event, spec.message_field, spec.level_field, r)]
        if len(matches) < event.min_count:
            near = [
                r.line
                for r in records
                if r.fields and re.search(event.message, str(get_field(r.fields, spec.message_field)))
            ]
            hint = f"; a line with that message but another level: {clip(near[0])}" if near else ""
            findings.append(
                Finding(
                    "logs.events",
                    where,
                    f"event {event.name!r} (level {event.level or 'any'}, message /{event.message}/) was logged "
                    f"{len(matches)} time(s) in {len(records)} lines{hint}",
                    expected=f">= {event.min_count}",
                    actual=len(matches),
                    query=query,
                    link=link,
                )
            )
            continue
        for name, wanted in event.fields.items():
            bad = [r for r in matches if not _value_ok(get_field(r.fields, name), wanted, event, name)]
            if bad:
                value = get_field(bad[0].fields, name)
                pinned = (f" = {event.equals[name]!r}" if name in event.equals
                          else f" ~ /{event.patterns[name]}/" if name in event.patterns else "")
                findings.append(
                    Finding(
                        "logs.events",
                        where,
                        f"event {event.name!r}: field {name!r} is missing or not {wanted}{pinned} in {len(bad)} of "
                        f"{len(matches)} lines; first: {clip(bad[0].line)}",
                        expected=f"{name}: {wanted}{pinned}",
                        actual="absent" if is_missing(value) else describe(value),
                        query=query,
                        link=link,
                    )
                )
    return findings


def _value_ok(value: Any, wanted: str, event: LogEventSpec, name: str) -> bool:
    if not type_ok(value, wanted):
        return False
    if name in event.equals and value != event.equals[name]:
        return False
    return not (name in event.patterns and not re.search(event.patterns[name], str(value)))


def check_log_context(
    spec: ContextSpec,
    records: Sequence[LogRecord],
    trace_ids: Sequence[str],
    *,
    trace_id_field: str = "trace_id",
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Every log line of each request (its trace id is one of ``trace_ids``) carries each context field with a
    non-empty value: the request's context reaches all its events, not only the first."""
    where = spec.loc or "logs.context"
    wanted = {t.lower() for t in trace_ids if t}
    lines = [r for r in records if r.fields and str(get_field(r.fields, trace_id_field)).lower() in wanted]
    if not lines:
        return [Finding("logs.context", where, f"no log line of the workload's requests arrived ({len(records)} lines, "
                        f"{len(wanted)} request trace ids), so the context fields could not be checked: the lines "
                        f"must carry the request's trace id in {trace_id_field!r}", expected="request log lines",
                        actual="0 lines", query=query, link=link)]
    findings = []
    for name in spec.fields:
        bad = [r for r in lines if is_missing(value := get_field(r.fields, name)) or value in (None, "")]
        if bad:
            traces = {str(get_field(r.fields, trace_id_field)) for r in bad}
            findings.append(Finding(
                "logs.context", where,
                f"{len(bad)} of {len(lines)} log lines of {len(traces)} request(s) lack {name!r}: every event of a "
                f"request must carry it, not only one (bind it to the request's logging context); first: "
                f"{clip(bad[0].line)}", expected=f"{name} on every line of a request", actual="absent or empty",
                query=query, link=link))
    return findings


def check_store_indexes(store: LogStoreSpec, indexes: Sequence[str] | None, *, query: str = "",
                        link: str = "") -> list[Finding]:
    """The store's collection has every index the contract lists (compared without case and spacing)."""
    where = store.loc or f"logs.store {store.collection}"
    if not store.indexes:
        return []
    if indexes is None:
        return [Finding("logs.store", where, f"the definition of collection {store.collection!r} could not be read, "
                        "so its indexes could not be checked: does the collection exist?",
                        expected=list(store.indexes), actual="no collection", query=query, link=link)]

    def norm(sql: str) -> str:
        return re.sub(r"\s+", " ", sql.replace("`", "").replace('"', "")).strip().rstrip(";").lower()

    have = {norm(i) for i in indexes}
    missing = [i for i in store.indexes if norm(i) not in have]
    if not missing:
        return []
    return [Finding("logs.store", where, f"collection {store.collection!r} lacks {len(missing)} of the "
                    f"{len(store.indexes)} indexes of the contract; first missing: {missing[0]}",
                    expected=list(store.indexes), actual=list(indexes), query=query, link=link)]


def check_log_store(
    store: LogStoreSpec,
    records: Sequence[LogRecord],
    *,
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Records in the log store (e.g. PocketBase ``daemon_logs``) have the seed's fields, types and levels."""
    where = store.loc or f"logs.store {store.collection}"
    if not records:
        return [
            Finding(
                "logs.store",
                where,
                f"no record arrived in {store.kind} collection {store.collection!r}: does the service upload "
                "its log records to POCKETBASE_URL (or the variable of its pocketbase dependency), and flush them?",
                expected="at least one record",
                actual="0 records",
                query=query,
                link=link,
            )
        ]
    as_logs = LogsSpec(format="json", required_fields=store.required_fields, levels=store.levels, loc=where)
    return [
        Finding(f.check.replace("logs.schema", "logs.store").replace("logs.levels", "logs.store"), f.where, f.message,
                f.expected, f.actual, f.query, f.link)
        for f in check_log_schema(as_logs, records, where=where, query=query, link=link)
    ]


def check_log_delivery(
    spec: DeliverySpec,
    records_by_sink: Mapping[str, Sequence[LogRecord]],
    emitted: int,
    *,
    first_seq: int = 0,
    queries: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    where: str = "",
) -> list[Finding]:
    """Every line emitted by ``emit`` steps (seq ``first_seq .. first_seq+emitted-1``) arrived in each sink,
    once. ``records_by_sink`` maps a sink name ("loki", "pocketbase") to the records read from it."""
    where = where or spec.loc or "logs.delivery"
    queries = queries or {}
    links = links or {}
    if emitted <= 0:
        return [Finding("logs.delivery", where, "no numbered line was emitted, so delivery could not be counted: add "
                        "an 'emit' step (emit: {n: 250}) to the workload", expected="emitted lines", actual="0")]
    wanted = set(range(first_seq, first_seq + emitted))
    findings = []
    for sink in spec.sinks:
        records = records_by_sink.get(sink)
        if records is None:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"no records were read from sink {sink!r}; the caller must read every sink the contract names",
                    expected=list(spec.sinks),
                    actual=sorted(records_by_sink),
                )
            )
            continue
        seen: Counter[int] = Counter()
        for rec in records:
            value = get_field(rec.fields, spec.seq_field) if rec.fields else None
            if isinstance(value, int) and not isinstance(value, bool):
                seen[value] += 1
        missing = sorted(wanted - set(seen))
        dupes = sorted(s for s in wanted if seen[s] > 1)
        if missing:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"{len(missing)} of {emitted} emitted lines never arrived in {sink} "
                    f"(first missing {spec.seq_field}: {missing[:10]}): lines were dropped",
                    expected=f"{emitted} lines",
                    actual=f"{emitted - len(missing)} lines",
                    query=queries.get(sink, ""),
                    link=links.get(sink, ""),
                )
            )
        if dupes and not spec.allow_duplicates:
            findings.append(
                Finding(
                    "logs.delivery",
                    where,
                    f"{len(dupes)} emitted lines arrived more than once in {sink} (first {spec.seq_field}: "
                    f"{dupes[:10]}): a retried batch was not de-duplicated",
                    expected="each line once",
                    actual={s: seen[s] for s in dupes[:10]},
                    query=queries.get(sink, ""),
                    link=links.get(sink, ""),
                )
            )
    return findings


def check_logs(spec: LogsSpec, records: Sequence[LogRecord], *, query: str = "", link: str = "") -> list[Finding]:
    """Schema, levels, redaction, trace ids (if ``correlation``) and events of the shipped log lines."""
    findings = check_log_schema(spec, records, query=query, link=link)
    if records:
        findings += check_log_redaction(spec.redaction, records, query=query, link=link)
        if spec.correlation is not None:
            findings += check_log_trace_ids(spec.correlation, records, query=query, link=link)
        findings += check_log_events(spec, records, query=query, link=link)
    return findings


def group_by_trace(records: Iterable[LogRecord], trace_id_field: str = "trace_id") -> dict[str, list[LogRecord]]:
    """Log records keyed by their trace id (lines without one are left out)."""
    out: dict[str, list[LogRecord]] = defaultdict(list)
    for rec in records:
        value = get_field(rec.fields, trace_id_field) if rec.fields else None
        if isinstance(value, str) and value:
            out[value].append(rec)
    return dict(out)
