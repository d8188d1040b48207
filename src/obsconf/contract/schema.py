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
from obsconf.contract.model import DEPENDENCY_BACKENDS
from obsconf.contract.schema_parts import (
    ENV_NAME,
    FAULT,
    FIELD_MATCH,
    LEVELS,
    METHOD,
    NAME,
    NUM,
    PATH,
    POS,
    SEED_REF,
    SELECTED_METRIC,
    SEMCONV,
    STATUS,
    STATUSES,
    STEPS,
    STR,
    STR_LIST,
    STR_MAP,
    TYPED_FIELDS,
    TYPED_VALUES,
    obj,
    with_,
)
from obsconf.reference.config import PROFILES

#: The file name of the committed copy of the schema; every shipped contract's first line points at it.
SCHEMA_FILE = "contract.schema.json"

_LOGS = obj(
    {
        "format": {"enum": ["json"]},
        "required_fields": TYPED_FIELDS,
        "levels": LEVELS,
        "level_field": STR,
        "message_field": STR,
        "redaction": obj({"values": STR_LIST, "patterns": STR_LIST, "fields": STR_MAP}, traced=True),
        "correlation": obj(
            {
                "trace_id_field": STR,
                "span_id_field": STR,
                "exempt": {"type": "array", "items": FIELD_MATCH},
                "request_log_required": {"type": "boolean"},
            },
            traced=True,
        ),
        # fields every log line of a request carries (the request's context), not only one of its lines
        "context": obj({"fields": with_(STR_LIST, minItems=1)}, ("fields",), traced=True),
        "events": {
            "type": "array",
            "items": obj(
                {
                    "name": STR,
                    "level": STR,
                    "message": {"type": "string"},
                    "fields": TYPED_VALUES,
                    "min_count": {"type": "integer", "minimum": 1},
                    # further selectors of the event's lines besides level and message: dotted path -> regex
                    "match": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                ("name", "message"),
                traced=True,
            ),
        },
        "store": obj(
            {
                "kind": {"enum": ["pocketbase"]},
                "collection": STR,
                "required_fields": TYPED_FIELDS,
                "levels": LEVELS,
                "indexes": STR_LIST,
                "trace_id_field": STR,
            },
            ("kind", "collection"),
            traced=True,
        ),
        "delivery": obj(
            {
                "seq_field": STR,
                "sinks": {"type": "array", "items": {"enum": ["loki", "pocketbase"]}, "minItems": 1},
                "allow_duplicates": {"type": "boolean"},
            },
            traced=True,
        ),
        "source": {"enum": ["loki", "console", "both"]},
        "stream": {"type": "object", "additionalProperties": STR, "minProperties": 1},
    },
    ("format",),
    traced=True,
)

_SPAN_KIND = {"enum": list(SPAN_KINDS)}
_SPANS = obj(
    {
        "operations": {
            "type": "array",
            "minItems": 1,
            "items": obj(
                {
                    "name": STR,
                    "parent": {"anyOf": [{"type": ["string", "null"]}, {"type": "array", "items": STR, "minItems": 1}]},
                    "parent_kind": _SPAN_KIND,
                    "root": {"type": "boolean"},
                    "kind": _SPAN_KIND,
                    "attributes": TYPED_VALUES,
                },
                ("name",),
                traced=True,
            ),
        },
        "status_rules": {
            "type": "array",
            "items": obj(
                {
                    "attribute": {"anyOf": [STR, {"type": "array", "items": STR, "minItems": 1}]},
                    "gte": STATUS,
                    "present": {"const": True},
                    "status": {"enum": ["error", "ok", "unset"]},
                    "span_kind": {"anyOf": [_SPAN_KIND, {"type": "null"}]},
                },
                ("attribute", "status"),
                traced=True,
            ),
        },
        # attributes of the resource (OTEL_RESOURCE_ATTRIBUTES, service.version ...) every span carries
        "resource": obj({"attributes": TYPED_VALUES}, ("attributes",), traced=True),
        "semconv": SEMCONV,
        "sampling": obj(
            {
                "env": ENV_NAME,
                "seed_default": {"type": "number", "minimum": 0, "maximum": 1},
                "run_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "always_sample_errors": {"type": "boolean"},
                "always_sample_slow_ms": POS,
                "always_sample_paths": with_(STR_LIST, minItems=1),
                "workload": STEPS,
            },
            traced=True,
        ),
        "response_header": {"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
    }
)

_METRIC = obj(
    {
        "name": {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "type": {"enum": list(METRIC_TYPES)},
        "labels": STR_LIST,
        "buckets": {"type": "array", "items": {"anyOf": [NUM, {"enum": ["+Inf"]}]}, "minItems": 1},
        "buckets_include": {"type": "array", "items": {"anyOf": [NUM, {"enum": ["+Inf"]}]}, "minItems": 1},
        "help": {"type": "boolean"},
        "after_workload": obj({"increases": {"type": "boolean"}, "selector": STR_MAP}, ("increases",)),
    },
    ("name", "type"),
    traced=True,
)

_RETRY = obj(
    {
        "operation": STR,
        "max_attempts": {"type": "integer", "minimum": 1},
        "backoff": obj(
            {
                "base_ms": POS,
                "factor": {"type": "number", "minimum": 1},
                "tolerance": {"type": "number", "minimum": 0, "maximum": 1},
                "slack_ms": {"type": "number", "minimum": 0},
                "max_ms": POS,
            },
            ("base_ms",),
        ),
        "span": STR,
        "attempt_span": STR,
        "count_attribute": {"type": ["string", "null"]},
        "metric": SELECTED_METRIC,
        "errors_metric": SELECTED_METRIC,
        "log": obj(
            {"message": {"type": "string"}, "level": STR, "attempt_field": STR, "max_field": STR,
             "fields": TYPED_VALUES},
            ("message",),
        ),
        "fault": FAULT,
        "workload": with_(STEPS, minItems=1),
    },
    ("operation", "max_attempts", "backoff", "workload"),
    traced=True,
)

_HEALTH = obj(
    {"path": PATH, "method": METHOD, "expect_status": STATUSES, "schema": {"type": "object"},
     "listener": NAME},
    ("path", "schema"),
    traced=True,
)

_ALERT_RULE = obj(
    {
        "name": STR,
        "expr": STR,
        "for": STR,
        "severity": STR,
        # the seed's rule is broken as written: the claim, and a promtool test file that demonstrates it
        "defect": obj({"claim": STR, "proof": STR}, ("claim", "proof")),
    },
    ("name",),
    traced=True,
)
_ALERT_DRIVE = obj(
    {
        "name": NAME,
        "fault": FAULT,
        "stop_service": {"const": True},
        "workload": STEPS,
        "seconds": POS,
        "fires": with_(STR_LIST, minItems=1),
    },
    ("name", "fires"),
    traced=True,
)
_ALERTS = obj(
    {
        "rules_file": STR,
        "tests_file": STR,
        "rules": {"type": "array", "minItems": 1, "items": _ALERT_RULE},
        # scrape jobs the seed's rules read besides the service's own (e.g. a health-check job), by path
        "scrape": {"type": "array", "items": obj({"job": STR, "path": PATH}, ("job", "path"))},
        # an explicit, reported shortening of every rule's ``for:`` in the copy obsconf loads
        "for_override": {"type": "string", "pattern": r"^\d+(ms|s|m)$"},
        "drives": {"type": "array", "items": _ALERT_DRIVE},
    },
    ("rules_file", "rules"),
    traced=True,
)

_SLO = obj(
    {
        "name": STR,
        "target": NUM,
        "comparison": {"enum": [">=", "<="]},
        "unit": {"enum": list(SLO_UNITS)},
        "expression": STR,
        "env": ENV_NAME,
    },
    ("name", "target"),
    traced=True,
)

_FAULT_SCENARIO = obj(
    {
        "name": NAME,
        "dependency": STR,
        "mode": {"enum": list(FAULT_MODES)},
        "attributes": {"type": "object"},
        "seconds": POS,
        "workload": STEPS,
        "dependent": STEPS,
        "pace_ms": POS,
        "env": STR_MAP,
        "expect": obj(
            {
                "available": {"type": "boolean"},
                "max_request_ms": POS,
                "p95_request_ms": POS,
                "dependent_min_ms": POS,
                "delivered": {"type": "array", "items": {"enum": list(DELIVERY_SINKS)}},
                "dropped_metric": SELECTED_METRIC,
                "duplicates_metric": SELECTED_METRIC,
                "metrics": {
                    "type": "array",
                    "items": obj(
                        {"name": STR, "selector": STR_MAP, "increases": {"type": "boolean"},
                         "peak_above": NUM, "ends_at": NUM},
                        ("name",),
                    ),
                },
                "recovers_within_s": {"anyOf": [POS, {"type": "null"}]},
                "shutdown_within_s": POS,
            }
        ),
    },
    ("name", "dependency", "mode"),
    traced=True,
)

_DEPENDENCY = obj(
    {
        "name": NAME,
        "env": ENV_NAME,
        "upstream": {"anyOf": [{"enum": list(DEPENDENCY_BACKENDS)}, {"type": "string", "pattern": "^https?://"}]},
    },
    ("name", "env", "upstream"),
    traced=True,
)

# another port the service listens on, given to it in ``env`` (obsconf picks a free one)
_LISTENER = obj({"name": NAME, "env": ENV_NAME}, ("name", "env"), traced=True)

_BUDGETS = obj({key: POS for key in BUDGET_KEYS}, traced=True)

_DASHBOARD = obj({"name": STR, "expr": STR}, ("name", "expr"), traced=True)

_UNTESTED = obj({"seed": SEED_REF, "reason": {"enum": list(UNTESTED_REASONS)}, "note": STR},
                 ("seed", "reason"))
# Endpoints behind a bearer token: obsconf generates the token, hands it to the service in ``env`` and uses
# it for its own requests and scrapes. ``paths``: exact paths, or prefixes ending in ``/*``.
_AUTH = obj(
    {
        "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "scheme": {"enum": ["bearer"]},
        "paths": {"type": "array", "items": {"type": "string", "pattern": "^/"}, "minItems": 1},
    },
    ("env", "paths"),
    traced=True,
)


_ROUTES = {"type": "array", "items": {"type": "string", "pattern": "^/"}}
_ATTR_NAMES = {"anyOf": [STR, {"type": "array", "items": STR, "minItems": 1}]}
_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_LOAD = obj(
    {
        "locustfile": STR,
        "user_class": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "users": {"type": "integer", "minimum": 1},
        "spawn_rate": POS,
        "seconds": POS,
        "accounting": obj(
            {
                "counter": obj({"name": STR, "route_label": STR, "status_label": STR, "method_label": STR},
                                ("name", "route_label", "status_label")),
                "histogram": obj({"name": STR, "route_label": STR, "method_label": STR, "status_label": STR},
                                  ("name",), traced=True),
                "spans": obj({"route_attribute": _ATTR_NAMES, "status_attribute": _ATTR_NAMES,
                               "method_attribute": _ATTR_NAMES}),
                "access_log": obj({"match": FIELD_MATCH, "route_field": STR, "status_field": STR,
                                    "method_field": STR}, ("match", "route_field", "status_field")),
                "routes": _ROUTES,
                "exclude": _ROUTES,
            },
            ("counter",),
            traced=True,
        ),
        "slos": obj({"availability": _SHARE, "error_rate": _SHARE, "p95_ms": POS, "routes": _ROUTES,
                      "exclude": _ROUTES}, traced=True),
    },
    ("locustfile", "user_class", "accounting"),
    traced=True,
)

CONTRACT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "obsconf contract",
    **obj(
        {
            "version": {"const": 1},
            "seed": STR,
            "service": obj(
                {
                    "name": STR,
                    "profile": {"enum": list(PROFILES)},
                    "command": {"anyOf": [STR, {"type": "array", "items": STR, "minItems": 1}]},
                    "cwd": STR,
                    "metrics_path": PATH,
                    "ready_path": PATH,
                    "ready_timeout": POS,
                    "slo_path": PATH,
                    "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                    "dependencies": {"type": "array", "items": _DEPENDENCY},
                    "listeners": {"type": "array", "items": _LISTENER},
                    "auth": _AUTH,
                },
                ("name",),
                traced=True,
            ),
            "workload": STEPS,
            "logs": _LOGS,
            "spans": _SPANS,
            # a list of families, or {semconv, families} to set the semantic-conventions check of the section
            "metrics": {
                "anyOf": [
                    {"type": "array", "items": _METRIC},
                    obj({"semconv": SEMCONV, "families": {"type": "array", "items": _METRIC}}),
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
                "items": obj({"check": {"enum": list(SKIP_KINDS)}, "reason": STR}, ("check", "reason")),
            },
            # seed statements no case checks, each with the reason (obsconf contract coverage lists them)
            "untested": {"type": "array", "items": _UNTESTED},
        },
        ("version", "service"),
    ),
}
