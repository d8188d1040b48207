"""``obsconf overhead``: measure what instrumentation costs, in one interleaved run, on this machine.

Variants (each a process pinned to the service core; only one receives load at a time):

* ``A``: the service instrumented; ``B``: the same service with its instrumentation off
  (the reference: ``OBSCONF_INSTRUMENTATION=off``; a user's command: ``--off-env``, default
  ``OTEL_SDK_DISABLED=true``);
* ``bare``: the calibration request, an empty ASGI app on the same server (``--no-bare`` leaves it out);
* ``stock`` (``--compare stock``): stock OpenTelemetry auto-instrumentation on the same route shape;
* ``burn`` (``--burn-us``, ``--burn-bare``, ``--burn-regression-pct``): A plus a known CPU burn per
  request, the test hook that proves a change of that size is seen.

Steps: start every variant; measure B's capacity closed-loop and set the fixed arrival rate to half of it
(``--rate auto``; open loop, so no coordinated omission); warm every variant up; then ``--rounds`` blocks,
one round of each variant per block, in forward then reverse order (ABBA: slow drift cancels). Per round:
throughput, latency p50/p95/p99, CPU per request of the variant's process tree, RSS. The report gives
paired differences and per-block ratios with bootstrap 95% intervals (:mod:`obsconf.overhead.figures`):
added CPU in microseconds, as a multiple of B, and in bare-request units; p99 on/off; the stock
comparison; the run's detection limits. ``obsconf gate`` then decides.

Examples::

    obsconf overhead --profile persist --with-stack --compare stock
    obsconf overhead --target-cmd "uvicorn app:app --port {port}" --path /items/1 --with-stack
    obsconf gate reports/overhead.json --max-overhead-ratio 0.4 --max-p99-ratio 1.5

``--delivery`` adds delivery under load (spans and log lines sent vs received; see
:mod:`obsconf.overhead.delivery`), measured after the rounds on the same backends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf import __version__
from obsconf.errors import ObsconfError, UsageError
from obsconf.overhead import figures, procstat
from obsconf.overhead.apps import APPS
from obsconf.overhead.delivery import endpoints_from_json, run_delivery
from obsconf.overhead.delivery_result import (
    DEFAULT_LATE_AFTER_S,
    DEFAULT_LINE_RATE,
    DEFAULT_SECONDS,
    DEFAULT_SPAN_RATE,
    DeliveryPlan,
)
from obsconf.overhead.loadgen import LoadResult, run_fixed_rate, run_saturated
from obsconf.overhead.plots import latency_histogram, write_plots
from obsconf.overhead.report import write_report
from obsconf.overhead.schema import (
    LatencySummary,
    OverheadReport,
    RoundResult,
    load_baseline_ratios,
    pair_values,
)
from obsconf.overhead.service import (
    DEFAULT_MODULE,
    SINK_VARS,
    Launch,
    VariantSpec,
    endpoints_env,
    reference_launch,
    start_launch,
)
from obsconf.overhead.stats import compare_pairs, percentiles, ratio_change
from obsconf.overhead.targetcmd import (
    DEFAULT_OFF_ENV,
    otel_env,
    parse_command,
    parse_env_pairs,
    target_launches,
)
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess, reap_orphans

PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")
COMPARED = ("cpu_us_per_request", "latency.p50_us", "latency.p95_us", "latency.p99_us", "throughput_rps",
            "rss_bytes")
#: Order of the variants within a block (reversed every other block): A and B always side by side, the burn
#: next to A (their difference is the detected burn), the calibration next to B.
BLOCK_ORDER = ("burn", "A", "B", "bare", "stock")
DEFAULT_RATE_FRACTION = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``obsconf overhead``."""
    parser.add_argument("--profile", choices=PROFILES, default="persist", help="reference profile (default persist)")
    parser.add_argument("--target-cmd", default=None, metavar="CMD",
                        help="measure your own service instead: the command that starts it, with {port} for the "
                             "loopback port it must listen on, e.g. \"uvicorn app:app --port {port}\"")
    parser.add_argument("--off-env", action="append", default=None, metavar="NAME=VALUE",
                        help="with --target-cmd: the variable(s) that switch the instrumentation off for variant B "
                             "(repeatable; default OTEL_SDK_DISABLED=true)")
    parser.add_argument("--ready-timeout", type=float, default=30.0,
                        help="seconds each variant may take to answer its first request (default 30)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="blocks of measured rounds, one round of each variant per block (default 8: sees ~10%% "
                             "changes)")
    parser.add_argument("--round-seconds", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--rate", default="auto",
                        help="fixed arrival rate in requests/s, or auto (default): --rate-fraction of B's capacity, "
                             "measured closed-loop at the start of the run")
    parser.add_argument("--rate-fraction", type=float, default=DEFAULT_RATE_FRACTION,
                        help=f"with --rate auto: the share of B's capacity to offer (default {DEFAULT_RATE_FRACTION:g})")
    parser.add_argument("--capacity-seconds", type=float, default=2.0,
                        help="with --rate auto: seconds of the closed-loop capacity measurement (default 2)")
    parser.add_argument("--warmup-seconds", type=float, default=3.0, help="warm-up per variant (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--path", default="/api/ok", help="route to load (default /api/ok)")
    parser.add_argument("--out-dir", type=Path, default=Path("reports"), help="where reports go (default reports)")
    parser.add_argument("--compare", choices=("stock",), default=None,
                        help="stock: add stock OpenTelemetry auto-instrumentation (opentelemetry-instrumentation-"
                             "fastapi, BatchSpanProcessor, OTLP/HTTP) on the same route shape to the run; needs sinks")
    parser.add_argument("--no-bare", action="store_true",
                        help="leave out the bare calibration request (then no figure is in bare-request units)")
    burn = parser.add_mutually_exclusive_group()
    burn.add_argument("--burn-us", type=int, default=0,
                      help="test hook: add variant burn, A burning this many us of extra CPU per request")
    burn.add_argument("--burn-bare", type=float, default=0.0,
                      help="test hook: variant burn burns this many bare requests' CPU (measured in the warm-up)")
    burn.add_argument("--burn-regression-pct", type=float, default=0.0,
                      help="test hook: variant burn costs this many percent more than the --baseline says A costs "
                           "(its A/B ratio times B's CPU in the warm-up): an injected regression")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a baseline (reports/baseline/overhead.json) or older report: the report states the "
                             "regression against it and the smallest one this run resolves")
    parser.add_argument("--save-baseline", type=Path, default=None,
                        help="also write this run's per-block ratios as a baseline to this path")
    parser.add_argument("--append-baseline", action="store_true",
                        help="with --save-baseline: pool this run's blocks with the baseline already there (measured "
                             "the same way), so the baseline carries the spread between runs")
    parser.add_argument("--endpoints-json", type=Path, default=None,
                        help="Endpoints JSON of a running stack (`obsconf stack up`); default: every sink off")
    parser.add_argument("--with-stack", action="store_true",
                        help="start the real backend stack (process mode, on the load generator's core) for the run, "
                             "so spans, logs and metrics are exported as in production; stopped at the end")
    parser.add_argument("--discard-sinks", action="store_true",
                        help="export to a sink that accepts OTLP/HTTP and Loki pushes and discards them (on the load "
                             "generator's core): the service's own cost of exporting, without backends reacting")
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
    latencies: dict[str, list[float]] = field(default_factory=dict)
    warm_cpu_us: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rate: float = 0.0
    rate_source: str = ""
    capacity_rps: float | None = None
    burn_us: int = 0
    burn_source: str = ""


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


