"""``obsconf overhead``: measure what instrumentation costs, A/B, on this machine.

It starts the service twice - A instrumented, B with ``OBSCONF_INSTRUMENTATION=off`` - both pinned to one
core, drives them from the other core at a fixed arrival rate (no coordinated omission), warms both up,
then alternates measured rounds (A B, B A, A B, ...: interleaved and counterbalanced, so slow drift
cancels within each pair). Per round it records throughput, latency p50/p95/p99, the service's CPU time
per request and its RSS. The result is the median paired difference and ratio with bootstrap 95%
confidence intervals, the run's detection limit, micro-benchmarks of single operations, and
``overhead.json`` + ``overhead.md`` + PNG plots in ``--out-dir``. ``obsconf gate`` then decides.

Example::

    obsconf overhead --profile persist --rounds 8 --round-seconds 5 --rate 1000 --out-dir reports
    obsconf gate reports/overhead.json --max-overhead-us 100

``--delivery`` adds delivery under load (spans, log lines sent vs received, late, lost; see
:mod:`obsconf.overhead.delivery`) to the report, measured after the rounds on the same backends::

    obsconf overhead --with-stack --delivery --delivery-span-rate 200 --delivery-line-rate 1000

``--slowdown-us N`` is a test hook: variant A burns N us of extra CPU per request, to prove that the
measurement and the gate see it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf import __version__
from obsconf.errors import ObsconfError, UsageError
from obsconf.overhead import procstat
from obsconf.overhead.delivery import (
    DEFAULT_LATE_AFTER_S,
    DEFAULT_LINE_RATE,
    DEFAULT_SECONDS,
    DEFAULT_SPAN_RATE,
    endpoints_from_json,
    run_delivery,
)
from obsconf.overhead.loadgen import LoadResult, run_fixed_rate
from obsconf.overhead.plots import latency_histogram, write_plots
from obsconf.overhead.report import write_report
from obsconf.overhead.schema import LatencySummary, OverheadReport, RoundResult, pair_values
from obsconf.overhead.service import DEFAULT_MODULE, VariantSpec, endpoints_env, start_variant
from obsconf.overhead.stats import compare_pairs, percentiles
from obsconf.stack.endpoints import Endpoints

PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")
COMPARED = ("cpu_us_per_request", "latency.p50_us", "latency.p95_us", "latency.p99_us", "throughput_rps",
            "rss_bytes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``obsconf overhead``."""
    parser.add_argument("--profile", choices=PROFILES, default="persist", help="reference profile (default persist)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="pairs of measured rounds, one A and one B each (default 8: sees ~10%% changes)")
    parser.add_argument("--round-seconds", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="fixed arrival rate, requests/s (default 1000; keep it below what B can serve)")
    parser.add_argument("--warmup-seconds", type=float, default=3.0, help="warm-up per variant (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--path", default="/api/ok", help="route to load (default /api/ok)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"), help="where reports go (default reports)")
    parser.add_argument("--slowdown-us", type=int, default=0,
                        help="test hook: variant A burns this many us of extra CPU per request")
    parser.add_argument("--endpoints-json", type=Path, default=None,
                        help="Endpoints JSON of a running stack (`obsconf stack up`); default: every sink off")
    parser.add_argument("--with-stack", action="store_true",
                        help="start the real backend stack (process mode) for the run, so spans, logs and metrics "
                             "are exported as in production; stopped at the end")
    parser.add_argument("--module", default=DEFAULT_MODULE,
                        help=f"service module run as `python -m MODULE --profile P --port N` (default {DEFAULT_MODULE})")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the service and the generator to cores")
    parser.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    parser.add_argument("--micro-samples", type=int, default=30, help="samples per micro-benchmark (default 30)")
    parser.add_argument("--delivery", action="store_true",
                        help="after the rounds, measure delivery under load (spans in Jaeger, log lines in the log "
                             "store and PocketBase: sent vs received, lost, late) on a syncd service; needs "
                             "--with-stack or --endpoints-json; reported, not gated")
    parser.add_argument("--delivery-span-rate", type=float, default=DEFAULT_SPAN_RATE,
                        help=f"requests/s of the span phase (default {DEFAULT_SPAN_RATE:g}; 0 skips it)")
    parser.add_argument("--delivery-line-rate", type=float, default=DEFAULT_LINE_RATE,
                        help=f"log lines/s of the log phase (default {DEFAULT_LINE_RATE:g}; 0 skips it)")
    parser.add_argument("--delivery-seconds", type=float, default=DEFAULT_SECONDS,
                        help=f"seconds of load per delivery phase (default {DEFAULT_SECONDS:g})")
    parser.add_argument("--delivery-late-s", type=float, default=DEFAULT_LATE_AFTER_S,
                        help=f"an item arriving later than this counts as late (default {DEFAULT_LATE_AFTER_S:g} s)")


