"""The interleaved measurement of ``obsconf overhead``: start every variant pinned to the service core, set
the arrival rate from B's capacity, warm up, run the ABBA blocks, and build the report from the rounds.

The load generator's timing is :mod:`obsconf.overhead.loadgen`; the CPU readings :mod:`obsconf.overhead.procstat`.
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
from obsconf.errors import ObsconfError
from obsconf.overhead import figures, procstat
from obsconf.overhead.apps import APPS
from obsconf.overhead.delivery import endpoints_from_json
from obsconf.overhead.loadgen import LoadResult, run_fixed_rate, run_saturated
from obsconf.overhead.options import fixed_rate, validate
from obsconf.overhead.plots import latency_histogram
from obsconf.overhead.schema import (
    LatencySummary,
    OverheadReport,
    RoundResult,
    load_baseline_ratios,
    pair_values,
)
from obsconf.overhead.service import (
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
    parse_env_pairs,
    target_launches,
)
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess, reap_orphans

COMPARED = ("cpu_us_per_request", "latency.p50_us", "latency.p95_us", "latency.p99_us", "throughput_rps",
            "rss_bytes")
#: Order of the variants within a block (reversed every other block): A and B always side by side, the burn
#: next to A (their difference is the detected burn), the calibration next to B.
BLOCK_ORDER = ("burn", "A", "B", "bare", "stock")


def progress(text: str) -> None:
    """A progress line on stderr (stdout carries the summary)."""
    print(text, file=sys.stderr, flush=True)


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


def cores(pin: bool) -> tuple[int | None, int | None]:
    """(service core, load generator core): the first two of this process's CPUs; None where not pinned."""
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
    progress(f"warm-up {key}: {load.ok} ok, {load.errors} errors, CPU {col.warm_cpu_us[key]:.1f} us/req")
    if load.ok == 0:
        raise ObsconfError(f"variant {key} answered no request of GET {args.path} during warm-up "
                           f"({'; '.join(load.error_samples)}); see {proc.log_path}")


def _set_rate(args: argparse.Namespace, port: int, col: _Collected) -> None:
    fixed = fixed_rate(args)
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
    progress(f"capacity of B: {cap.throughput_rps:.0f} req/s -> fixed arrival rate {col.rate:g} req/s")


def measure(args: argparse.Namespace) -> OverheadReport:
    """Run the whole measurement (variants, capacity, warm-up, blocks); return the report without micro results."""
    validate(args)
    endpoints = endpoints_from_json(args.endpoints_json) if args.endpoints_json else None
    launches = _launches(args, endpoints)
    service_core, gen_core = cores(not args.no_pin)
    col = _Collected()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    old_affinity = os.sched_getaffinity(0)
    registry = Settings.from_env().run_dir
    for leftover in reap_orphans(registry):
        progress(f"stopped {leftover}, left by an earlier run that was killed")
    procs: dict[str, tuple[ManagedProcess, int]] = {}
    try:
        for key, launch in launches.items():
            procs[key] = start_launch(launch, log_dir=args.out_dir, core=service_core,
                                      ready_timeout=args.ready_timeout, registry=registry)
            progress(f"started {key}: {launch.label} on 127.0.0.1:{procs[key][1]} (pid {procs[key][0].pid}, "
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
            progress(f"started burn: {col.burn_source}")
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
                progress(f"block {block + 1}/{args.rounds} {key:>5}: {rnd.throughput_rps:7.0f} req/s  "
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
