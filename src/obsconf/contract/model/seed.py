"""Where a contract item comes from: seed lines (:class:`SeedRef`, :class:`ItemTrace`) and the seed lines
no case checks (:class:`Untested`)."""

from __future__ import annotations

from dataclasses import dataclass

from obsconf.contract.model.located import Located


@dataclass(frozen=True)
class SeedRef:
    """Lines of a seed file that a contract item comes from (1-based, inclusive ranges)."""

    file: str
    ranges: tuple[tuple[int, int], ...]

    def lines(self) -> set[int]:
        return {n for a, b in self.ranges for n in range(a, b + 1)}

    def text(self) -> str:
        """``"115-124, 130"``."""
        return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges)


@dataclass(frozen=True)
class ItemTrace(Located):
    """Where one contract item (a mapping at ``path``) comes from: seed lines, or an obsconf convention."""

    path: str  # contract path, e.g. "spans.operations[2]"
    refs: tuple[SeedRef, ...] = ()
    convention: str = ""


@dataclass(frozen=True)
class Untested(Located):
    """Seed lines no case checks, and why (``reason`` is a key of ``kinds.UNTESTED_REASONS``)."""

    ref: SeedRef
    reason: str
    note: str = ""
