"""Traceability: which lines of each seed the contract's cases check, and why the others are not checked.

A seed's *statements* are its content lines: not blank, not a Markdown heading, fence, rule or table border,
and not a line of brackets only. Each statement line is
- **checked** by the cases whose contract items name it (``seed:`` on an item; a case owns the items at its
  source paths and below them, unless another case's source is closer);
- **untested** with a reason (``untested:`` entries; :data:`obsconf.contract.kinds.UNTESTED_REASONS` says which
  reasons still count as testable);
- or **unaccounted**: no item and no reason name it (counted as testable and unchecked).

The coverage of a seed is checked testable lines over testable lines. Pure: contracts and seed texts in, a
document out (``obsconf contract coverage`` prints it; the run summary carries it in its ``coverage`` slot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.contract.kinds import UNTESTED_REASONS
from obsconf.contract.model import Contract
from obsconf.contract.seedref import find_seed

CHECKED = "checked"
UNACCOUNTED = "unaccounted"
SEED_DEFECT = "seed defect"

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_RULE = re.compile(r"^\s*([-*_]\s*){3,}$")
_TABLE_BORDER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_PUNCTUATION = re.compile(r"^[\s{}\[\]()<>;,.:`'\"|\\/-]*$")
_BOLD_LABEL = re.compile(r"^\s*\*\*[^*]+\*\*:?\s*$")  # "**Features:**": a heading in all but name


def statement_lines(text: str) -> list[int]:
    """The 1-based numbers of the content lines of a seed (see the module docstring)."""
    out = []
    in_code = False
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if not line.strip() or _PUNCTUATION.match(line):
            continue
        if not in_code:
            header_row = number < len(lines) and "|" in lines[number] and bool(_TABLE_BORDER.match(lines[number]))
            if _HEADING.match(line) or _RULE.match(line) or _TABLE_BORDER.match(line) or _BOLD_LABEL.match(line) \
                    or header_row:
                continue
        out.append(number)
    return out


def _ranges(numbers: Iterable[int]) -> str:
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = prev = None
    for n in ordered:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ", ".join(parts)


@dataclass
class LineState:
    """What the contract says about one statement line."""

    cases: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    reason: str = ""  # an untested reason, when no case checks it
    note: str = ""
    defect: str = ""  # a seed defect the contract reports on this line


@dataclass
class SeedCoverage:
    """One seed's statements and what checks them."""

    seed: str
    contract: str  # the contract id (the reference profile)
    lines: dict[int, LineState]
    text: list[str]
    missing_seed: bool = False

    @property
    def testable(self) -> list[int]:
        return [n for n, s in self.lines.items() if s.cases or not s.reason or UNTESTED_REASONS[s.reason][0]]

    @property
    def checked(self) -> list[int]:
        return [n for n, s in self.lines.items() if s.cases]

    @property
    def percent(self) -> float:
        testable = self.testable
        return 100.0 * len(self.checked) / len(testable) if testable else 100.0

    def status(self, number: int) -> str:
        state = self.lines[number]
        if state.cases:
            return CHECKED
        return state.reason or UNACCOUNTED

    def rows(self) -> list[dict[str, Any]]:
        """Consecutive statement lines with the same status, cases and note, as report rows."""
        rows: list[dict[str, Any]] = []
        for number in sorted(self.lines):
            state = self.lines[number]
            status = SEED_DEFECT if state.defect else self.status(number)
            key = (status, tuple(sorted(state.cases)), state.note if not state.cases else "", state.defect)
            if rows and rows[-1]["_key"] == key and rows[-1]["_last"] in self._previous(number):
                rows[-1]["_last"] = number
                rows[-1]["_lines"].append(number)
                continue
            rows.append({"_key": key, "_last": number, "_lines": [number], "status": status,
                         "cases": sorted(state.cases), "contract_path": ", ".join(sorted(state.paths)),
                         "note": state.defect or (state.note if not state.cases else ""),
                         "requirement": self.text[number - 1].strip()[:120]})
        out = []
        for row in rows:
            lines = row.pop("_lines")
            row.pop("_key")
            row.pop("_last")
            out.append({"requirement": row["requirement"], "seed_lines": _ranges(lines),
                        "contract_path": row["contract_path"], "cases": row["cases"], "status": row["status"],
                        "note": row["note"]})
        return out

    def _previous(self, number: int) -> set[int]:
        """The statement lines that may precede ``number`` in one row (blank or non-statement lines between)."""
        before = [n for n in self.lines if n < number]
        return {max(before)} if before else set()

    def summary(self) -> dict[str, Any]:
        untestable = {r: sum(1 for s in self.lines.values() if not s.cases and s.reason == r)
                      for r in UNTESTED_REASONS}
        return {"statements": len(self.lines), "testable": len(self.testable), "checked": len(self.checked),
                "percent": round(self.percent, 1),
                "unaccounted": sum(1 for s in self.lines.values() if not s.cases and not s.reason),
                "untested": {k: v for k, v in untestable.items() if v}}

    def document(self) -> dict[str, Any]:
        return {"seed": self.seed, "summary": self.summary(), "rows": self.rows()}


def _owner(path: str, sources: Sequence[str]) -> str | None:
    """The closest source path of which ``path`` is (or is below) one."""
    best = None
    for src in sources:
        if path == src or path.startswith(src + ".") or path.startswith(src + "["):
            if best is None or len(src) > len(best):
                best = src
    return best