@dataclass
class _Collected:
    rounds: list[RoundResult] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"A": [], "B": []})
    warnings: list[str] = field(default_factory=list)


def _summary(values: list[float]) -> LatencySummary:
    p50, p95, p99, mx = percentiles(values, [50, 95, 99, 100])
    mean = sum(values) / len(values) if values else float("nan")
    return LatencySummary(p50_us=p50, p95_us=p95, p99_us=p99, max_us=mx, mean_us=mean)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _round_result(index: int, pair: int, variant: str, load: LoadResult, cpu: tuple[float, float],
                  rss: int) -> RoundResult:
    served = max(load.ok + load.errors, 1)
    return RoundResult(
        index=index, pair=pair, variant=variant, requests=load.ok, errors=load.errors,
        duration_s=load.duration_s, target_rate_rps=load.target_rate, throughput_rps=load.throughput_rps,
        latency=_summary(load.latency_us), service_time=_summary(load.service_us), late_sends=load.late_sends,
        max_send_lag_us=max(load.send_lag_us, default=0.0),
        cpu_us_per_request=cpu[0] * 1e6 / served, cpu_us_per_request_ticks=cpu[1] * 1e6 / served, rss_bytes=rss,
    )


def _validate(args: argparse.Namespace) -> None:
    if args.rounds < 2:
        raise UsageError(f"--rounds {args.rounds}: at least 2 pairs are needed for a confidence interval (try 8)")
    if args.round_seconds <= 0 or args.rate <= 0 or args.connections < 1:
        raise UsageError("--round-seconds, --rate and --connections must be positive")
    if args.slowdown_us < 0:
        raise UsageError(f"--slowdown-us {args.slowdown_us}: must be >= 0")
    if not args.path.startswith("/"):
        raise UsageError(f"--path {args.path!r}: must start with '/', e.g. /api/ok")
    if getattr(args, "delivery", False):
        if not (getattr(args, "with_stack", False) or args.endpoints_json):
            raise UsageError("--delivery reads what arrived in Jaeger, the log store and PocketBase: add --with-stack "
                             "(or --endpoints-json of a running `obsconf stack up`)")
        if args.delivery_span_rate < 0 or args.delivery_line_rate < 0 or \
                not args.delivery_span_rate + args.delivery_line_rate:
            raise UsageError("--delivery-span-rate and --delivery-line-rate must be >= 0 (0 skips), not both 0")
        if args.delivery_seconds <= 0 or args.delivery_late_s <= 0:
            raise UsageError("--delivery-seconds and --delivery-late-s must be positive")


def _cores(pin: bool) -> tuple[int | None, int | None]:
    if not pin:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return cpus[0], None  # one core: both share it; the report says so
    return cpus[0], cpus[1]