def _fixed_rate(args: argparse.Namespace) -> float | None:
    """The --rate number, or None for auto."""
    if str(args.rate).strip().lower() == "auto":
        return None
    try:
        rate = float(args.rate)
    except ValueError:
        raise UsageError(f"--rate {args.rate!r}: a number of requests/s, or auto") from None
    if rate <= 0:
        raise UsageError(f"--rate {args.rate}: must be positive (or auto)")
    return rate


def _validate(args: argparse.Namespace) -> None:
    if args.rounds < 2:
        raise UsageError(f"--rounds {args.rounds}: at least 2 blocks are needed for a confidence interval (try 8)")
    if args.round_seconds <= 0 or args.connections < 1 or args.warmup_seconds <= 0 or args.capacity_seconds <= 0:
        raise UsageError("--round-seconds, --warmup-seconds, --capacity-seconds and --connections must be positive")
    if not 0 < args.rate_fraction <= 1:
        raise UsageError(f"--rate-fraction {args.rate_fraction}: a share of the capacity, in (0, 1]")
    _fixed_rate(args)
    if args.burn_us < 0 or args.burn_bare < 0 or args.burn_regression_pct < 0:
        raise UsageError("--burn-us, --burn-bare and --burn-regression-pct must be >= 0")
    if args.burn_bare and args.no_bare:
        raise UsageError("--burn-bare is sized from the bare calibration request: drop --no-bare")
    if args.burn_regression_pct and args.baseline is None:
        raise UsageError("--burn-regression-pct is sized from the baseline: add --baseline "
                         "reports/baseline/overhead.json")
    if not args.path.startswith("/"):
        raise UsageError(f"--path {args.path!r}: must start with '/', e.g. /api/ok")
    if args.target_cmd is not None:
        parse_command(args.target_cmd)
        if args.compare:
            raise UsageError("--compare stock runs on the reference's route shape: drop it with --target-cmd (or "
                             "run the stock app as your target: --target-cmd \"python -m obsconf.overhead.apps "
                             "stock --port {port}\")")
        if args.burn_us or args.burn_bare or args.burn_regression_pct:
            raise UsageError("the --burn-* test hooks wrap the reference service only: drop them with --target-cmd")
        if getattr(args, "delivery", False):
            raise UsageError("--delivery measures the reference service: drop it with --target-cmd")
    elif args.off_env:
        raise UsageError("--off-env switches a --target-cmd service off; the reference uses OBSCONF_INSTRUMENTATION")
    if args.compare == "stock" and not (args.with_stack or args.endpoints_json or args.discard_sinks):
        raise UsageError("--compare stock exports spans like a real service: add --with-stack or --discard-sinks "
                         "(or --endpoints-json of a running `obsconf stack up`)")
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


