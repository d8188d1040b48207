"""JSON Schema (draft 2020-12) of a contract file, kept as a Python dict.

Every mapping closes its key set (``additionalProperties: false``) so that a typo is an error that names
the unknown key, never a silently ignored expectation. Checks that JSON Schema cannot express well
(exactly one step kind, regexes compile, embedded health schemas are valid) live in ``loader.py``.
"""

from __future__ import annotations

from typing import Any

from obsconf.contract.kinds import CHECK_KINDS, DELIVERY_SINKS, FAULT_MODES
from obsconf.contract.model import DEPENDENCY_BACKENDS, VALUE_TYPES

#: The file name of the committed copy of the schema; every shipped contract's first line points at it.
SCHEMA_FILE = "contract.schema.json"

_STR = {"type": "string", "minLength": 1}
_STR_LIST = {"type": "array", "items": _STR}
_NUM = {"type": "number"}
_POS = {"type": "number", "exclusiveMinimum": 0}
_STATUS = {"type": "integer", "minimum": 100, "maximum": 599}
_STATUSES = {"anyOf": [_STATUS, {"type": "array", "items": _STATUS, "minItems": 1}]}
_VALUE_TYPE = {"enum": list(VALUE_TYPES)}
_TYPED_FIELDS = {"type": "object", "additionalProperties": _VALUE_TYPE}
_LEVELS = {"type": "array", "items": _STR, "minItems": 1}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METHOD = {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_REQUEST = _obj(
    {
        "method": _METHOD,
        "path": {"type": "string", "pattern": "^/"},
        "json": {},
        "headers": _STR_MAP,
        "repeat": {"type": "integer", "minimum": 1},
        "expect_status": _STATUSES,
    },
    ("method", "path"),
)
_EMIT = _obj(
    {
        "n": {"type": "integer", "minimum": 1},
        "level": _STR,
        "path": {"type": "string", "pattern": "^/"},
        "expect_status": _STATUSES,
    },
    ("n",),
)
# A step is {name?, request: {...}} or {name?, emit: {...}}; "exactly one kind" is checked by the loader
# so that the error says "unknown step kind" instead of an opaque oneOf failure.
_STEP = _obj({"name": _STR, "request": _REQUEST, "emit": _EMIT})
_STEPS = {"type": "array", "items": _STEP}

_FIELD_MATCH = _obj({"field": _STR, "pattern": {"type": "string"}}, ("field",))

_LOGS = _obj(
    {
        "format": {"enum": ["json"]},
        "required_fields": _TYPED_FIELDS,
        "levels": _LEVELS,
        "level_field": _STR,
        "message_field": _STR,
        "redaction": _obj({"values": _STR_LIST, "patterns": _STR_LIST, "fields": _STR_MAP}),
        "correlation": _obj(
            {
                "trace_id_field": _STR,
                "span_id_field": _STR,
                "exempt": {"type": "array", "items": _FIELD_MATCH},
                "request_log_required": {"type": "boolean"},
            }
        ),
        "events": {
            "type": "array",
            "items": _obj(
                {
                    "name": _STR,
                    "level": _STR,
                    "message": {"type": "string"},
                    "fields": _TYPED_FIELDS,
                    "min_count": {"type": "integer", "minimum": 1},
                },
                ("name", "message"),
            ),
        },
        "store": _obj(
            {
                "kind": {"enum": ["pocketbase"]},
                "collection": _STR,
                "required_fields": _TYPED_FIELDS,
                "levels": _LEVELS,
                "indexes": _STR_LIST,
                "trace_id_field": _STR,
            },
            ("kind", "collection"),
        ),
        "delivery": _obj(
            {
                "seq_field": _STR,
                "sinks": {"type": "array", "items": {"enum": ["loki", "pocketbase"]}, "minItems": 1},
                "allow_duplicates": {"type": "boolean"},
            }
        ),
        "source": {"enum": ["loki", "console", "both"]},
        "stream": {"type": "object", "additionalProperties": _STR, "minProperties": 1},
    },
    ("format",),
)

# ``semconv: true`` (the default) or ``semconv: {enabled: false, reason: ...}``: turning the semantic-conventions
# check off needs a reason, which the reports show. A bare ``false`` is refused (the loader says why).
_SEMCONV = {
    "anyOf": [
        {"const": True},
        {
            **_obj({"enabled": {"type": "boolean"}, "reason": _STR}, ("enabled",)),
            "if": {"properties": {"enabled": {"const": False}}},
            "then": {"required": ["reason"]},
        },
    ]
}

_ATTRIBUTE = {
    "anyOf": [
        _VALUE_TYPE,
        _obj({"type": _VALUE_TYPE, "equals": {}, "pattern": {"type": "string"}}, ("type",)),
    ]
}
_SPAN_KIND = {"enum": ["server", "client", "internal", "producer", "consumer"]}
_SPANS = _obj(
    {
        "operations": {
            "type": "array",
            "minItems": 1,
            "items": _obj(
                {
                    "name": _STR,
                    "parent": {"anyOf": [{"type": ["string", "null"]}, {"type": "array", "items": _STR, "minItems": 1}]},
                    "parent_kind": _SPAN_KIND,
                    "root": {"type": "boolean"},
                    "kind": _SPAN_KIND,
                    "attributes": {"type": "object", "additionalProperties": _ATTRIBUTE},
                },
                ("name",),
            ),
        },
        "status_rules": {
            "type": "array",
            "items": _obj(
                {
                    "attribute": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
                    "gte": _STATUS,
                    "status": {"enum": ["error", "ok", "unset"]},
                    "span_kind": {"anyOf": [_SPAN_KIND, {"type": "null"}]},
                },
                ("attribute", "gte", "status"),
            ),
        },
        "semconv": _SEMCONV,
        "sampling": _obj(
            {
                "env": _STR,
                "seed_default": {"type": "number", "minimum": 0, "maximum": 1},
                "run_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "always_sample_errors": {"type": "boolean"},
            }
        ),
        "response_header": {"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
    }
)

_METRIC = _obj(
    {
        "name": {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "type": {"enum": ["counter", "gauge", "histogram", "summary", "info", "stateset"]},
        "labels": _STR_LIST,
        "buckets": {"type": "array", "items": {"anyOf": [_NUM, {"enum": ["+Inf"]}]}, "minItems": 1},
        "help": {"type": "boolean"},
        "after_workload": _obj({"increases": {"type": "boolean"}, "selector": _STR_MAP}, ("increases",)),
    },
    ("name", "type"),
)

_FAULT = _obj(
    {"dependency": _STR, "mode": {"enum": list(FAULT_MODES)}, "attributes": {"type": "object"}},
    ("dependency", "mode"),
)

_RETRY = _obj(
    {
        "operation": _STR,
        "max_attempts": {"type": "integer", "minimum": 1},
        "backoff": _obj(
            {
                "base_ms": _POS,
                "factor": {"type": "number", "minimum": 1},
                "tolerance": {"type": "number", "minimum": 0, "maximum": 1},
                "slack_ms": {"type": "number", "minimum": 0},
                "max_ms": _POS,
            },
            ("base_ms",),
        ),
        "span": _STR,
        "attempt_span": _STR,
        "count_attribute": {"type": ["string", "null"]},
        "metric": _obj({"name": _STR, "selector": _STR_MAP}, ("name",)),
        "log": _obj(
            {"message": {"type": "string"}, "level": _STR, "attempt_field": _STR, "max_field": _STR},
            ("message",),
        ),
        "fault": _FAULT,
        "workload": _STEPS,
    },
    ("operation", "max_attempts", "backoff"),
)

_HEALTH = _obj(
    {"path": {"type": "string", "pattern": "^/"}, "method": _METHOD, "expect_status": _STATUSES, "schema": {"type": "object"}},
    ("path", "schema"),
)

_ALERTS = _obj(
    {
        "rules_file": _STR,
        "tests_file": _STR,
        "rules": {
            "type": "array",
            "items": _obj({"name": _STR, "expr": _STR, "for": _STR, "severity": _STR}, ("name",)),
        },
    },
    ("rules_file", "rules"),
)

_SLO = _obj(
    {
        "name": _STR,
        "target": _NUM,
        "comparison": {"enum": [">=", "<="]},
        "unit": {"enum": ["ratio", "ms", "seconds"]},
        "expression": _STR,
        "env": _STR,
    },
    ("name", "target"),
)

_SELECTED_METRIC = _obj({"name": _STR, "selector": _STR_MAP}, ("name",))
_FAULT_SCENARIO = _obj(
    {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
        "dependency": _STR,
        "mode": {"enum": list(FAULT_MODES)},
        "attributes": {"type": "object"},
        "seconds": _POS,
        "workload": _STEPS,
        "dependent": _STEPS,
        "pace_ms": _POS,
        "env": _STR_MAP,
        "expect": _obj(
            {
                "available": {"type": "boolean"},
                "max_request_ms": _POS,
                "p95_request_ms": _POS,
                "dependent_min_ms": _POS,
                "delivered": {"type": "array", "items": {"enum": list(DELIVERY_SINKS)}},
                "dropped_metric": _SELECTED_METRIC,
                "duplicates_metric": _SELECTED_METRIC,
                "metrics": {
                    "type": "array",
                    "items": _obj(
                        {"name": _STR, "selector": _STR_MAP, "increases": {"type": "boolean"},
                         "peak_above": _NUM, "ends_at": _NUM},
                        ("name",),
                    ),
                },
                "recovers_within_s": {"anyOf": [_POS, {"type": "null"}]},
                "shutdown_within_s": _POS,
            }
        ),
    },
    ("name", "dependency", "mode"),
)

_DEPENDENCY = _obj(
    {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "upstream": {"anyOf": [{"enum": list(DEPENDENCY_BACKENDS)}, {"type": "string", "pattern": "^https?://"}]},
    },
    ("name", "env", "upstream"),
)

# Endpoints behind a bearer token: obsconf generates the token, hands it to the service in ``env`` and uses
# it for its own requests and scrapes. ``paths``: exact paths, or prefixes ending in ``/*``.
_AUTH = _obj(
    {
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "scheme": {"enum": ["bearer"]},
        "paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}, "minItems": 1},
    },
    ("env", "paths"),
)

_BUDGETS = _obj(
    {
        "log_line_ms": _POS,
        "span_ms": _POS,
        "metric_update_ms": _POS,
        "request_overhead_ms": _POS,
        "cpu_overhead_percent": _POS,
        "memory_baseline_mb": _POS,
    }
)

_ROUTES = {"type": "array", "items": {"type": "string", "pattern": "^/"}}
_ATTR_NAMES = {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]}
_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_LOAD = _obj(
    {
        "locustfile": _STR,
        "user_class": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "users": {"type": "integer", "minimum": 1},
        "spawn_rate": _POS,
        "seconds": _POS,
        "accounting": _obj(
            {
                "counter": _obj({"name": _STR, "route_label": _STR, "status_label": _STR, "method_label": _STR},
                                ("name", "route_label", "status_label")),
                "histogram": _obj({"name": _STR, "route_label": _STR, "method_label": _STR, "status_label": _STR},
                                  ("name",)),
                "spans": _obj({"route_attribute": _ATTR_NAMES, "status_attribute": _ATTR_NAMES,
                               "method_attribute": _ATTR_NAMES}),
                "access_log": _obj({"match": _FIELD_MATCH, "route_field": _STR, "status_field": _STR,
                                    "method_field": _STR}, ("match", "route_field", "status_field")),
                "routes": _ROUTES,
                "exclude": _ROUTES,
            },
            ("counter",),
        ),
        "slos": _obj({"availability": _SHARE, "error_rate": _SHARE, "p95_ms": _POS, "routes": _ROUTES,
                      "exclude": _ROUTES}),
    },
    ("locustfile", "user_class", "accounting"),
)

CONTRACT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "obsconf contract",
    **_obj(
        {
            "version": {"const": 1},
            "seed": _STR,
            "service": _obj(
                {
                    "name": _STR,
                    "profile": {"enum": ["persist", "syncd", "aurum", "prethrift", "assistant"]},
                    "command": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
                    "cwd": _STR,
                    "metrics_path": {"type": "string", "pattern": "^/"},
                    "ready_path": {"type": "string", "pattern": "^/"},
                    "ready_timeout": _POS,
                    "slo_path": {"type": "string", "pattern": "^/"},
                    "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                    "dependencies": {"type": "array", "items": _DEPENDENCY},
                    "auth": _AUTH,
                },
                ("name",),
            ),
            "workload": _STEPS,
            "logs": _LOGS,
            "spans": _SPANS,
            # a list of families, or {semconv, families} to set the semantic-conventions check of the section
            "metrics": {
                "anyOf": [
                    {"type": "array", "items": _METRIC},
                    _obj({"semconv": _SEMCONV, "families": {"type": "array", "items": _METRIC}}),
                ]
            },
            "retries": {"type": "array", "items": _RETRY},
            "health": {"type": "array", "items": _HEALTH},
            "alerts": _ALERTS,
            "slos": {"type": "array", "items": _SLO},
            "budgets": _BUDGETS,
            "faults": {"type": "array", "items": _FAULT_SCENARIO},
            "load": _LOAD,
            "skip": {
                "type": "array",
                "items": _obj({"check": {"enum": list(CHECK_KINDS)}, "reason": _STR}, ("check", "reason")),
            },
        },
        ("version", "service"),
    ),
}
