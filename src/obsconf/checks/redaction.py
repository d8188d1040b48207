"""Pure checks that no secret reaches telemetry: secret values, secret-shaped strings and unmasked sensitive
fields in log lines and in span attributes and events (the contract's ``redaction`` rules)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from obsconf.checks._common import ProblemGroups, clip, mask, no_log_lines, trace_link
from obsconf.contract.model import RedactionSpec
from obsconf.model import Finding, LogRecord, Span


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


def check_log_redaction(redaction: RedactionSpec, records: Sequence[LogRecord], *, where: str = "",
                        query: str = "", link: str = "") -> list[Finding]:
    """No secret value, secret-shaped string or unmasked sensitive field in any log line."""
    where = where or redaction.loc or "logs.redaction"
    if not records:
        return [no_log_lines("logs.redaction", where, "secret redaction", query, link)]
    groups = ProblemGroups()
    for rec in records:
        for rule, shown in find_secrets(redaction, rec.line, rec.fields):
            groups.add(rule, rec.line, shown)
    return [
        Finding(
            "logs.redaction",
            where,
            f"{rule} appears in {count} log line(s): the service must redact it before logging; "
            f"first line (secrets masked here): {clip(scrub(redaction, line))}",
            expected="no secret in any log line",
            actual=shown,
            query=query,
            link=link,
        )
        for rule, count, line, shown in groups
    ]


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
                        link=trace_link(trace_url, span.trace_id),
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