def _base_env() -> dict[str, str]:
    """Our environment without inherited sinks: two runs on two machines measure the same thing."""
    return {k: v for k, v in os.environ.items() if k not in SINK_VARS}


def _reference(args: argparse.Namespace, spec: VariantSpec) -> Launch:
    """The reference service as variant ``spec``, its sinks pointed where the run's sinks are."""
    sinks = endpoints_env(args.endpoints_json) if args.endpoints_json else {}
    return reference_launch(spec, profile=args.profile, module=args.module, sinks=sinks, base=_base_env())


def _launches(args: argparse.Namespace, endpoints: Endpoints | None) -> dict[str, Launch]:
    """Every variant but ``burn`` (which is sized in the warm-up), keyed A, B, bare, stock."""
    base = _base_env()
    if args.target_cmd is not None:
        off = parse_env_pairs(args.off_env, "--off-env") if args.off_env else dict(DEFAULT_OFF_ENV)
        a, b = target_launches(args.target_cmd, args.path, off, otel_env(endpoints) if endpoints else {}, base)
        launches = {"A": a, "B": b}
    else:
        launches = {"A": _reference(args, VariantSpec("A", "instrumented (OBSCONF_INSTRUMENTATION=on)", True)),
                    "B": _reference(args, VariantSpec("B", "not instrumented (OBSCONF_INSTRUMENTATION=off)", False))}
    apps = [sys.executable, "-m", "obsconf.overhead.apps"]
    if not args.no_bare:
        launches["bare"] = Launch("bare", "bare calibration request: an empty ASGI app on the same server (uvicorn)",
                                  (*apps, "bare", "--port", "{port}"), base, ready_path="/")
    if args.compare == "stock":
        assert endpoints is not None and "stock" in APPS
        launches["stock"] = Launch(
            "stock", "stock OpenTelemetry: opentelemetry-instrumentation-fastapi + BatchSpanProcessor + OTLP/HTTP "
            "exporter", (*apps, "stock", "--port", "{port}"), {**base, **otel_env(endpoints, "obsconf-stock")},
            ready_path=args.path)
    return launches


def _burn(args: argparse.Namespace, warm_cpu_us: dict[str, float]) -> tuple[int, str]:
    """Microseconds the burn variant burns per request, and how they were sized; (0, "") for none."""
    if args.burn_us:
        return args.burn_us, f"--burn-us {args.burn_us}"
    if args.burn_bare:
        us = round(args.burn_bare * warm_cpu_us["bare"])
        return us, f"--burn-bare {args.burn_bare:g}: {args.burn_bare:g} x the bare request's {warm_cpu_us['bare']:.1f} " \
                   "us CPU in the warm-up"
    if args.burn_regression_pct:
        base_ratio = statistics.median(load_baseline_ratios(args.baseline))
        a_us = base_ratio * warm_cpu_us["B"]
        us = round(args.burn_regression_pct / 100.0 * a_us)
        return us, (f"--burn-regression-pct {args.burn_regression_pct:g}: {args.burn_regression_pct:g}% of what the "
                    f"baseline says A costs here (A/B {base_ratio:.3f} x B's {warm_cpu_us['B']:.1f} us in the warm-up "
                    f"= {a_us:.1f} us)")
    return 0, ""


