"""``obsconf gate REPORT``: pass or fail a build on an overhead report, deciding on confidence bounds.

Exit codes (stable, scripts may rely on them):

* ``0`` pass: every limit holds even at the *upper* bound of its 95 % confidence interval;
* ``1`` fail: some limit is broken even at the *lower* bound (the excess is real, not noise);
* ``3`` undecided: an interval straddles a limit, or the run itself is unusable (errors, empty rounds);
  the run was too noisy (or too short) to decide, and the message says how many more rounds to try;
* ``4`` the report (or baseline) cannot be read or is not an overhead report.

(``2`` stays with argparse, which uses it for a wrong command line.)

Limits, each on the variant ``--variant`` (default A, the instrumented service) against B (off):

* ``--max-overhead-ratio``: added CPU per request in *bare-request units*, ``(A - B) / bare``, where bare is
  the empty ASGI app measured in the same run: machine-independent, the goal is 0.4;
* ``--max-p99-ratio``: latency p99 of A over B at the run's fixed arrival rate (goal 1.5);
* ``--max-overhead-us`` (extra CPU microseconds per request, paired by block; the seeds' budgets are
  written in ms, so they are gated in us) and ``--max-overhead-pct`` (the same as a percentage of B);
* with ``--baseline OLD`` (a baseline of ratios, or an older report), ``--max-regression-pct``: how much
  the A/B CPU ratio may grow from the baseline to this run.

With no limit and no baseline given, the gate applies the report's goals (``--max-overhead-ratio 0.4 --max-p99-ratio
1.5``; ``--max-overhead-us 100`` for a report without the bare calibration). ``--variant burn`` judges
the run's burn variant instead of A: the same run then proves that the gate catches an injected change.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.errors import ContractError
from obsconf.overhead import figures
from obsconf.overhead.entry import standalone
from obsconf.overhead.schema import VARIANT_KEYS, config_differences, load_baseline, load_report, pair_values
from obsconf.overhead.stats import Bounds, PairedComparison, compare_pairs, ratio_change

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_UNDECIDED = 3
EXIT_BAD_INPUT = 4

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
DEFAULT_MAX_REGRESSION_PCT = 10.0
#: Rounds whose error share exceeds this make a run unusable: their CPU per request is not comparable.
MAX_ERROR_SHARE = 0.01


@dataclass(frozen=True)
class Check:
    """One limit and what the report says about it."""

    name: str
    verdict: str  # PASS | FAIL | UNDECIDED
    detail: str


@dataclass
class GateResult:
    """All checks of one gate run; the overall verdict is the worst of them."""

    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.checks}
        if FAIL in verdicts:
            return FAIL
        if UNDECIDED in verdicts or not self.checks:
            return UNDECIDED
        return PASS

    @property
    def exit_code(self) -> int:
        return {PASS: EXIT_PASS, FAIL: EXIT_FAIL, UNDECIDED: EXIT_UNDECIDED}[self.verdict]

    def render(self) -> str:
        """A one-screen explanation: the verdict, each check, then notes."""
        head = {
            PASS: "GATE PASS: every limit holds at the upper bound of its 95% confidence interval.",
            FAIL: "GATE FAIL: a limit is exceeded even at the lower bound of its 95% confidence interval.",
            UNDECIDED: "GATE UNDECIDED: the run is too noisy or too short to decide (exit 3).",
        }[self.verdict]
        lines = [head]
        lines += [f"  [{c.verdict.upper():9}] {c.name}: {c.detail}" for c in self.checks]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class Limits:
    """The limits a gate run applies (None: not checked)."""

    max_overhead_pct: float | None = None
    max_overhead_us: float | None = None
    max_overhead_ratio: float | None = None
    max_p99_ratio: float | None = None
    max_regression_pct: float | None = None


def decide_limit(name: str, bounds: Bounds, limit: float, unit: str, more_rounds_hint: str, fmt: str = "+.1f"
                 ) -> Check:
    """Pass when the upper bound is within ``limit``, fail when the lower bound exceeds it, else undecided."""
    point, low, high = bounds.point, bounds.low, bounds.high
    interval = (f"median {point:{fmt}}{unit}, 95% CI [{low:{fmt}}, {high:{fmt}}]{unit}, limit {limit:g}{unit}")
    if high <= limit:
        return Check(name, PASS, f"{interval}: upper bound within the limit")
    if low > limit:
        return Check(name, FAIL, f"{interval}: even the lower bound exceeds the limit")
    return Check(
        name, UNDECIDED,
        f"{interval}: the interval straddles the limit (this run resolves changes of about "
        f"{bounds.detection:{fmt.lstrip('+')}}{unit}); {more_rounds_hint}",
    )


def _more_rounds_hint(pairs: int) -> str:
    # the interval narrows like 1/sqrt(pairs): 4x the pairs halves it
    return f"re-run with --rounds {4 * pairs} (4x the pairs halves the interval)"


def _usability(doc: dict[str, Any], source: str, variants: set[str]) -> list[Check]:
    checks = []
    for rnd in doc["rounds"]:
        if rnd["variant"] not in variants:
            continue
        total = rnd["requests"] + rnd["errors"]
        if rnd["requests"] == 0:
            checks.append(Check(f"round {rnd['index']} ({source})", UNDECIDED,
                                "no request completed: the service did not answer; see the service log"))
        elif total and rnd["errors"] / total > MAX_ERROR_SHARE:
            checks.append(Check(
                f"round {rnd['index']} ({source})", UNDECIDED,
                f"{rnd['errors']} of {total} requests failed: CPU per request is not comparable; fix the "
                "service or the route (--path) first"))
    return checks


def evaluate(doc: dict[str, Any], *, baseline: list[float] | None = None, variant: str = "A",
             baseline_config: dict[str, Any] | None = None, **limits: float | None) -> GateResult:
    """Decide on a validated report (and the per-block A/B ratios of a baseline). Pure: no files, no clock.
    ``limits``: the fields of :class:`Limits` (``max_overhead_us=100``, ...); with none and no baseline, the
    report's goals apply."""
    given = Limits(**limits)
    result = GateResult()
    if variant not in doc["variants"]:
        result.checks.append(Check("variant", UNDECIDED, f"the report has no variant {variant!r} (it has "
                                   f"{', '.join(sorted(doc['variants']))})"))
        return result
    if baseline is None and given == Limits():
        given = _goals(doc, result)
    used = {variant, "B"} | ({"bare"} if given.max_overhead_ratio is not None else set())
    result.checks += _usability(doc, "report", used)
    a, b = pair_values(doc, a=variant)
    if not a:
        result.checks.append(Check("blocks", UNDECIDED, f"the report holds no block with both {variant} and B"))
        return result
    cmp = compare_pairs(a, b)
    hint = _more_rounds_hint(cmp.pairs)
    result.checks += _cpu_checks(doc, variant, given, cmp, hint)
    result.notes.append(
        f"{cmp.pairs} blocks; {variant} {cmp.a_median:.1f} us vs B {cmp.b_median:.1f} us CPU per request "
        f"(medians); smallest change this run can see: about {cmp.detection_limit_abs:.1f} us "
        f"({cmp.detection_limit_pct:.1f}%)")
    if baseline is not None:
        _baseline_check(result, doc, variant, [x / y for x, y in zip(a, b, strict=True)], baseline,
                        given.max_regression_pct, baseline_config, hint)
    elif given.max_regression_pct is not None:
        result.notes.append("--max-regression-pct needs --baseline OLD_REPORT: regression was not checked")
    _saturation_notes(doc, result, used)
    return result


