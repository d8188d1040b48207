"""The name of a value's type in the words a message needs: OpenTelemetry attribute types, JSON Schema types.

One table walk, so a check, the contract loader and the draft name types the same way; each vocabulary is a
table of (Python types, name), tried in order (``bool`` before ``int``: a bool is an int). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TypeNames = Sequence[tuple[type | tuple[type, ...], str]]

#: OpenTelemetry attribute value types (as the semantic conventions name them)
ATTRIBUTE_TYPES: TypeNames = ((bool, "boolean"), (int, "int"), (float, "double"), (str, "string"))
#: JSON Schema types; anything else (a dict) is an "object"
JSON_TYPES: TypeNames = ((type(None), "null"), (bool, "boolean"), (int, "integer"), (float, "number"),
                         (str, "string"), (list, "array"))


def type_name(value: Any, names: TypeNames, default: str | None = None) -> str:
    """The name of the first entry of ``names`` whose types ``value`` is an instance of; else ``default``, or
    the Python type's own name without one."""
    for types, name in names:
        if isinstance(value, types):
            return name
    return default if default is not None else type(value).__name__
