"""From observed values to contract expectations: value types, and regexes that survive the next run.

A message such as ``order ord-5d1e8a2b3c4d placed`` or a path with a port in it differs on every run, so
an exact match would make the draft fail against its own service. :func:`generalize` keeps the words and
replaces identifiers (hex or digit runs) by character classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from obsconf.contract.valuetypes import type_ok

# Narrowest first: the first type every value satisfies is the one a draft writes.
_TYPE_ORDER = ("boolean", "integer", "number", "rfc3339", "uuid", "hex32", "hex16", "string", "timestamp",
               "object", "array")
# Span attributes are typed by the OpenTelemetry data model: shapes of strings are a pattern's job.
_ATTRIBUTE_TYPES = ("boolean", "integer", "number", "string")

_TOKEN = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-f]{4,}|[0-9A-F]{4,}")
_DIGITS = re.compile(r"[0-9]+")
_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")


def escape(text: str) -> str:
    """``re.escape`` for people: only the characters that mean something in a regex are escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def common_type(values: Iterable[Any], *, attribute: bool = False) -> str | None:
    """The narrowest contract value type (``obsconf.contract.model.VALUE_TYPES``) that every value has, or
    None when they share none (a field that is a string in one line and a number in another)."""
    values = list(values)
    if not values:
        return None
    for name in _ATTRIBUTE_TYPES if attribute else _TYPE_ORDER:
        if all(type_ok(v, name) for v in values):
            return name
    return None


def _token(token: str) -> str:
    if not token[0].isalnum():
        return escape(token)
    if _HEX.fullmatch(token) and any(c.isdigit() for c in token):
        return "[0-9a-f]+" if token.islower() or token.isdigit() else "[0-9A-Fa-f]+"
    return _DIGITS.sub("[0-9]+", escape(token)) if any(c.isdigit() for c in token) else escape(token)


def generalize_body(text: str) -> str:
    """The regex body (unanchored) for ``text`` with identifiers generalized."""
    out = []
    pos = 0
    for m in _UUID.finditer(text):
        out += [_token(t) for t in _TOKEN.findall(text[pos:m.start()])]
        out.append("[0-9a-fA-F-]{36}")
        pos = m.end()
    out += [_token(t) for t in _TOKEN.findall(text[pos:])]
    return "".join(out)


def generalize(text: str) -> str:
    """``^...$`` matching ``text`` and the same text with other identifiers (hex or digit runs) in it."""
    return f"^{generalize_body(text)}$"


def is_generalized(text: str) -> bool:
    """Whether :func:`generalize` replaced anything in ``text`` (it holds an identifier)."""
    return generalize_body(text) != escape(text)


def alternation(texts: Sequence[str]) -> str:
    """One anchored regex matching each of ``texts`` (generalized), e.g. for lines outside any request."""
    bodies = sorted({generalize_body(t) for t in texts})
    return f"^{bodies[0]}$" if len(bodies) == 1 else "^(" + "|".join(bodies) + ")$"


def count_phrase(n: int, total: int, what: str) -> str:
    """``on 12 of 12 requests`` - the evidence wording of every comment."""
    return f"{n} of {total} {what}"
