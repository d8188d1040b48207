"""Helpers shared by the pure checks: dotted field lookup, value-type tests, short examples."""

from __future__ import annotations

import re
from typing import Any

from obsconf.model import MISSING as _MISSING
from obsconf.model import get_field

__all__ = ["clip", "describe", "get_field", "is_missing", "mask", "type_ok", "where"]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_missing(value: Any) -> bool:
    return value is _MISSING


def type_ok(value: Any, wanted: str) -> bool:
    """Whether ``value`` is of contract value type ``wanted`` (see ``obsconf.contract.model.VALUE_TYPES``)."""
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "object":
        return isinstance(value, dict)
    if wanted == "array":
        return isinstance(value, list | tuple)
    if wanted == "rfc3339":
        return isinstance(value, str) and bool(_RFC3339.match(value))
    if wanted == "timestamp":
        return type_ok(value, "rfc3339") or type_ok(value, "number")
    if wanted == "hex32":
        return isinstance(value, str) and bool(_HEX32.match(value))
    if wanted == "hex16":
        return isinstance(value, str) and bool(_HEX16.match(value))
    if wanted == "uuid":
        return isinstance(value, str) and bool(_UUID.match(value))
    raise ValueError(f"unknown value type {wanted!r}")


def describe(value: Any) -> str:
    """``'abc' (string)`` - the value and its JSON type, for expected/actual lines."""
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        dict: "object",
        list: "array",
        tuple: "array",
    }.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


def clip(text: str, limit: int = 200) -> str:
    """Shorten an example line for a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mask(secret: str) -> str:
    """Show enough of a secret to recognise it, not enough to leak it."""
    return secret[:4] + "..." if len(secret) > 6 else "***"


def where(loc: str, fallback: str) -> str:
    return loc or fallback