def _block_order(keys: list[str], block: int) -> list[str]:
    order = [k for k in BLOCK_ORDER if k in keys]
    return order if block % 2 == 0 else order[::-1]


def _measured_load(proc: ManagedProcess, port: int, args: argparse.Namespace, rate: float,
                   seconds: float) -> tuple[LoadResult, tuple[float, float], int]:
    before = procstat.sample(proc.pid)
    load = run_fixed_rate(port, args.path, rate=rate, seconds=seconds, connections=args.connections)
    after = procstat.sample_when_idle(proc.pid)  # the export work the round left behind is the round's too
    return load, after.minus(before), after.rss_bytes


def _warm(key: str, proc: ManagedProcess, port: int, args: argparse.Namespace, col: _Collected) -> None:
    load, cpu, _rss = _measured_load(proc, port, args, col.rate, args.warmup_seconds)
    served = max(load.ok + load.errors, 1)
    col.warm_cpu_us[key] = cpu[0] * 1e6 / served
    _progress(f"warm-up {key}: {load.ok} ok, {load.errors} errors, CPU {col.warm_cpu_us[key]:.1f} us/req")
    if load.ok == 0:
        raise ObsconfError(f"variant {key} answered no request of GET {args.path} during warm-up "
                           f"({'; '.join(load.error_samples)}); see {proc.log_path}")


def _set_rate(args: argparse.Namespace, port: int, col: _Collected) -> None:
    fixed = _fixed_rate(args)
    if fixed is not None:
        col.rate, col.rate_source = fixed, f"--rate {fixed:g}"
        return
    run_saturated(port, args.path, seconds=min(1.0, args.capacity_seconds), connections=args.connections)  # warm
    cap = run_saturated(port, args.path, seconds=args.capacity_seconds, connections=args.connections)
    if cap.ok == 0:
        raise ObsconfError(f"variant B answered no request of GET {args.path} while its capacity was measured "
                           f"({'; '.join(cap.error_samples)})")
    col.capacity_rps = cap.throughput_rps
    col.rate = max(1.0, round(args.rate_fraction * cap.throughput_rps))
    col.rate_source = (f"auto: {args.rate_fraction:g} x B's capacity of {cap.throughput_rps:.0f} req/s (closed loop, "
                       f"{args.connections} connections, {args.capacity_seconds:g} s)")
    _progress(f"capacity of B: {cap.throughput_rps:.0f} req/s -> fixed arrival rate {col.rate:g} req/s")


