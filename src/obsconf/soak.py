"""``scripts/soak N``: run the conformance suite N times in a row and report every case whose verdict changed.

Two series: ``warm`` runs every time against one stack started once (``obsconf stack up``, the suite
attached to it with ``--obsconf-stack=attach``), ``fresh`` starts a new process stack per run.
Outcomes come from each run's own summary (``--obsconf-report-dir DIR`` -> ``DIR/conformance.json``), keyed by
test id as the suite wrote it, so nothing here depends on how ids look. A flip is a test whose outcome
differs between two runs of one series (a test missing from a run counts as ``absent``). Writes
``reports/soak.json``; exit 1 when any test flipped.

Verdicts that stay the same are not flips; the report lists them apart (``failing_every_run``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from obsconf.errors import ObsconfError, UsageError
from obsconf.report.summary import SEED_DEFECT_OUTCOME as SEED_DEFECT

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TESTS = ("conformance",)


# ---- pure: outcomes, flips, report ----------------------------------------------------------------------


def outcomes(summary: Mapping[str, Any]) -> dict[str, str]:
    """test id -> outcome, from one run's ``conformance.json``."""
    out = {}
    for contract in summary.get("contracts", {}).values():
        for check in contract.get("checks", []):
            out[str(check["test_id"])] = str(check["outcome"])
    return out


def flips(runs: Sequence[Mapping[str, str]]) -> dict[str, list[str]]:
    """Tests whose outcome is not the same in every run (``absent`` where a run did not report it), with the
    outcome of each run in order."""
    ids = sorted({tid for run in runs for tid in run})
    out = {}
    for tid in ids:
        seen = [run.get(tid, "absent") for run in runs]
        if len(set(seen)) > 1:
            out[tid] = seen
    return out


@dataclass
class Run:
    index: int
    exit_status: int
    duration_s: float
    passed: int
    failed: int
    report: str
    seed_defects: int = 0  # xfails that prove a defect of the seed: expected, not failures


@dataclass
class Series:
    name: str
    runs: list[Run] = field(default_factory=list)
    outcomes: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        flipped = flips(self.outcomes)
        always_failing = sorted(tid for tid in (self.outcomes[0] if self.outcomes else {})
                                if all(o.get(tid) not in (None, "passed", SEED_DEFECT) for o in self.outcomes))
        return {"runs": [asdict(r) for r in self.runs], "tests": len({t for o in self.outcomes for t in o}),
                "flips": flipped, "flip_count": len(flipped), "failing_every_run": always_failing}


def render_json(series: Sequence[Series], *, meta: Mapping[str, Any]) -> str:
    parts = {s.name: s.summary() for s in series}
    return json.dumps({"schema_version": 1, "meta": dict(meta),
                       "flip_count": sum(p["flip_count"] for p in parts.values()), "series": parts}, indent=2)


# ---- running the suite ----------------------------------------------------------------------------------


def _pytest(args: Sequence[str], report_dir: Path, log: Path, timeout: float) -> tuple[int, float]:
    argv = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "--color=no",
            "--obsconf-report-dir", str(report_dir)]
    began = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return done.returncode, time.monotonic() - began


def _record(series: Series, index: int, report_dir: Path, status: int, seconds: float) -> None:
    summary_file = report_dir / "conformance.json"
    data = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    got = outcomes(data)
    series.outcomes.append(got)
    series.runs.append(Run(index, status, round(seconds, 1), sum(o == "passed" for o in got.values()),
                           sum(o not in ("passed", SEED_DEFECT) for o in got.values()), str(summary_file),
                           seed_defects=sum(o == SEED_DEFECT for o in got.values())))


def _line(name: str, run: Run, n: int, seconds: float) -> str:
    defects = f", {run.seed_defects} seed defects" if run.seed_defects else ""
    return f"{name} run {run.index}/{n}: exit {run.exit_status}, {run.passed} passed, {run.failed} failed{defects}, {seconds:.0f} s"


