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
import os
import sys
from pathlib import Path
from typing import Any

from obsconf.errors import ObsconfError, UsageError
from obsconf.overhead.delivery import endpoints_from_json, run_delivery
from obsconf.overhead.delivery_result import DeliveryPlan
from obsconf.overhead.entry import standalone
from obsconf.overhead.measure import cores, measure, progress
from obsconf.overhead.options import add_arguments, validate
from obsconf.overhead.plots import write_plots
from obsconf.overhead.report import write_report
from obsconf.overhead.schema import OverheadReport
from obsconf.overhead.summary import print_summary
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess

__all__ = ["add_arguments", "main", "run"]


def _delivery(args: argparse.Namespace, endpoints: Endpoints) -> dict[str, Any]:
    """The report's ``delivery`` section, measured against ``endpoints`` (see :mod:`obsconf.overhead.delivery`)."""
    plan = DeliveryPlan(span_rate=args.delivery_span_rate, line_rate=args.delivery_line_rate,
                        seconds=args.delivery_seconds, late_after_s=args.delivery_late_s, module=args.module,
                        connections=args.connections)
    result = run_delivery(endpoints, plan, log_dir=args.out_dir, progress=progress)
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
    _service_core, gen_core = cores(not args.no_pin)
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
    validate(args)  # before the stack starts: a wrong option costs nothing
    old_affinity, _gen = _on_gen_core(args)
    try:
        stack = start_stack(Settings.from_env(stack="process"), progress=progress)
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
    validate(args)
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

        progress("micro-benchmarks ...")
        old_affinity = os.sched_getaffinity(0)
        _service_core, gen_core = cores(not args.no_pin)
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
    print_summary(doc)
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


#: ``python -m obsconf.overhead.runner``, as ``obsconf overhead``
main = standalone("obsconf overhead", __doc__, add_arguments, run)

if __name__ == "__main__":
    raise SystemExit(main())
