"""Seed references: the structured ``seed:`` of a contract item (lines of the seed it comes from).

``seed: 187``, ``seed: "115-124"``, ``seed: "115-124, 130"`` name lines of the contract's own seed file;
``seed: {file: other.txt, lines: "12-14"}`` lines of another. Seed files are looked up in
``$OBSCONF_SEEDS_DIR``, then in ``seeds/`` beside the contract.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from obsconf.contract.model import SeedRef

#: Env var naming a directory of seed files (default: ``seeds/`` beside the contract).
ENV_SEEDS_DIR = "OBSCONF_SEEDS_DIR"


def parse_lines(value: int | str) -> tuple[tuple[int, int], ...]:
    """``187`` / ``"115-124, 130"`` -> ``((187, 187),)`` / ``((115, 124), (130, 130))``; ValueError when a
    range runs backwards."""
    if isinstance(value, int):
        return ((value, value),)
    ranges = []
    for part in str(value).split(","):
        a, _, b = part.strip().partition("-")
        first, last = int(a), int(b or a)
        if last < first:
            raise ValueError(f"line range {part.strip()!r} runs backwards")
        ranges.append((first, last))
    return tuple(ranges)


def seed_ref(raw: Any, default_file: str) -> SeedRef:
    """A :class:`SeedRef` from the contract's ``seed:`` value (already schema-valid)."""
    if isinstance(raw, dict):
        return SeedRef(str(raw.get("file") or default_file), parse_lines(raw["lines"]))
    return SeedRef(default_file, parse_lines(raw))


def seed_dirs(contract_dir: Path) -> list[Path]:
    """Where seed files are looked for, in order."""
    dirs = [Path(os.environ[ENV_SEEDS_DIR])] if os.environ.get(ENV_SEEDS_DIR) else []
    return dirs + [contract_dir / "seeds"]


def find_seed(name: str, contract_dir: Path) -> Path | None:
    """The seed file ``name`` (a file name, or a path relative to the contract), or None when absent."""
    direct = contract_dir / name
    if direct.is_file():
        return direct
    for directory in seed_dirs(contract_dir):
        path = directory / Path(name).name
        if path.is_file():
            return path
    return None