class WarmStack:
    """``obsconf stack up`` in the background; its endpoints are read from the JSON it prints."""

    def __init__(self, log: Path, timeout: float = 120.0) -> None:
        self.log = log
        self.timeout = timeout
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> dict[str, Any]:
        self._err = self.log.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "obsconf.cli", "stack", "up", "--mode", "process"],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        text, deadline = "", time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            text += line
            try:
                return dict(json.loads(text))
            except ValueError:
                continue
        self.__exit__()
        raise ObsconfError(f"`obsconf stack up` printed no endpoints within {self.timeout:g} s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # it stops every backend, then exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._err.close()


def soak(n: int, *, series: Sequence[str], out: Path, work: Path, tests: Sequence[str], extra: Sequence[str],
         timeout: float, say: Any = print) -> list[Series]:
    """Run the suite ``n`` times per series; returns the series with every run's outcomes."""
    done: list[Series] = []
    if "warm" in series:
        warm = Series("warm")
        with WarmStack(work / "stack-up.log"):
            args = [*tests, "--obsconf-stack=attach", *extra]
            for i in range(n):
                report = work / f"warm-{i + 1}"
                status, seconds = _pytest(args, report, work / f"warm-{i + 1}.log", timeout)
                _record(warm, i + 1, report, status, seconds)
                say(_line("warm", warm.runs[-1], n, seconds))
        done.append(warm)
    if "fresh" in series:
        fresh = Series("fresh")
        for i in range(n):
            report = work / f"fresh-{i + 1}"
            status, seconds = _pytest([*tests, "--obsconf-stack=process", *extra], report, work / f"fresh-{i + 1}.log",
                                      timeout)
            _record(fresh, i + 1, report, status, seconds)
            say(_line("fresh", fresh.runs[-1], n, seconds))
        done.append(fresh)
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", type=int, help="runs per series")
    parser.add_argument("--series", default="warm,fresh", help="warm, fresh or both (default warm,fresh)")
    parser.add_argument("--tests", action="append", default=None, help=f"what pytest runs (default {DEFAULT_TESTS[0]})")
    parser.add_argument("--out-dir", default="reports", help="where soak.json is written (default reports)")
    parser.add_argument("--work-dir", default=None, help="run summaries and logs (default <out-dir>/soak)")
    parser.add_argument("--run-timeout", type=float, default=1800.0, help="seconds one suite run may take")
    argv = list(sys.argv[1:] if argv is None else argv)
    # everything after "--" goes to pytest as it is (argparse would read its options as ours)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.pytest_args = extra
    try:
        if args.n < 1:
            raise UsageError(f"N={args.n}: run the suite at least once")
        series = [s.strip() for s in args.series.split(",") if s.strip()]
        if not series or set(series) - {"warm", "fresh"}:
            raise UsageError(f"--series {args.series!r}: use warm, fresh or warm,fresh")
        out = Path(args.out_dir)
        work = Path(args.work_dir) if args.work_dir else out / "soak"
        work.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        done = soak(args.n, series=series, out=out, work=work.resolve(), tests=args.tests or DEFAULT_TESTS,
                    extra=args.pytest_args, timeout=args.run_timeout,
                    say=lambda line: print(line, file=sys.stderr, flush=True))
    except ObsconfError as exc:
        print(f"soak: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("soak: interrupted; the warm stack was stopped", file=sys.stderr)
        return 130
    report = out / "soak.json"
    report.write_text(render_json(done, meta={
        "n": args.n, "tests": list(args.tests or DEFAULT_TESTS), "pytest_args": list(args.pytest_args),
        "duration_s": round(time.monotonic() - began, 1)}))
    total = sum(len(flips(s.outcomes)) for s in done)
    for s in done:
        for tid, seen in flips(s.outcomes).items():
            print(f"FLIP {s.name}: {tid}: {' '.join(seen)}")
    print(f"soak: {args.n} run(s) per series ({', '.join(series)}), {total} flip(s); report {report}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
