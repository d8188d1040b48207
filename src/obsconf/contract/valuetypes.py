"""The value types a contract may name for a log field, a span attribute or a store field, each with its test.

One table: the contract schema's enum is its keys, the checks call :func:`type_ok`, so a type the schema
accepts always has a test and a test always has a name a contract can use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value))


#: type name -> test. ``timestamp`` accepts an RFC 3339 string or an epoch number.
VALUE_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list | tuple),
    "rfc3339": _matches(_RFC3339),
    "timestamp": lambda v: _matches(_RFC3339)(v) or _is_number(v),
    "hex32": _matches(_HEX32),
    "hex16": _matches(_HEX16),
    "uuid": _matches(_UUID),
}


def type_ok(value: Any, wanted: str) -> bool:
    """Whether ``value`` is of contract value type ``wanted``; an unknown type name is a ValueError."""
    test = VALUE_TYPE_TESTS.get(wanted)
    if test is None:
        raise ValueError(f"unknown value type {wanted!r}; known: {', '.join(VALUE_TYPE_TESTS)}")
    return test(value)


#: JSON Schema type names and their Python types, in the order that tells them apart (a bool is an int too)
_JSON_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("null", type(None)), ("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list),
    ("object", dict),
)


def json_type(value: Any) -> str | None:
    """The JSON Schema type name of a parsed JSON or YAML value (``null``, ``boolean``, ``integer``, ``number``,
    ``string``, ``array``, ``object``), or None for a value JSON has no type for (a YAML date, a tuple)."""
    return next((name for name, kind in _JSON_TYPES if isinstance(value, kind)), None)
