"""Building blocks of the contract schema that several sections share: scalars, a workload step, a typed
value, a seed reference, the ``semconv`` switch, a fault on a dependency, a named metric with a selector.

:func:`obj` closes every mapping's key set (``additionalProperties: false``); ``traced=True`` lets an item
carry ``seed``/``convention`` (where in the seed it comes from).
"""

from __future__ import annotations

from typing import Any

from obsconf.contract.kinds import FAULT_MODES
from obsconf.contract.model import VALUE_TYPES

STR = {"type": "string", "minLength": 1}
STR_LIST = {"type": "array", "items": STR}
NUM = {"type": "number"}
POS = {"type": "number", "exclusiveMinimum": 0}
STATUS = {"type": "integer", "minimum": 100, "maximum": 599}
STATUSES = {"anyOf": [STATUS, {"type": "array", "items": STATUS, "minItems": 1}]}
VALUE_TYPE = {"enum": list(VALUE_TYPES)}
TYPED_FIELDS = {"type": "object", "additionalProperties": VALUE_TYPE}
LEVELS = {"type": "array", "items": STR, "minItems": 1}
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METHOD = {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]}
PATH = {"type": "string", "pattern": "^/"}
ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
NAME = {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}

#: Seed lines: ``187``, ``"115-124"`` or ``"115-124, 130"`` in the contract's own seed, or
#: ``{file: other.txt, lines: "12-14"}``. The loader checks the lines exist.
SEED_LINES_PATTERN = r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$"
SEED_LINES = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": SEED_LINES_PATTERN}]}
SEED_REF = {
    "anyOf": [
        SEED_LINES,
        {"type": "object", "properties": {"file": STR, "lines": SEED_LINES}, "required": ["lines"],
         "additionalProperties": False},
    ]
}
#: Keys every traced item may carry: where in the seed it comes from, or why it is a convention of obsconf.
TRACE = {"seed": SEED_REF, "convention": STR}


def obj(props: dict[str, Any], required: tuple[str, ...] = (), *, traced: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": {**props, **(TRACE if traced else {})}, "required": list(required),
            "additionalProperties": False}


def with_(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**schema, **extra}


REQUEST = obj(
    {
        "method": METHOD,
        "path": PATH,
        "json": {},
        "headers": STR_MAP,
        "repeat": {"type": "integer", "minimum": 1},
        "expect_status": STATUSES,
    },
    ("method", "path"),
)
EMIT = obj(
    {
        "n": {"type": "integer", "minimum": 1},
        "level": STR,
        "path": PATH,
        "expect_status": STATUSES,
    },
    ("n",),
)
# A step is {name?, request: {...}} or {name?, emit: {...}}; "exactly one kind" is checked by the loader
# so that the error says "unknown step kind" instead of an opaque oneOf failure.
STEP = obj({"name": STR, "request": REQUEST, "emit": EMIT}, traced=True)
STEPS = {"type": "array", "items": STEP}

FIELD_MATCH = obj({"field": STR, "pattern": {"type": "string"}}, ("field",))

# A typed value: a type name, or {type, equals?, pattern?} (span attributes, event fields, resource attributes)
TYPED_VALUE = {
    "anyOf": [
        VALUE_TYPE,
        obj({"type": VALUE_TYPE, "equals": {}, "pattern": {"type": "string"}}, ("type",)),
    ]
}
TYPED_VALUES = {"type": "object", "additionalProperties": TYPED_VALUE}

# ``semconv: true`` (the default) or ``semconv: {enabled: false, reason: ...}``: turning the semantic-conventions
# check off needs a reason, which the reports show. A bare ``false`` is refused (the loader says why).
SEMCONV = {
    "anyOf": [
        {"const": True},
        {
            **obj({"enabled": {"type": "boolean"}, "reason": STR}, ("enabled",), traced=True),
            "if": {"properties": {"enabled": {"const": False}}},
            "then": {"required": ["reason"]},
        },
    ]
}

FAULT = obj(
    {"dependency": STR, "mode": {"enum": list(FAULT_MODES)}, "attributes": {"type": "object"}},
    ("dependency", "mode"),
)
SELECTED_METRIC = obj({"name": STR, "selector": STR_MAP}, ("name",))
