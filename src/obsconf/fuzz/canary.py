"""Canary secrets and the scan that finds them in what sinks stored. Pure: no network, no hypothesis.

A canary is ``cnry`` + 20 random hex digits, placed where a secret goes (``Authorization: Bearer <c>``,
``?apiKey=<c>``, ``{"Password": <c>}``...). The scan reports a canary found whole, cut after its prefix
(``cnry`` and at least 6 digits: a truncated label value) or as any 12-digit fragment of its random part
(a value split across fields or cut at the front); 12 hex digits make a chance match with a trace id or
hash in a sink about one in 10^14 per comparison.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PREFIX = "cnry"
DIGITS = 20
FRAGMENT = 12
_HEX_RUN = re.compile(rf"[0-9a-f]{{{FRAGMENT},}}")
_PREFIXED = re.compile(rf"{PREFIX}[0-9a-f]{{6,{DIGITS}}}")


@dataclass(frozen=True)
class Placement:
    """One canary put into one input of one request."""

    canary: str
    kind: str  # header | query | path | body | body-pair | url-userinfo ... (see obsconf.fuzz.inputs)
    where: str  # e.g. "header X-User-Id", "query apiKey", "body $.a.b[0].Password"
    shape: str  # how the secret was written, e.g. "Bearer {c}", "{c}", "https://u:{c}@host"
    forms: tuple[str, ...] = ()  # other spellings of the same secret to look for (base64 of Basic auth)


@dataclass(frozen=True)
class Leak:
    """A canary (or a fragment of it) found in a sink."""

    sink: str
    canary: str
    placement: Placement | None
    match: str  # what was found: the canary, a fragment, or another form
    context: str  # the text around it, with the match masked


@dataclass
class CanaryBook:
    """Every canary issued in a run, and where it was put."""

    rng: random.Random = field(default_factory=random.Random)
    placements: dict[str, Placement] = field(default_factory=dict)

    def new(self) -> str:
        return f"{PREFIX}{self.rng.getrandbits(DIGITS * 4):0{DIGITS}x}"

    def place(self, kind: str, where: str, shape: str, forms: Sequence[str] = (), canary: str | None = None) -> str:
        """Issue (or reuse) a canary for one placement; returns the text to send (``shape`` filled in)."""
        c = canary or self.new()
        self.placements[c] = Placement(c, kind, where, shape, tuple(forms))
        return shape.replace("{c}", c)

    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.placements.values():
            out[p.kind] = out.get(p.kind, 0) + 1
        return dict(sorted(out.items()))


def _mask(text: str, start: int, end: int, width: int = 60) -> str:
    left = text[max(0, start - width):start]
    right = text[end:end + width]
    return (left + "<CANARY>" + right).replace("\n", "\\n")


def scan(sink: str, text: str, placements: Mapping[str, Placement]) -> list[Leak]:
    """Every canary of ``placements`` found in ``text`` (whole, prefix-truncated, as a fragment, or in one of
    its other forms); one leak per canary and sink."""
    if not placements or not text:
        return []
    fragments: dict[str, str] = {}
    for c in placements:
        digits = c[len(PREFIX):]
        for i in range(len(digits) - FRAGMENT + 1):
            fragments[digits[i:i + FRAGMENT]] = c
    found: dict[str, Leak] = {}

    def hit(c: str, start: int, end: int) -> None:
        if c not in found:
            found[c] = Leak(sink, c, placements.get(c), text[start:end], _mask(text, start, end))

    for m in _PREFIXED.finditer(text):
        token = m.group(0)
        for c in placements:
            if c.startswith(token) or token.startswith(c):
                hit(c, m.start(), m.end())
    for m in _HEX_RUN.finditer(text):
        run = m.group(0)
        for i in range(len(run) - FRAGMENT + 1):
            c = fragments.get(run[i:i + FRAGMENT])
            if c is not None:
                hit(c, m.start() + i, m.start() + i + FRAGMENT)
                break
    for c, p in placements.items():
        for form in p.forms:
            at = text.find(form)
            if at >= 0:
                hit(c, at, at + len(form))
    return list(found.values())


def scan_all(texts: Iterable[tuple[str, str]], placements: Mapping[str, Placement]) -> list[Leak]:
    """:func:`scan` over (sink, text) pairs."""
    return [leak for sink, text in texts for leak in scan(sink, text, placements)]