def _goals(doc: dict[str, Any], result: GateResult) -> Limits:
    """No limit given: the report's goals (in bare-request units when the run has the bare calibration)."""
    goal = doc["goal"]
    p99 = float(goal["max_p99_ratio"])
    if "bare" in doc["variants"]:
        limits = Limits(max_overhead_ratio=float(goal["max_overhead_bare_units"]), max_p99_ratio=p99)
        applied = f"--max-overhead-ratio {limits.max_overhead_ratio:g}"
    else:
        limits = Limits(max_overhead_us=float(goal["max_overhead_us_per_request"]), max_p99_ratio=p99)
        applied = f"--max-overhead-us {limits.max_overhead_us:g}"
    result.notes.append(f"no limit given: applying the report's goals {applied} --max-p99-ratio {p99:g}")
    return limits


def _cpu_checks(doc: dict[str, Any], variant: str, given: Limits, cmp: PairedComparison, hint: str) -> list[Check]:
    """The limits on added CPU (us, % of B, bare-request units) and on the p99 ratio."""
    checks = []
    name = "overhead CPU per request" if variant == "A" else f"overhead CPU per request of {variant}"
    if given.max_overhead_us is not None:
        checks.append(decide_limit(name, cmp.diff_bounds, given.max_overhead_us, " us", hint))
    if given.max_overhead_pct is not None:
        checks.append(decide_limit(f"{name} (relative to B)", cmp.pct_bounds, given.max_overhead_pct, "%", hint))
    if given.max_overhead_ratio is not None:
        units = figures.bare_units(doc, variant) if "bare" in doc["variants"] else None
        if units is None:
            checks.append(Check(f"{name} in bare requests", UNDECIDED,
                                "the report has no bare calibration request (run `obsconf overhead` without "
                                "--no-bare), so added CPU cannot be read in bare-request units"))
        else:
            checks.append(decide_limit(f"{name} in bare requests", units.bounds, given.max_overhead_ratio, "x bare",
                                       hint, fmt=".3f"))
    if given.max_p99_ratio is not None:
        p99 = figures.ratio(doc, variant, "B", figures.P99)
        if p99 is not None:
            checks.append(decide_limit(f"latency p99 {variant}/B at {doc['config']['rate']:g} req/s", p99.bounds,
                                       given.max_p99_ratio, "x", hint, fmt=".3f"))
    return checks


