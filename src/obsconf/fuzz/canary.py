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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

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
    found: dict[str, Leak] = {}
    hits = chain(_prefixed_hits(text, placements), _fragment_hits(text, placements), _form_hits(text, placements))
    for canary, start, end in hits:
        if canary not in found:
            found[canary] = Leak(sink, canary, placements.get(canary), text[start:end], _mask(text, start, end))
    return list(found.values())


def _prefixed_hits(text: str, placements: Mapping[str, Placement]) -> Iterator[tuple[str, int, int]]:
    """(canary, start, end) of each prefixed token that is a canary, or a truncated one."""
    for m in _PREFIXED.finditer(text):
        token = m.group(0)
        for canary in placements:
            if canary.startswith(token) or token.startswith(canary):
                yield canary, m.start(), m.end()


def _fragment_hits(text: str, placements: Mapping[str, Placement]) -> Iterator[tuple[str, int, int]]:
    """(canary, start, end) of the first fragment of a canary's digits in each run of hex digits."""
    fragments: dict[str, str] = {}
    for canary in placements:
        digits = canary[len(PREFIX):]
        for i in range(len(digits) - FRAGMENT + 1):
            fragments[digits[i:i + FRAGMENT]] = canary
    for m in _HEX_RUN.finditer(text):
        run = m.group(0)
        for i in range(len(run) - FRAGMENT + 1):
            canary = fragments.get(run[i:i + FRAGMENT])
            if canary is not None:
                yield canary, m.start() + i, m.start() + i + FRAGMENT
                break


def _form_hits(text: str, placements: Mapping[str, Placement]) -> Iterator[tuple[str, int, int]]:
    """(canary, start, end) of the first occurrence of each other form of a canary (encoded, escaped, ...)."""
    for canary, placement in placements.items():
        for form in placement.forms:
            at = text.find(form)
            if at >= 0:
                yield canary, at, at + len(form)


def scan_all(texts: Iterable[tuple[str, str]], placements: Mapping[str, Placement]) -> list[Leak]:
    """:func:`scan` over (sink, text) pairs."""
    return [leak for sink, text in texts for leak in scan(sink, text, placements)]
