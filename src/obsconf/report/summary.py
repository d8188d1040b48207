"""The conformance run summary: per contract, checks passed and failed, with their findings.

Pure: the pytest plugin feeds it one :class:`CheckResult` per conformance test and writes what
:func:`render_json` and :func:`render_markdown` return into ``reports/`` (and the page of
:mod:`obsconf.report.html`, rendered from the JSON alone).

The JSON document (``reports/conformance.json``)::

    schema_version: 1
    meta: {stack, target, exit_status, ...}
    totals: {passed, failed}
    contracts:
      <profile>:
        passed, failed, seed_defects
        checks: [{contract, section, test_id, case_id, describe, outcome, duration_s, findings, message}]
          # outcome: passed | failed | error | seed_defect (the case proved the seed itself wrong: not a failure)
          # case_id: the stable case id (<profile>-<section>-<item>); findings: obsconf.model.Finding as dicts
          # {check, where, message, expected, actual, query, link}
        opt_outs: [{check, reason, where}]     # checks the contract turns off (skip, semconv: false)
    coverage:                                  # optional: per-seed traceability (obsconf contract coverage)
      <profile>:
        seed: "000_....txt"
        rows: [{requirement, seed_lines, contract_path, cases: [case ids], status, note}]
          # every key optional; other keys are shown as extra columns

Readers must ignore keys they do not know: new optional keys keep ``schema_version`` at 1.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CheckResult:
    contract: str
    section: str
    test_id: str
    outcome: str  # "passed" | "failed" | "error"
    duration_s: float
    findings: tuple[dict[str, Any], ...] = ()
    message: str = ""  # the failure text when there are no structured findings
    case_id: str = ""  # <profile>-<section>-<item>, stable across runs and test layouts
    describe: str = ""  # what the case checks, in words (obsconf.cases.text)


#: The outcome of a case that proved a defect of the seed itself (reported beside passed and failed).
SEED_DEFECT_OUTCOME = "seed_defect"


@dataclass
class ContractSummary:
    contract: str
    passed: int = 0
    failed: int = 0
    seed_defects: int = 0
    checks: list[CheckResult] = field(default_factory=list)


def summarize(results: list[CheckResult]) -> dict[str, ContractSummary]:
    by_contract: dict[str, ContractSummary] = {}
    for result in results:
        summary = by_contract.setdefault(result.contract, ContractSummary(result.contract))
        summary.checks.append(result)
        if result.outcome == "passed":
            summary.passed += 1
        elif result.outcome == SEED_DEFECT_OUTCOME:
            summary.seed_defects += 1
        else:
            summary.failed += 1
    return dict(sorted(by_contract.items()))


def render_json(results: list[CheckResult], *, meta: dict[str, Any] | None = None,
                opt_outs: dict[str, list[dict[str, str]]] | None = None,
                coverage: dict[str, Any] | None = None) -> str:
    """The run summary document (shape in the module docstring); ``opt_outs`` and ``coverage`` by contract."""
    summaries = summarize(results)
    opt_outs = opt_outs or {}
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "meta": meta or {},
        "totals": {"passed": sum(s.passed for s in summaries.values()),
                   "failed": sum(s.failed for s in summaries.values())},
        "contracts": {
            name: {"passed": s.passed, "failed": s.failed, "seed_defects": s.seed_defects,
                   "checks": [asdict(c) for c in s.checks], "opt_outs": list(opt_outs.get(name, []))}
            for name, s in summaries.items()
        },
    }
    if coverage:
        doc["coverage"] = coverage
    return json.dumps(doc, indent=2, default=str)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: list[CheckResult], *, meta: dict[str, Any] | None = None,
                    opt_outs: dict[str, list[dict[str, str]]] | None = None) -> str:
    summaries = summarize(results)
    lines = ["# Conformance run", ""]
    for key, value in (meta or {}).items():
        lines.append(f"- {key}: {value}")
    lines += ["", "| contract | passed | failed |", "|---|---:|---:|"]
    lines += [f"| {name} | {s.passed} | {s.failed} |" for name, s in summaries.items()]
    for name, s in summaries.items():
        defects = [c for c in s.checks if c.outcome == SEED_DEFECT_OUTCOME]
        if defects:
            lines += ["", f"## {name}: {len(defects)} seed defect(s) (the seed is wrong, not the service)", ""]
            lines += [f"- `{c.case_id or c.test_id}`: " + "; ".join(_cell(str(f.get("message", "")))
                                                                     for f in c.findings) for c in defects]
        failed = [c for c in s.checks if c.outcome not in ("passed", SEED_DEFECT_OUTCOME)]
        if not failed:
            continue
        lines += ["", f"## {name}: {len(failed)} failed", ""]
        for check in failed:
            lines.append(f"### `{check.case_id or check.test_id}` ({check.section})")
            if check.describe:
                lines += ["", f"Checks: {check.describe}"]
            if check.findings:
                lines += ["", "| check | where | message | expected | actual |", "|---|---|---|---|---|"]
                for f in check.findings:
                    lines.append("| " + " | ".join(_cell(str(f.get(k, "") if f.get(k) is not None else ""))
                                                   for k in ("check", "where", "message", "expected", "actual")) + " |")
            else:
                lines += ["", "```", check.message.strip()[:2000], "```"]
            lines.append("")
    for name, items in sorted((opt_outs or {}).items()):
        if items and name in summaries:
            lines += ["", f"## {name}: not run (turned off by the contract)", ""]
            lines += [f"- `{o['check']}` ({o.get('where', '')}): {_cell(o['reason'])}" for o in items]
    return "\n".join(lines) + "\n"
