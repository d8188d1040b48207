"""Run the real conformance suite in a subprocess and read back what it decided, test by test.

The outcome of each test and the check names of its findings come from the suite's own run summary
(``--obsconf-report-dir``, ``conformance.json``), the same file a CI job reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = REPO_ROOT / "fixtures" / "contracts"


@dataclass(frozen=True)
class Outcome:
    """One conformance test: ``passed``/``failed``/``error``, the check names of its findings, its message."""

    outcome: str
    checks: frozenset[str]
    message: str


@dataclass
class SuiteRun:
    """One subprocess run of the suite."""

    argv: list[str]
    returncode: int
    output: str
    seconds: float
    results: dict[str, Outcome] = field(default_factory=dict)  # short test id (persist-spans-x) -> outcome
    meta: dict[str, object] = field(default_factory=dict)  # the run summary's meta (stack, target, exit status)
    log_dir: Path | None = None  # where the e2e plugin wrote the service's log (OBSCONF_E2E_LOG_DIR)

    def failing(self) -> set[str]:
        return {tid for tid, o in self.results.items() if o.outcome != "passed"}

    def describe(self, ids: Sequence[str] = ()) -> str:
        """What to print when an assertion about this run fails: the command, then the tests asked about."""
        chosen = ids or sorted(self.results)
        lines = [f"$ {' '.join(self.argv)}  (exit {self.returncode}, {self.seconds:.1f} s)"]
        for tid in chosen:
            o = self.results.get(tid)
            lines.append(f"  {tid}: {'(not run)' if o is None else f'{o.outcome} {sorted(o.checks)}'}")
        lines.append("--- output tail ---")
        lines.append(self.output[-6000:])
        return "\n".join(lines)


def _short(test_id: str) -> str:
    return test_id.split("[", 1)[1].rstrip("]") if "[" in test_id else test_id


def run_suite(args: Sequence[str], *, report_dir: Path, env: Mapping[str, str] | None = None,
              plugin: bool = True, timeout: float = 150.0) -> SuiteRun:
    """``python -m pytest <args>`` in the repository root, with the e2e plugin unless ``plugin`` is False."""
    argv = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q", "--color=no",
            "--obsconf-report-dir", str(report_dir)]
    if plugin:
        argv[3:3] = ["-p", "tests.e2e.suite_plugin"]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OBSCONF_E2E_"))}
    child_env.update(env or {})
    began = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=child_env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    run = SuiteRun(argv, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - began)
    if child_env.get("OBSCONF_E2E_LOG_DIR"):
        run.log_dir = Path(child_env["OBSCONF_E2E_LOG_DIR"])
    summary = report_dir / "conformance.json"
    if summary.exists():
        data = json.loads(summary.read_text())
        run.meta = dict(data.get("meta", {}))
        for contract in data.get("contracts", {}).values():
            for check in contract.get("checks", []):
                run.results[_short(check["test_id"])] = Outcome(
                    check["outcome"], frozenset(f["check"] for f in check.get("findings", ())), check.get("message", ""))
    return run
