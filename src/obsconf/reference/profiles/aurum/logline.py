"""aurum's log line: the JSON record each event becomes, and the JSON Schema that describes it."""

from __future__ import annotations

from typing import Any

from obsconf.reference.logs import LogEvent, iso_utc

_PY_LEVELS = {"TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING", "ERROR": "ERROR"}


def aurum_json(ev: LogEvent) -> dict[str, Any]:
    """The seed's structured line: timestamp, level, message, logger, request and tenant ids, component,
    operation, duration_ms, then the event's own fields and the trace context."""
    fields = dict(ev.fields)
    req = ev.request
    rec: dict[str, Any] = {
        "timestamp": iso_utc(ev.time_ns),
        "level": _PY_LEVELS[ev.level],
        "message": ev.message,
        "logger": ev.target,
        "request_id": req.request_id if req else None,
        "tenant_id": req.tenant_id if req else None,
        "component": fields.pop("component", None),
        "operation": fields.pop("operation", None),
    }
    if "duration_ms" in fields:
        rec["duration_ms"] = fields.pop("duration_ms")
    rec.update(fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    return rec


LOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "aurum structured log line",
    "type": "object",
    "required": ["timestamp", "level", "message", "request_id", "tenant_id", "component", "operation"],
    "properties": {
        "timestamp": {"type": "string", "format": "date-time"},
        "level": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
        "message": {"type": "string"},
        "logger": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "tenant_id": {"type": ["string", "null"]},
        "component": {"type": ["string", "null"]},
        "operation": {"type": ["string", "null"]},
        "duration_ms": {"type": "number", "minimum": 0},
        "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "span_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    },
    "additionalProperties": True,
}
