"""JSON Schema (draft 2020-12) of a contract file, kept as a Python dict.

Every mapping closes its key set (``additionalProperties: false``) so that a typo is an error that names
the unknown key, never a silently ignored expectation. The enums come from the code's own tables (check
kinds, fault modes, value types, span kinds, metric types, budgets, reference profiles: see
:mod:`obsconf.contract.kinds`), so the schema accepts exactly what the code acts on. Checks that JSON
Schema cannot express well (exactly one step kind, regexes compile, embedded health schemas are valid,
seed line ranges exist) live in the loader (``loader.py`` and the ``sections_*.py`` it calls).
"""

from __future__ import annotations

from typing import Any

from obsconf.contract.kinds import (
    BUDGET_KEYS,
    DELIVERY_SINKS,
    FAULT_MODES,
    METRIC_TYPES,
    SKIP_KINDS,
    SLO_UNITS,
    SPAN_KINDS,
    UNTESTED_REASONS,
)
from obsconf.contract.model import DEPENDENCY_BACKENDS, VALUE_TYPES
from obsconf.reference.config import PROFILES

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
_PATH = {"type": "string", "pattern": "^/"}
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}

#: Seed lines: ``187``, ``"115-124"`` or ``"115-124, 130"`` in the contract's own seed, or
#: ``{file: other.txt, lines: "12-14"}``. The loader checks the lines exist.
SEED_LINES_PATTERN = r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$"
_SEED_LINES = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": SEED_LINES_PATTERN}]}
_SEED_REF = {
    "anyOf": [
        _SEED_LINES,
        {"type": "object", "properties": {"file": _STR, "lines": _SEED_LINES}, "required": ["lines"],
         "additionalProperties": False},
    ]
}
#: Keys every traced item may carry: where in the seed it comes from, or why it is a convention of obsconf.
_TRACE = {"seed": _SEED_REF, "convention": _STR}


def _obj(props: dict[str, Any], required: tuple[str, ...] = (), *, traced: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": {**props, **(_TRACE if traced else {})}, "required": list(required),
            "additionalProperties": False}


def _with(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**schema, **extra}


_REQUEST = _obj(
    {
        "method": _METHOD,
        "path": _PATH,
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
        "path": _PATH,
        "expect_status": _STATUSES,
    },
    ("n",),
)
# A step is {name?, request: {...}} or {name?, emit: {...}}; "exactly one kind" is checked by the loader
# so that the error says "unknown step kind" instead of an opaque oneOf failure.
_STEP = _obj({"name": _STR, "request": _REQUEST, "emit": _EMIT}, traced=True)
_STEPS = {"type": "array", "items": _STEP}

_FIELD_MATCH = _obj({"field": _STR, "pattern": {"type": "string"}}, ("field",))

# A typed value: a type name, or {type, equals?, pattern?} (span attributes, event fields, resource attributes)
_TYPED_VALUE = {
    "anyOf": [
        _VALUE_TYPE,
        _obj({"type": _VALUE_TYPE, "equals": {}, "pattern": {"type": "string"}}, ("type",)),
    ]
}
_TYPED_VALUES = {"type": "object", "additionalProperties": _TYPED_VALUE}

