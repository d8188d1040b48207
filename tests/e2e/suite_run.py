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
    report_dir: Path | None = None  # the run summary and the services' output (services/<contract id>/)

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
    """``fixtures/contracts/persist.yaml::persist-spans-x`` -> ``persist-spans-x``."""
    return test_id.rsplit("::", 1)[-1]


def broken_command(profile: str, breaks: Sequence[str] = ()) -> str:
    """The command that serves the broken target (``breaks`` empty: the unbroken reference), for
    ``--obsconf-target-cmd``; run with :data:`BROKEN_ENV` so ``tests.broken_target`` imports."""
    import shlex

    return shlex.join([sys.executable, "-m", "tests.broken_target", "--profile", profile, "--port", "{port}",
                       "--break", ",".join(breaks) or "none"])


#: what a process serving ``tests.broken_target`` or ``tests.faults.broken`` needs to import them
BROKEN_ENV = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def run_suite(args: Sequence[str], *, report_dir: Path, env: Mapping[str, str] | None = None,
              timeout: float = 400.0, cwd: Path = REPO_ROOT) -> SuiteRun:
    """``python -m pytest <args>`` in ``cwd`` (the repository root), its summary in ``report_dir``."""
    argv = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q", "--color=no",
            "--obsconf-report-dir", str(report_dir)]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child_env.update(env or {})
    began = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=child_env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    run = SuiteRun(argv, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - began, report_dir=report_dir)
    summary = report_dir / "conformance.json"
    if summary.exists():
        data = json.loads(summary.read_text())
        run.meta = dict(data.get("meta", {}))
        for contract in data.get("contracts", {}).values():
            for check in contract.get("checks", []):
                run.results[_short(check["test_id"])] = Outcome(
                    check["outcome"], frozenset(f["check"] for f in check.get("findings", ())), check.get("message", ""))
    return run
