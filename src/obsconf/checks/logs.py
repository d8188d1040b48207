"""Pure checks of log lines: schema and levels, trace ids, expected events, request context.

Problems are grouped (one finding per field and problem, with a count and the first offending line)
so a run over thousands of lines stays readable. No data is a finding, never a pass. Secrets are checked in
:mod:`.redaction`, a log store in :mod:`.logstore`, delivery per sink in :mod:`.delivery`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from obsconf.checks._common import ProblemGroups, clip, describe, no_log_lines
from obsconf.checks.redaction import check_log_redaction
from obsconf.contract.model import ContextSpec, CorrelationSpec, LogEventSpec, LogsSpec
from obsconf.contract.valuetypes import type_ok
from obsconf.model import Finding, LogRecord, get_field, is_missing


class _SchemaProblems:
    """The schema problems of a run of log lines, each grouped over the lines that have it."""

    def __init__(self) -> None:
        self.not_json = ProblemGroups()
        self.missing = ProblemGroups()
        self.wrong_type = ProblemGroups()
        self.bad_level = ProblemGroups()

    def read(self, spec: LogsSpec, rec: LogRecord) -> None:
        if not rec.fields:
            self.not_json.add("json", rec.line, rec.line)
            return
        for name, wanted in spec.required_fields.items():
            value = get_field(rec.fields, name)
            if is_missing(value):
                self.missing.add((name, wanted), rec.line, None)
            elif not type_ok(value, wanted):
                self.wrong_type.add((name, wanted), rec.line, describe(value))
        if spec.levels:
            level = get_field(rec.fields, spec.level_field)
            if is_missing(level) or level not in spec.levels:
                self.bad_level.add("level", rec.line, None if is_missing(level) else level)


def check_log_schema(spec: LogsSpec, records: Sequence[LogRecord], *, where: str = "", query: str = "",
                     link: str = "") -> list[Finding]:
    """Every line is JSON, has each required field with its type, and a level from ``spec.levels``."""
    where = where or spec.loc or "logs"
    if not records:
        return [no_log_lines("logs.schema", where, "the log schema", query, link)]
    total = len(records)
    problems = _SchemaProblems()
    for rec in records:
        problems.read(spec, rec)
    findings: list[Finding] = [
        Finding("logs.schema", where, f"{count} of {total} log lines are not JSON objects (format: json); first: "
                f"{clip(line)}", expected="a JSON object per line", actual=clip(line, 120), query=query, link=link)
        for _, count, line, _ in problems.not_json
    ]
    findings += [
        Finding("logs.schema", where, f"required field {name!r} is missing in {count} of {total} log lines; first: "
                f"{clip(line)}", expected=f"{name}: {wanted}", actual="absent", query=query, link=link)
        for (name, wanted), count, line, _ in problems.missing
    ]
    findings += [
        Finding("logs.schema", where, f"field {name!r} has the wrong type in {count} of {total} log lines; first: "
                f"{clip(line)}", expected=f"{name}: {wanted}", actual=f"{name}: {actual}", query=query, link=link)
        for (name, wanted), count, line, actual in problems.wrong_type
    ]
    for _, count, line, actual in problems.bad_level:
        seen = sorted({str(get_field(r.fields, spec.level_field)) for r in records if r.fields} - set(spec.levels))
        findings.append(
            Finding(
                "logs.levels",
                where,
                f"{count} of {total} log lines have a {spec.level_field!r} outside the allowed levels "
                f"(seen: {', '.join(seen)}); first: {clip(line)}",
                expected=list(spec.levels),
                actual=actual,
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


def check_log_trace_ids(spec: CorrelationSpec, records: Sequence[LogRecord], *, where: str = "",
                        query: str = "", link: str = "") -> list[Finding]:
    """Every non-exempt log line carries a 32-hex trace id and a 16-hex span id."""
    where = where or spec.loc or "logs.correlation"
    if not records:
        return [no_log_lines("logs.trace_id", where, "trace ids in log lines", query, link)]
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
    groups = ProblemGroups()
    for rec in checked:
        for field_name, wanted in ((spec.trace_id_field, "hex32"), (spec.span_id_field, "hex16")):
            value = get_field(rec.fields, field_name)
            if is_missing(value):
                groups.add((field_name, wanted, "missing"), rec.line, "absent")
            elif not type_ok(value, wanted):
                groups.add((field_name, wanted, "malformed"), rec.line, describe(value))
    return [
        Finding(
            "logs.trace_id",
            where,
            f"{count} of {len(checked)} request log lines have {'no' if problem == 'missing' else 'a malformed'} "
            f"{field_name!r} ({wanted}): emit it from the active span context; first: {clip(line)}",
            expected=f"{field_name}: {wanted}",
            actual=actual,
            query=query,
            link=link,
        )
        for (field_name, wanted, problem), count, line, actual in groups
    ]


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


def check_log_events(spec: LogsSpec, records: Sequence[LogRecord], *, query: str = "",
                     link: str = "") -> list[Finding]:
    """Each expected event (level + message regex) occurs ``min_count`` times with its typed fields."""
    if not spec.events:
        return [Finding("logs.events", spec.loc or "logs.events", "the contract names no event, so none was checked",
                        expected="logs.events", actual="none")]
    if not records:
        return [no_log_lines("logs.events", spec.loc or "logs.events", "the expected events", query, link)]
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


def check_log_context(spec: ContextSpec, records: Sequence[LogRecord], trace_ids: Sequence[str], *,
                      trace_id_field: str = "trace_id", query: str = "", link: str = "") -> list[Finding]:
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

def check_logs(spec: LogsSpec, records: Sequence[LogRecord], *, query: str = "", link: str = "") -> list[Finding]:
    """Schema, levels, redaction, trace ids (if ``correlation``) and events of the shipped log lines."""
    findings = check_log_schema(spec, records, query=query, link=link)
    if records:
        findings += check_log_redaction(spec.redaction, records, query=query, link=link)
        if spec.correlation is not None:
            findings += check_log_trace_ids(spec.correlation, records, query=query, link=link)
        findings += check_log_events(spec, records, query=query, link=link)
    return findings
