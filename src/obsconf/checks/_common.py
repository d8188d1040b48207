"""Helpers shared by the pure checks: dotted field lookup, value-type tests, short examples."""

from __future__ import annotations

from typing import Any

from obsconf.contract.valuetypes import type_ok
from obsconf.model import MISSING as _MISSING
from obsconf.model import get_field

__all__ = ["clip", "describe", "get_field", "is_missing", "mask", "type_ok", "where"]

def is_missing(value: Any) -> bool:
    return value is _MISSING


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
