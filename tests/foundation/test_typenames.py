"""One table walk names value types in each vocabulary (a bool is named as a bool, not as the int it is)."""

from __future__ import annotations

from obsconf.typenames import ATTRIBUTE_TYPES, JSON_TYPES, type_name


def test_vocabularies() -> None:
    values = [True, 3, 2.5, "x", None, [1], {"a": 1}]
    assert [type_name(v, ATTRIBUTE_TYPES) for v in values] == ["boolean", "int", "double", "string", "NoneType",
                                                               "list", "dict"]
    assert [type_name(v, JSON_TYPES, "object") for v in values] == ["boolean", "integer", "number", "string", "null",
                                                                    "array", "object"]