def measure(args: argparse.Namespace) -> OverheadReport:
    """Run the whole measurement (variants, capacity, warm-up, blocks); return the report without micro results."""
    _validate(args)
    endpoints = endpoints_from_json(args.endpoints_json) if args.endpoints_json else None
    launches = _launches(args, endpoints)
    service_core, gen_core = _cores(not args.no_pin)
    col = _Collected()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    old_affinity = os.sched_getaffinity(0)
    registry = Settings.from_env().run_dir
    for leftover in reap_orphans(registry):
        _progress(f"stopped {leftover}, left by an earlier run that was killed")
    procs: dict[str, tuple[ManagedProcess, int]] = {}
    try:
        for key, launch in launches.items():
            procs[key] = start_launch(launch, log_dir=args.out_dir, core=service_core,
                                      ready_timeout=args.ready_timeout, registry=registry)
            _progress(f"started {key}: {launch.label} on 127.0.0.1:{procs[key][1]} (pid {procs[key][0].pid}, "
                      f"core {service_core})")
        if gen_core is not None:
            os.sched_setaffinity(0, {gen_core})  # this thread generates the load
        _set_rate(args, procs["B"][1], col)
        for key, (proc, port) in procs.items():
            _warm(key, proc, port, args, col)
        col.burn_us, col.burn_source = _burn(args, col.warm_cpu_us)
        if col.burn_us:
            spec = VariantSpec("burn", f"A + an injected burn of {col.burn_us} us CPU per request (test hook)", True,
                               slowdown_us=col.burn_us)
            launches["burn"] = _reference(args, spec)
            procs["burn"] = start_launch(launches["burn"], log_dir=args.out_dir, core=service_core,
                                         ready_timeout=args.ready_timeout, registry=registry)
            _progress(f"started burn: {col.burn_source}")
            _warm("burn", *procs["burn"], args, col)
        index = 0
        for block in range(args.rounds):
            for key in _block_order(list(procs), block):
                proc, port = procs[key]
                load, cpu, rss = _measured_load(proc, port, args, col.rate, args.round_seconds)
                rnd = _round_result(index, block, key, load, cpu, rss)
                col.rounds.append(rnd)
                col.latencies.setdefault(key, []).extend(load.latency_us)
                if load.error_samples:
                    col.warnings.append(f"round {index} ({key}): {load.errors} errors, e.g. {load.error_samples[0]}")
                _progress(f"block {block + 1}/{args.rounds} {key:>5}: {rnd.throughput_rps:7.0f} req/s  "
                          f"p50 {rnd.latency.p50_us:7.0f} us  p99 {rnd.latency.p99_us:8.0f} us  "
                          f"CPU {rnd.cpu_us_per_request:6.1f} us/req  RSS {rnd.rss_bytes / 2**20:5.1f} MiB"
                          + (f"  errors {rnd.errors}" if rnd.errors else ""))
                index += 1
    finally:
        os.sched_setaffinity(0, old_affinity)
        for proc, _port in procs.values():
            proc.stop()
    if gen_core is None:
        col.warnings.append("service and load generator were not on separate cores (--no-pin or one CPU): "
                            "numbers include their competition")
    return _build_report(args, col, service_core, gen_core, {k: v.label for k, v in launches.items()})