_LOGS = _obj(
    {
        "format": {"enum": ["json"]},
        "required_fields": _TYPED_FIELDS,
        "levels": _LEVELS,
        "level_field": _STR,
        "message_field": _STR,
        "redaction": _obj({"values": _STR_LIST, "patterns": _STR_LIST, "fields": _STR_MAP}, traced=True),
        "correlation": _obj(
            {
                "trace_id_field": _STR,
                "span_id_field": _STR,
                "exempt": {"type": "array", "items": _FIELD_MATCH},
                "request_log_required": {"type": "boolean"},
            },
            traced=True,
        ),
        # fields every log line of a request carries (the request's context), not only one of its lines
        "context": _obj({"fields": _with(_STR_LIST, minItems=1)}, ("fields",), traced=True),
        "events": {
            "type": "array",
            "items": _obj(
                {
                    "name": _STR,
                    "level": _STR,
                    "message": {"type": "string"},
                    "fields": _TYPED_VALUES,
                    "min_count": {"type": "integer", "minimum": 1},
                    # further selectors of the event's lines besides level and message: dotted path -> regex
                    "match": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                ("name", "message"),
                traced=True,
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
            traced=True,
        ),
        "delivery": _obj(
            {
                "seq_field": _STR,
                "sinks": {"type": "array", "items": {"enum": ["loki", "pocketbase"]}, "minItems": 1},
                "allow_duplicates": {"type": "boolean"},
            },
            traced=True,
        ),
        "source": {"enum": ["loki", "console", "both"]},
        "stream": {"type": "object", "additionalProperties": _STR, "minProperties": 1},
    },
    ("format",),
    traced=True,
)

# ``semconv: true`` (the default) or ``semconv: {enabled: false, reason: ...}``: turning the semantic-conventions
# check off needs a reason, which the reports show. A bare ``false`` is refused (the loader says why).
_SEMCONV = {
    "anyOf": [
        {"const": True},
        {
            **_obj({"enabled": {"type": "boolean"}, "reason": _STR}, ("enabled",), traced=True),
            "if": {"properties": {"enabled": {"const": False}}},
            "then": {"required": ["reason"]},
        },
    ]
}

_SPAN_KIND = {"enum": list(SPAN_KINDS)}
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
                    "attributes": _TYPED_VALUES,
                },
                ("name",),
                traced=True,
            ),
        },
        "status_rules": {
            "type": "array",
            "items": _obj(
                {
                    "attribute": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
                    "gte": _STATUS,
                    "present": {"const": True},
                    "status": {"enum": ["error", "ok", "unset"]},
                    "span_kind": {"anyOf": [_SPAN_KIND, {"type": "null"}]},
                },
                ("attribute", "status"),
                traced=True,
            ),
        },
        # attributes of the resource (OTEL_RESOURCE_ATTRIBUTES, service.version ...) every span carries
        "resource": _obj({"attributes": _TYPED_VALUES}, ("attributes",), traced=True),
        "semconv": _SEMCONV,
        "sampling": _obj(
            {
                "env": _ENV_NAME,
                "seed_default": {"type": "number", "minimum": 0, "maximum": 1},
                "run_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "always_sample_errors": {"type": "boolean"},
                "always_sample_slow_ms": _POS,
                "always_sample_paths": _with(_STR_LIST, minItems=1),
                "workload": _STEPS,
            },
            traced=True,
        ),
        "response_header": {"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
    }
)

_METRIC = _obj(
    {
        "name": {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "type": {"enum": list(METRIC_TYPES)},
        "labels": _STR_LIST,
        "buckets": {"type": "array", "items": {"anyOf": [_NUM, {"enum": ["+Inf"]}]}, "minItems": 1},
        "buckets_include": {"type": "array", "items": {"anyOf": [_NUM, {"enum": ["+Inf"]}]}, "minItems": 1},
        "help": {"type": "boolean"},
        "after_workload": _obj({"increases": {"type": "boolean"}, "selector": _STR_MAP}, ("increases",)),
    },
    ("name", "type"),
    traced=True,
)

_FAULT = _obj(
    {"dependency": _STR, "mode": {"enum": list(FAULT_MODES)}, "attributes": {"type": "object"}},
    ("dependency", "mode"),
)
_SELECTED_METRIC = _obj({"name": _STR, "selector": _STR_MAP}, ("name",))

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
        "metric": _SELECTED_METRIC,
        "errors_metric": _SELECTED_METRIC,
        "log": _obj(
            {"message": {"type": "string"}, "level": _STR, "attempt_field": _STR, "max_field": _STR,
             "fields": _TYPED_VALUES},
            ("message",),
        ),
        "fault": _FAULT,
        "workload": _with(_STEPS, minItems=1),
    },
    ("operation", "max_attempts", "backoff", "workload"),
    traced=True,
)

_HEALTH = _obj(
    {"path": _PATH, "method": _METHOD, "expect_status": _STATUSES, "schema": {"type": "object"},
     "listener": _NAME},
    ("path", "schema"),
    traced=True,
)