def _baseline_check(result: GateResult, doc: dict[str, Any], variant: str, ratios: list[float],
                    baseline: list[float], max_regression_pct: float | None, baseline_config: dict[str, Any] | None,
                    hint: str) -> None:
    """The regression of this run's ratio against the baseline's, and how the two runs were measured."""
    limit = DEFAULT_MAX_REGRESSION_PCT if max_regression_pct is None else max_regression_pct
    change = ratio_change(ratios, baseline)
    result.checks.append(decide_limit(f"regression of the {variant}/B CPU ratio vs baseline", change.bounds, limit,
                                      "%", hint))
    result.notes.append(f"{variant}/B {change.new_median:.3f} now vs A/B {change.baseline_median:.3f} in the "
                        f"baseline; this comparison resolves about {change.resolution_pct:.1f}%")
    for difference in config_differences(doc["config"], baseline_config or {}):
        result.notes.append(f"measured differently, so the ratios may differ: {difference}")


def _saturation_notes(doc: dict[str, Any], result: GateResult, variants: set[str]) -> None:
    late = [r for r in doc["rounds"] if r["variant"] in variants and r.get("target_rate_rps")
            and r["throughput_rps"] < 0.9 * r["target_rate_rps"]]
    if late:
        result.notes.append(
            f"{len(late)} round(s) reached < 90% of the target rate: the service was saturated, so latency "
            "includes queueing; lower --rate for latency numbers (CPU per request stays comparable)")
    if any(not math.isfinite(float(r["cpu_us_per_request"])) for r in doc["rounds"]):
        result.notes.append("a round has no CPU figure (the service process could not be read)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``obsconf gate``."""
    parser.add_argument("report", type=Path, help="overhead report (reports/overhead.json)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a baseline (reports/baseline/overhead.json, ratios) or an older overhead.json to compare "
                             "with (regression check)")
    parser.add_argument("--variant", choices=VARIANT_KEYS, default="A",
                        help="the variant judged against B (default A; burn proves the gate catches a known change)")
    parser.add_argument("--max-overhead-ratio", type=float, default=None,
                        help="limit on added CPU per request in bare-request units, (A - B) / bare (goal 0.4)")
    parser.add_argument("--max-p99-ratio", type=float, default=None,
                        help="limit on latency p99 of A over B at the run's fixed arrival rate (goal 1.5)")
    parser.add_argument("--max-overhead-pct", type=float, default=None,
                        help="limit on extra CPU per request, percent of the uninstrumented cost")
    parser.add_argument("--max-overhead-us", type=float, default=None,
                        help="limit on extra CPU per request in microseconds (the seeds' budgets are in ms)")
    parser.add_argument("--max-regression-pct", type=float, default=None,
                        help=f"limit on growth of the instrumented/off ratio vs --baseline "
                             f"(default {DEFAULT_MAX_REGRESSION_PCT:g})")


def run(args: argparse.Namespace) -> int:
    """Run the gate; print the explanation; return the exit code (0 pass, 1 fail, 3 undecided, 4 bad input)."""
    try:
        doc = load_report(args.report)
        baseline = load_baseline(args.baseline) if args.baseline is not None else None
    except ContractError as exc:
        print(f"GATE ERROR: {exc}")
        return EXIT_BAD_INPUT
    result = evaluate(doc, baseline=baseline.ratios if baseline else None, max_overhead_pct=args.max_overhead_pct,
                      max_overhead_us=args.max_overhead_us, max_overhead_ratio=args.max_overhead_ratio,
                      max_p99_ratio=args.max_p99_ratio, max_regression_pct=args.max_regression_pct,
                      variant=args.variant, baseline_config=baseline.config if baseline else None)
    print(result.render())
    return result.exit_code


#: ``python -m obsconf.overhead.gate``, as ``obsconf gate``
main = standalone("obsconf gate", __doc__, add_arguments, run)

if __name__ == "__main__":
    raise SystemExit(main())
