"""The base of every contract item: where in the contract file it was written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Located:
    """A contract item that knows its place in the contract, ``loc`` ("persist.yaml:42 spans.operations[2]"),
    so a finding can point at the line it was checked against. Keyword-only, so an item's own fields keep
    their order and defaults; "" for an item built by hand (tests)."""

    loc: str = ""