def seed_coverage(contract: Contract, *, seed_text: str | None = None) -> SeedCoverage:
    """The coverage of ``contract``'s own seed by ``contract``'s cases (lines of other seeds are left out)."""
    name = contract.seed or ""
    if seed_text is None:
        found = find_seed(name, contract.path.parent) if name else None
        seed_text = found.read_text(encoding="utf-8", errors="replace") if found else None
    if seed_text is None:
        return SeedCoverage(name, contract.id, {}, [], missing_seed=True)
    text = seed_text.splitlines()
    lines = {n: LineState() for n in statement_lines(seed_text)}
    _mark_checked(contract, name, lines)
    for u in contract.untested:
        if Path(u.ref.file).name != Path(name).name:
            continue
        for n in u.ref.lines():
            if n in lines and not lines[n].reason:
                lines[n].reason = u.reason
                lines[n].note = u.note
    _mark_defects(contract, lines)
    return SeedCoverage(name, contract.id, lines, text)


def _mark_checked(contract: Contract, seed: str, lines: dict[int, LineState]) -> None:
    """Each line of ``seed`` an item names gets the item's path and the cases that own the item."""
    from obsconf.cases.suite import build_cases

    cases = build_cases(contract)
    sources = sorted({s for case in cases for s in case.sources})
    by_source: dict[str, list[str]] = {}
    for case in cases:
        for src in case.sources:
            by_source.setdefault(src, []).append(case.id)
    for path, item in contract.trace.items():
        owner = _owner(path, sources)
        ids = by_source.get(owner, []) if owner is not None else []
        for ref in item.refs:
            if Path(ref.file).name != Path(seed).name:
                continue
            for n in ref.lines():
                if n in lines:
                    lines[n].cases.update(ids)
                    lines[n].paths.add(path)


def _mark_defects(contract: Contract, lines: dict[int, LineState]) -> None:
    """The lines of an alert rule the contract proves defective carry the defect's claim."""
    if contract.alerts is None:
        return
    for rule in contract.alerts.rules:
        item = contract.trace.get(rule.loc.split(" ", 1)[-1])
        if rule.defect is None or item is None:
            continue
        for ref in item.refs:
            for n in ref.lines():
                if n in lines:
                    lines[n].defect = f"{rule.name}: {rule.defect.claim}"


def coverage_document(contracts: Sequence[Contract]) -> dict[str, Any]:
    """``{contract id: {seed, summary, rows}}``: the run summary's ``coverage`` slot."""
    out: dict[str, Any] = {}
    for contract in contracts:
        cov = seed_coverage(contract)
        if not cov.missing_seed:
            out[contract.id] = cov.document()
    return out


def render_text(covs: Sequence[SeedCoverage]) -> str:
    """The per-seed listing ``obsconf contract coverage`` prints."""
    out: list[str] = []
    for cov in covs:
        if cov.missing_seed:
            out += [f"{cov.contract}: seed {cov.seed!r} not found (put it in seeds/ beside the contract, or set "
                    "OBSCONF_SEEDS_DIR)", ""]
            continue
        s = cov.summary()
        out.append(f"{cov.contract} (seed {cov.seed}): {s['checked']} of {s['testable']} testable statement lines "
                   f"checked ({s['percent']:.1f}%); {s['statements']} statement lines, {s['unaccounted']} unaccounted")
        for row in cov.rows():
            if row["cases"]:
                defect = f"  [seed defect: {row['note']}]" if row["status"] == SEED_DEFECT else ""
                out.append(f"  l.{row['seed_lines']}: {', '.join(row['cases'])}{defect}")
        uncovered = [r for r in cov.rows() if not r["cases"]]
        if uncovered:
            out.append("  not checked:")
            for row in uncovered:
                why = row["status"] if row["status"] not in UNTESTED_REASONS else (
                    f"{row['status']} ({UNTESTED_REASONS[row['status']][1]})")
                note = f": {row['note']}" if row["note"] else ""
                out.append(f"    l.{row['seed_lines']} [{why}]{note}")
        out.append("")
    return "\n".join(out)


def render_markdown(covs: Sequence[SeedCoverage]) -> str:
    """The summary table for fixtures/contracts/README.md and reports/coverage.md."""
    out = ["| contract | seed | statement lines | testable | checked | coverage | untested (not testable) |",
           "|---|---|---:|---:|---:|---:|---|"]
    for cov in covs:
        if cov.missing_seed:
            continue
        s = cov.summary()
        why = ", ".join(f"{k} {v}" for k, v in s["untested"].items() if not UNTESTED_REASONS[k][0]) or "-"
        out.append(f"| {cov.contract} | `{cov.seed}` | {s['statements']} | {s['testable']} | {s['checked']} | "
                   f"{s['percent']:.1f}% | {why} |")
    return "\n".join(out) + "\n"


def write_reports(covs: Sequence[SeedCoverage], json_path: Path | None = None, md_path: Path | None = None
                  ) -> dict[str, Any]:
    """Write the coverage document (JSON: the run summary's ``coverage`` slot) and its Markdown; returns the
    document. Seeds that were not found are left out."""
    import json

    found = [c for c in covs if not c.missing_seed]
    doc = {c.contract: c.document() for c in found}
    if json_path is not None:
        json_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if md_path is not None:
        md_path.write_text("# Seed coverage\n\n" + render_markdown(found) + "\n" + "\n".join(
            f"## {c.contract}\n\n```\n{render_text([c])}```\n" for c in found), encoding="utf-8")
    return doc