def measure(args: argparse.Namespace) -> OverheadReport:
    """Run the whole A/B measurement (services, warm-up, rounds); return the report without micro results."""
    _validate(args)
    sinks = endpoints_env(args.endpoints_json) if args.endpoints_json else {}
    service_core, gen_core = _cores(not args.no_pin)
    specs = {
        "A": VariantSpec("A", "instrumented (OBSCONF_INSTRUMENTATION=on)" +
                         (f" + test hook burning {args.slowdown_us} us/request" if args.slowdown_us else ""),
                         instrumentation=True, slowdown_us=args.slowdown_us),
        "B": VariantSpec("B", "not instrumented (OBSCONF_INSTRUMENTATION=off)", instrumentation=False),
    }
    collected = _Collected()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    old_affinity = os.sched_getaffinity(0)
    procs = {}
    try:
        for key, spec in specs.items():
            procs[key] = start_variant(spec, profile=args.profile, log_dir=args.out_dir, core=service_core,
                                       module=args.module, sinks=sinks)
            _progress(f"started {key}: {spec.label} on 127.0.0.1:{procs[key][1]} (pid {procs[key][0].pid}, "
                      f"core {service_core})")
        if gen_core is not None:
            os.sched_setaffinity(0, {gen_core})  # this thread generates the load
        for key in ("A", "B"):
            warm = run_fixed_rate(procs[key][1], args.path, rate=args.rate, seconds=args.warmup_seconds,
                                  connections=args.connections)
            _progress(f"warm-up {key}: {warm.ok} ok, {warm.errors} errors")
            if warm.ok == 0:
                raise ObsconfError(f"service {key} answered no request of GET {args.path} during warm-up "
                                   f"({'; '.join(warm.error_samples)}); see {procs[key][0].log_path}")
        index = 0
        for pair in range(args.rounds):
            order = ("A", "B") if pair % 2 == 0 else ("B", "A")
            for key in order:
                proc, port = procs[key]
                before = procstat.sample(proc.pid)
                load = run_fixed_rate(port, args.path, rate=args.rate, seconds=args.round_seconds,
                                      connections=args.connections)
                after = procstat.sample(proc.pid)
                rnd = _round_result(index, pair, key, load, after.minus(before), after.rss_bytes)
                collected.rounds.append(rnd)
                collected.latencies[key].extend(load.latency_us)
                if load.error_samples:
                    collected.warnings.append(f"round {index} ({key}): {load.errors} errors, e.g. "
                                              f"{load.error_samples[0]}")
                _progress(f"pair {pair + 1}/{args.rounds} {key}: {rnd.throughput_rps:7.0f} req/s  "
                          f"p50 {rnd.latency.p50_us:7.0f} us  p99 {rnd.latency.p99_us:8.0f} us  "
                          f"CPU {rnd.cpu_us_per_request:6.1f} us/req  RSS {rnd.rss_bytes / 2**20:5.1f} MiB"
                          + (f"  errors {rnd.errors}" if rnd.errors else ""))
                index += 1
    finally:
        os.sched_setaffinity(0, old_affinity)
        for proc, _port in procs.values():
            proc.stop()
    if gen_core is None:
        collected.warnings.append("service and load generator were not on separate cores (--no-pin or one CPU): "
                                  "numbers include their competition")
    return _build_report(args, collected, service_core, gen_core, specs)