def _build_report(args: argparse.Namespace, col: _Collected, service_core: int | None, gen_core: int | None,
                  variants: dict[str, str]) -> OverheadReport:
    sinks = getattr(args, "sinks_label", None) or ("endpoints-json" if args.endpoints_json else "off")
    report = OverheadReport(
        created_utc=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        obsconf_version=__version__,
        machine={"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                 "service_core": service_core, "loadgen_core": gen_core},
        config={"profile": None if args.target_cmd else args.profile, "target_cmd": args.target_cmd,
                "off_env": args.off_env or (list(f"{k}={v}" for k, v in DEFAULT_OFF_ENV.items())
                                            if args.target_cmd else None),
                "rounds": args.rounds, "round_seconds": args.round_seconds, "rate": col.rate,
                "rate_source": col.rate_source, "capacity_rps": col.capacity_rps,
                "warmup_seconds": args.warmup_seconds, "warmup_cpu_us": col.warm_cpu_us,
                "connections": args.connections, "path": args.path, "burn_us": col.burn_us,
                "burn_source": col.burn_source, "module": None if args.target_cmd else args.module, "sinks": sinks,
                "order": "blocks of one round per variant, forward then reverse (ABBA)"},
        variants=variants,
        rounds=col.rounds,
        latency_histogram=latency_histogram(col.latencies),
        warnings=list(col.warnings),
    )
    doc = report.to_dict()
    for metric in COMPARED:
        a, b = pair_values(doc, metric)
        if a and all(x > 0 for x in b):
            report.comparison[metric] = compare_pairs(a, b).to_dict()
    report.figures = figures.compute(doc)
    if args.baseline is not None:
        report.baseline = _against_baseline(args.baseline, doc, report.figures)
    late = sum(r.late_sends for r in col.rounds)
    total = sum(r.requests for r in col.rounds) or 1
    if late / total > 0.05:
        report.warnings.append(f"{late} of {total} requests were written > 2 ms after they were due: a variant or "
                               "the generator could not keep up; latency then includes queueing")
    for key in variants:
        rounds = [r for r in col.rounds if r.variant == key]
        if rounds and sum(r.throughput_rps < 0.9 * r.target_rate_rps for r in rounds) > len(rounds) / 2:
            report.warnings.append(f"variant {key} served < 90% of the arrival rate in most rounds: it is saturated "
                                   "at this rate, so its latency is queueing (its CPU per request stays comparable)")
    return report


def _against_baseline(path: Path, doc: dict[str, Any], figs: dict[str, Any]) -> dict[str, Any]:
    a, b = pair_values(doc)
    change = ratio_change([x / y for x, y in zip(a, b, strict=True)], load_baseline_ratios(path))
    out: dict[str, Any] = {"path": str(path), "A_vs_baseline": change.to_dict()}
    a2, b2 = pair_values(doc, a="burn")
    if a2:
        out["burn_vs_baseline"] = ratio_change([x / y for x, y in zip(a2, b2, strict=True)],
                                               load_baseline_ratios(path)).to_dict()
    out["resolution_pct"] = change.resolution_pct
    out["suggested_max_regression_pct"] = figures.suggested_regression_limit_pct(change.resolution_pct)
    figs.setdefault("regression_vs_baseline_pct", change.change_pct)
    return out


def _delivery(args: argparse.Namespace, endpoints: Endpoints) -> dict[str, Any]:
    """The report's ``delivery`` section, measured against ``endpoints`` (see :mod:`obsconf.overhead.delivery`)."""
    plan = DeliveryPlan(span_rate=args.delivery_span_rate, line_rate=args.delivery_line_rate,
                        seconds=args.delivery_seconds, late_after_s=args.delivery_late_s, module=args.module,
                        connections=args.connections)
    result = run_delivery(endpoints, plan, log_dir=args.out_dir, progress=_progress)
    return result.to_dict()


def _measure_with(args: argparse.Namespace, endpoints: Endpoints, sinks: str) -> OverheadReport:
    """Measure with the variants' sinks pointed at ``endpoints`` (saved where ``measure`` reads them)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="obsconf-overhead-") as tmp:
        path = Path(tmp) / "endpoints.json"
        path.write_text(endpoints.to_json())
        args.endpoints_json, args.sinks_label = path, sinks
        try:
            return measure(args)
        finally:
            args.endpoints_json = None


def _on_gen_core(args: argparse.Namespace) -> tuple[set[int], int | None]:
    """Pin this process to the load generator's core (children inherit it); return the old affinity."""
    old_affinity = os.sched_getaffinity(0)
    _service_core, gen_core = _cores(not args.no_pin)
    if gen_core is not None:
        os.sched_setaffinity(0, {gen_core})
    return old_affinity, gen_core


def _measure_with_stack(args: argparse.Namespace) -> OverheadReport:
    """Start the real backend stack, point the variants' sinks at it, measure, stop the stack.

    The backends start from the load generator's core and inherit it, so their work (ingesting what the
    instrumented variants export) never competes with the service under test for its core.
    """
    from obsconf.stack import start_stack

    if args.endpoints_json:
        raise UsageError("--with-stack and --endpoints-json exclude each other: pick one source of backends")
    _validate(args)  # before the stack starts: a wrong option costs nothing
    old_affinity, _gen = _on_gen_core(args)
    try:
        stack = start_stack(Settings.from_env(stack="process"), progress=_progress)
    finally:
        os.sched_setaffinity(0, old_affinity)
    with stack:
        report = _measure_with(args, stack.endpoints, "stack")
        if getattr(args, "delivery", False):
            report.delivery = _delivery(args, stack.endpoints)
        return report


def _measure_with_discard(args: argparse.Namespace) -> OverheadReport:
    """Run a discarding OTLP/Loki sink (:mod:`obsconf.overhead.discard`) on the generator's core, measure
    against it, and record what it received."""
    import requests

    from obsconf.ports import LOOPBACK, free_port
    from obsconf.stack.readiness import http_ok

    if args.endpoints_json or args.with_stack:
        raise UsageError("--discard-sinks, --with-stack and --endpoints-json exclude each other: pick one")
    _validate(args)
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    old_affinity, _gen = _on_gen_core(args)
    sink = ManagedProcess("discarding sink", [sys.executable, "-m", "obsconf.overhead.discard", "--port", str(port)],
                          log_path=args.out_dir / "overhead-discard-sink.log", probe=http_ok(base + "/stats"),
                          ready_timeout=15.0)
    try:
        sink.start()
    finally:
        os.sched_setaffinity(0, old_affinity)
    try:
        endpoints = Endpoints(jaeger_query_url="", otlp_http_url=base, otlp_grpc_endpoint="", prometheus_url="",
                              logs_push_url=base + "/insert/loki/api/v1/push", logs_query_url="", logs_dialect="",
                              pocketbase_url="")
        report = _measure_with(args, endpoints, "discard")
        report.config["sink_received"] = requests.get(base + "/stats", timeout=5).json()
        return report
    finally:
        sink.stop()


def _fmt(fig: dict[str, Any] | None, digits: int = 2, unit: str = "") -> str:
    if not fig:
        return "-"
    return f"{fig['median']:.{digits}f}{unit} (95% CI {fig['ci_low']:.{digits}f} .. {fig['ci_high']:.{digits}f}{unit})"


def _print_summary(doc: dict[str, Any]) -> None:
    cpu = doc["comparison"].get("cpu_us_per_request")
    figs = doc["figures"]
    if cpu:
        print(f"overhead: {cpu['diff_median']:+.1f} us CPU per request (95% CI {cpu['diff_ci_low']:+.1f} .. "
              f"{cpu['diff_ci_high']:+.1f}); detection limit about {cpu['detection_limit_abs']:.1f} us "
              f"({cpu['detection_limit_pct']:.1f}%) with {cpu['pairs']} blocks")
    print(f"overhead as a multiple of the uninstrumented request: {_fmt(figs.get('overhead_x_off'), unit='x')}")
    if "overhead_bare_units" in figs:
        print(f"overhead in bare requests ({figs['bare_cpu_us']['median']:.1f} us each here): "
              f"{_fmt(figs['overhead_bare_units'])}; goal <= {doc['goal']['max_overhead_bare_units']:g}")
    print(f"latency p99 on/off at {doc['config']['rate']:g} req/s: {_fmt(figs.get('p99_on_off'))}; goal <= "
          f"{doc['goal']['max_p99_ratio']:g}")
    if "stock_cpu_vs_A" in figs:
        print(f"stock OpenTelemetry vs A: CPU {_fmt(figs['stock_cpu_vs_A'], unit='x')}, p99 "
              f"{_fmt(figs.get('stock_p99_vs_A'), unit='x')}")
    if "burn_detected_us" in figs:
        det = figs["burn_detected_us"]
        print(f"injected burn of {doc['config']['burn_us']} us measured as {det['diff_median']:+.1f} us (95% CI "
              f"{det['diff_ci_low']:+.1f} .. {det['diff_ci_high']:+.1f}; detection limit {det['detection_limit_abs']:.1f} us)")
    if "regression_resolution_pct" in figs:
        print(f"regression resolution against a baseline of this length: about {figs['regression_resolution_pct']:.1f}%"
              f" (a --max-regression-pct of {figs['suggested_max_regression_pct']:g} fits this run length)")
    base = doc.get("baseline")
    if base:
        ch = base["A_vs_baseline"]
        print(f"A/B vs baseline: {ch['change_pct']:+.1f}% (95% CI {ch['ci_low_pct']:+.1f} .. {ch['ci_high_pct']:+.1f}%)")
    delivery = doc.get("delivery") or {}
    if delivery.get("spans"):
        sp = delivery["spans"]
        print(f"delivery: spans at {sp['rate_rps']:g} req/s: {sp['traces_received']}/{sp['requests_answered']} traces, "
              f"{sp['traces_lost']} lost, {sp['late']} late, {sp.get('spans_not_exported')} not exported")
    for d in (delivery.get("logs") or {}).get("sinks", []):
        print(f"delivery: {d['sink']} at {delivery['logs']['rate_lines_per_s']:g} lines/s: {d['received']}/{d['sent']} "
              f"lines, {d['lost']} lost, {d['duplicated']} duplicated, {d['late']} late, p95 delay "
              f"{d['delay']['p95_s']} s")


def run(args: argparse.Namespace) -> int:
    """Measure, benchmark, write the reports; 0 when the measurement completed (the gate judges it)."""
    try:
        if getattr(args, "with_stack", False):
            report = _measure_with_stack(args)
        elif getattr(args, "discard_sinks", False):
            report = _measure_with_discard(args)
        else:
            report = measure(args)
            if getattr(args, "delivery", False):
                report.delivery = _delivery(args, endpoints_from_json(args.endpoints_json))
    except ObsconfError as exc:
        print(f"obsconf overhead: {exc}", file=sys.stderr)
        return 1
    if not args.no_micro and args.target_cmd is None:
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
    _print_summary(doc)
    if args.save_baseline is not None:
        from obsconf.overhead.figures import write_baseline

        try:
            print(f"wrote baseline {write_baseline(doc, args.save_baseline, append=args.append_baseline)}")
        except ObsconfError as exc:
            print(f"obsconf overhead: {exc}", file=sys.stderr)
            return 1
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