_ALERT_RULE = _obj(
    {
        "name": _STR,
        "expr": _STR,
        "for": _STR,
        "severity": _STR,
        # the seed's rule is broken as written: the claim, and a promtool test file that demonstrates it
        "defect": _obj({"claim": _STR, "proof": _STR}, ("claim", "proof")),
    },
    ("name",),
    traced=True,
)
_ALERT_DRIVE = _obj(
    {
        "name": _NAME,
        "fault": _FAULT,
        "stop_service": {"const": True},
        "workload": _STEPS,
        "seconds": _POS,
        "fires": _with(_STR_LIST, minItems=1),
    },
    ("name", "fires"),
    traced=True,
)
_ALERTS = _obj(
    {
        "rules_file": _STR,
        "tests_file": _STR,
        "rules": {"type": "array", "minItems": 1, "items": _ALERT_RULE},
        # scrape jobs the seed's rules read besides the service's own (e.g. a health-check job), by path
        "scrape": {"type": "array", "items": _obj({"job": _STR, "path": _PATH}, ("job", "path"))},
        # an explicit, reported shortening of every rule's ``for:`` in the copy obsconf loads
        "for_override": {"type": "string", "pattern": r"^\d+(ms|s|m)$"},
        "drives": {"type": "array", "items": _ALERT_DRIVE},
    },
    ("rules_file", "rules"),
    traced=True,
)

_SLO = _obj(
    {
        "name": _STR,
        "target": _NUM,
        "comparison": {"enum": [">=", "<="]},
        "unit": {"enum": list(SLO_UNITS)},
        "expression": _STR,
        "env": _ENV_NAME,
    },
    ("name", "target"),
    traced=True,
)

_FAULT_SCENARIO = _obj(
    {
        "name": _NAME,
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
    traced=True,
)

_DEPENDENCY = _obj(
    {
        "name": _NAME,
        "env": _ENV_NAME,
        "upstream": {"anyOf": [{"enum": list(DEPENDENCY_BACKENDS)}, {"type": "string", "pattern": "^https?://"}]},
    },
    ("name", "env", "upstream"),
    traced=True,
)

# another port the service listens on, given to it in ``env`` (obsconf picks a free one)
_LISTENER = _obj({"name": _NAME, "env": _ENV_NAME}, ("name", "env"), traced=True)

_BUDGETS = _obj({key: _POS for key in BUDGET_KEYS}, traced=True)

_DASHBOARD = _obj({"name": _STR, "expr": _STR}, ("name", "expr"), traced=True)

_UNTESTED = _obj({"seed": _SEED_REF, "reason": {"enum": list(UNTESTED_REASONS)}, "note": _STR},
                 ("seed", "reason"))
# Endpoints behind a bearer token: obsconf generates the token, hands it to the service in ``env`` and uses
# it for its own requests and scrapes. ``paths``: exact paths, or prefixes ending in ``/*``.
_AUTH = _obj(
    {
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "scheme": {"enum": ["bearer"]},
        "paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}, "minItems": 1},
    },
    ("env", "paths"),
    traced=True,
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
                                  ("name",), traced=True),
                "spans": _obj({"route_attribute": _ATTR_NAMES, "status_attribute": _ATTR_NAMES,
                               "method_attribute": _ATTR_NAMES}),
                "access_log": _obj({"match": _FIELD_MATCH, "route_field": _STR, "status_field": _STR,
                                    "method_field": _STR}, ("match", "route_field", "status_field")),
                "routes": _ROUTES,
                "exclude": _ROUTES,
            },
            ("counter",),
            traced=True,
        ),
        "slos": _obj({"availability": _SHARE, "error_rate": _SHARE, "p95_ms": _POS, "routes": _ROUTES,
                      "exclude": _ROUTES}, traced=True),
    },
    ("locustfile", "user_class", "accounting"),
    traced=True,
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
                    "profile": {"enum": list(PROFILES)},
                    "command": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
                    "cwd": _STR,
                    "metrics_path": _PATH,
                    "ready_path": _PATH,
                    "ready_timeout": _POS,
                    "slo_path": _PATH,
                    "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                    "dependencies": {"type": "array", "items": _DEPENDENCY},
                    "listeners": {"type": "array", "items": _LISTENER},
                    "auth": _AUTH,
                },
                ("name",),
                traced=True,
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
            "dashboards": {"type": "array", "items": _DASHBOARD},
            "retries": {"type": "array", "items": _RETRY},
            "health": {"type": "array", "items": _HEALTH},
            "alerts": _ALERTS,
            "slos": {"type": "array", "items": _SLO},
            "budgets": _BUDGETS,
            "faults": {"type": "array", "items": _FAULT_SCENARIO},
            "load": _LOAD,
            "skip": {
                "type": "array",
                "items": _obj({"check": {"enum": list(SKIP_KINDS)}, "reason": _STR}, ("check", "reason")),
            },
            # seed statements no case checks, each with the reason (obsconf contract coverage lists them)
            "untested": {"type": "array", "items": _UNTESTED},
        },
        ("version", "service"),
    ),
}