def _build_report(args: argparse.Namespace, collected: _Collected, service_core: int | None, gen_core: int | None,
                  specs: dict[str, VariantSpec]) -> OverheadReport:
    report = OverheadReport(
        created_utc=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        obsconf_version=__version__,
        machine={"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                 "service_core": service_core, "loadgen_core": gen_core},
        config={"profile": args.profile, "rounds": args.rounds, "round_seconds": args.round_seconds,
                "rate": args.rate, "warmup_seconds": args.warmup_seconds, "connections": args.connections,
                "path": args.path, "slowdown_us": args.slowdown_us, "module": args.module,
                "sinks": ("stack" if getattr(args, "with_stack", False) else "endpoints-json") if args.endpoints_json else "off", "order": "ABBA (counterbalanced)"},
        variants={k: s.label for k, s in specs.items()},
        rounds=collected.rounds,
        latency_histogram=latency_histogram(collected.latencies),
        warnings=list(collected.warnings),
    )
    doc = {"rounds": [{"pair": r.pair, "variant": r.variant, "cpu_us_per_request": r.cpu_us_per_request,
                       "latency": vars(r.latency), "throughput_rps": r.throughput_rps, "rss_bytes": r.rss_bytes}
                      for r in collected.rounds]}
    for metric in COMPARED:
        a, b = pair_values(doc, metric)
        if a and all(x > 0 for x in b):
            report.comparison[metric] = compare_pairs(a, b).to_dict()
    late = sum(r.late_sends for r in collected.rounds)
    total = sum(r.requests for r in collected.rounds) or 1
    if late / total > 0.05:
        report.warnings.append(f"{late} of {total} requests were written > 2 ms after they were due: the service "
                               "or the generator could not keep up; latency then includes queueing (lower --rate)")
    return report


def _delivery(args: argparse.Namespace, endpoints: Endpoints) -> dict[str, Any]:
    """The report's ``delivery`` section, measured against ``endpoints`` (see :mod:`obsconf.overhead.delivery`)."""
    result = run_delivery(endpoints, span_rate=args.delivery_span_rate, line_rate=args.delivery_line_rate,
                          seconds=args.delivery_seconds, late_after_s=args.delivery_late_s, log_dir=args.out_dir,
                          module=args.module, connections=args.connections, progress=_progress)
    return result.to_dict()


def _measure_with_stack(args: argparse.Namespace):  # noqa: ANN202
    """Start the real backend stack, point the instrumented variant's sinks at it, measure, stop the stack."""
    import tempfile

    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    if args.endpoints_json:
        raise UsageError("--with-stack and --endpoints-json exclude each other: pick one source of backends")
    with start_stack(Settings.from_env(stack="process"), progress=_progress) as stack, \
            tempfile.TemporaryDirectory(prefix="obsconf-overhead-") as tmp:
        path = Path(tmp) / "endpoints.json"
        path.write_text(stack.endpoints.to_json())
        args.endpoints_json = path
        try:
            report = measure(args)
        finally:
            args.endpoints_json = None
        if getattr(args, "delivery", False):
            report.delivery = _delivery(args, stack.endpoints)
        return report


def run(args: argparse.Namespace) -> int:
    """Measure, benchmark, write the reports; 0 when the measurement completed (the gate judges it)."""
    try:
        if getattr(args, "with_stack", False):
            report = _measure_with_stack(args)
        else:
            report = measure(args)
            if getattr(args, "delivery", False):
                report.delivery = _delivery(args, endpoints_from_json(args.endpoints_json))
    except ObsconfError as exc:
        print(f"obsconf overhead: {exc}", file=sys.stderr)
        return 1
    if not args.no_micro:
        from obsconf.overhead.micro import run_micro

        _progress("micro-benchmarks ...")
        old_affinity = os.sched_getaffinity(0)
        _service_core, gen_core = _cores(not args.no_pin)
        try:
            if gen_core is not None:
                os.sched_setaffinity(0, {gen_core})  # one core, as the numbers in the budgets assume
            report.micro, notes = run_micro(args.profile, args.micro_samples)
        finally:
            os.sched_setaffinity(0, old_affinity)
        report.warnings += notes
    doc = report.to_dict()
    json_path, md_path = write_report(doc, args.out_dir)
    plots = write_plots(doc, args.out_dir)
    cpu = doc["comparison"].get("cpu_us_per_request")
    if cpu:
        print(f"overhead: {cpu['diff_median']:+.1f} us CPU per request (95% CI {cpu['diff_ci_low']:+.1f} .. "
              f"{cpu['diff_ci_high']:+.1f}), {cpu['pct_median']:+.1f}% (95% CI {cpu['pct_ci_low']:+.1f} .. "
              f"{cpu['pct_ci_high']:+.1f}%); detection limit about {cpu['detection_limit_abs']:.1f} us "
              f"({cpu['detection_limit_pct']:.1f}%) with {cpu['pairs']} pairs")
    delivery = doc.get("delivery") or {}
    if delivery.get("spans"):
        sp = delivery["spans"]
        print(f"delivery: spans at {sp['rate_rps']:g} req/s: {sp['traces_received']}/{sp['requests_answered']} traces, "
              f"{sp['traces_lost']} lost, {sp['late']} late, {sp.get('spans_not_exported')} not exported")
    for d in (delivery.get("logs") or {}).get("sinks", []):
        print(f"delivery: {d['sink']} at {delivery['logs']['rate_lines_per_s']:g} lines/s: {d['received']}/{d['sent']} "
              f"lines, {d['lost']} lost, {d['duplicated']} duplicated, {d['late']} late, p95 delay "
              f"{d['delay']['p95_s']} s")
    for warning in doc["warnings"]:
        print(f"warning: {warning}")
    print(f"wrote {json_path}, {md_path}" + "".join(f", {p}" for p in plots))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point until the ``obsconf`` CLI wires this subcommand: ``python -m obsconf.overhead.runner``."""
    parser = argparse.ArgumentParser(prog="obsconf overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
