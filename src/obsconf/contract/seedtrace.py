"""Where each contract item comes from: its ``seed`` lines (checked against the seed file) or ``convention``,
and the ``untested`` seed lines with their reasons."""

from __future__ import annotations

from typing import Any

from obsconf.contract import model
from obsconf.contract.document import Doc, PathT, format_path
from obsconf.contract.seedref import find_seed, seed_ref


class _SeedRefs:
    """Reads ``seed:`` references of one contract, checking each line range against its seed file (read once)."""

    def __init__(self, doc: Doc, default_seed: str) -> None:
        self.doc, self.default_seed = doc, default_seed
        self.lengths: dict[str, int | None] = {}

    def ref(self, raw: Any, path: PathT) -> model.SeedRef:
        doc = self.doc
        try:
            got = seed_ref(raw, self.default_seed)
        except ValueError as exc:
            raise doc.error(path, str(exc)) from None
        if not got.file:
            raise doc.error(path, "a seed reference needs the contract's top-level 'seed' (the seed file's name), "
                            "or a 'file'")
        if got.file not in self.lengths:
            found = find_seed(got.file, doc.file.parent)
            self.lengths[got.file] = (len(found.read_text(encoding="utf-8", errors="replace").splitlines())
                                      if found else None)
        total = self.lengths[got.file]
        last = max(b for _, b in got.ranges)
        if total is not None and last > total:
            raise doc.error(path, f"line {last} is past the end of seed {got.file} ({total} lines)")
        return got


def item_traces(doc: Doc, default_seed: str) -> tuple[dict[str, model.ItemTrace], tuple[model.Untested, ...]]:
    """Every item's ``seed``/``convention``, keyed by contract path, and the ``untested`` entries; each seed
    line range is checked against its seed file when the file is found."""
    ref = _SeedRefs(doc, default_seed).ref
    table: dict[str, model.ItemTrace] = {}

    def walk(node: Any, path: PathT) -> None:
        if isinstance(node, dict):
            if path and path[0] != "untested" and ("seed" in node or "convention" in node):
                refs = (ref(node["seed"], path + ("seed",)),) if "seed" in node else ()
                table[format_path(path)] = model.ItemTrace(format_path(path), refs, str(node.get("convention", "")),
                                                           loc=doc.loc(path))
            for key, value in node.items():
                if not (key == "seed" and path):
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + (i,))

    walk(doc.data, ())
    untested = tuple(
        model.Untested(ref=ref(u["seed"], ("untested", i, "seed")), reason=u["reason"], note=u.get("note", ""),
                       loc=doc.loc(("untested", i)))
        for i, u in enumerate(doc.data.get("untested", []))
    )
    return table, untested
