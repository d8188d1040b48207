"""The options of ``obsconf overhead`` and their checks: every impossible combination refused before a
process starts, with the fix in the message."""

from __future__ import annotations

import argparse
from pathlib import Path

from obsconf.errors import UsageError
from obsconf.overhead.delivery_result import (
    DEFAULT_LATE_AFTER_S,
    DEFAULT_LINE_RATE,
    DEFAULT_SECONDS,
    DEFAULT_SPAN_RATE,
)
from obsconf.overhead.service import DEFAULT_MODULE
from obsconf.overhead.targetcmd import parse_command

PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")
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


def fixed_rate(args: argparse.Namespace) -> float | None:
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


def validate(args: argparse.Namespace) -> None:
    """Refuse impossible option combinations before anything starts, with the fix in the message."""
    for step in (_validate_run, _validate_burn, _validate_path, _validate_target, _validate_sinks, _validate_delivery):
        step(args)


def _validate_run(args: argparse.Namespace) -> None:
    if args.rounds < 2:
        raise UsageError(f"--rounds {args.rounds}: at least 2 blocks are needed for a confidence interval (try 8)")
    if args.round_seconds <= 0 or args.connections < 1 or args.warmup_seconds <= 0 or args.capacity_seconds <= 0:
        raise UsageError("--round-seconds, --warmup-seconds, --capacity-seconds and --connections must be positive")
    if not 0 < args.rate_fraction <= 1:
        raise UsageError(f"--rate-fraction {args.rate_fraction}: a share of the capacity, in (0, 1]")
    fixed_rate(args)


def _validate_burn(args: argparse.Namespace) -> None:
    if args.burn_us < 0 or args.burn_bare < 0 or args.burn_regression_pct < 0:
        raise UsageError("--burn-us, --burn-bare and --burn-regression-pct must be >= 0")
    if args.burn_bare and args.no_bare:
        raise UsageError("--burn-bare is sized from the bare calibration request: drop --no-bare")
    if args.burn_regression_pct and args.baseline is None:
        raise UsageError("--burn-regression-pct is sized from the baseline: add --baseline "
                         "reports/baseline/overhead.json")


def _validate_path(args: argparse.Namespace) -> None:
    if not args.path.startswith("/"):
        raise UsageError(f"--path {args.path!r}: must start with '/', e.g. /api/ok")


def _validate_target(args: argparse.Namespace) -> None:
    if args.target_cmd is None:
        if args.off_env:
            raise UsageError("--off-env switches a --target-cmd service off; the reference uses "
                             "OBSCONF_INSTRUMENTATION")
        return
    parse_command(args.target_cmd)
    if args.compare:
        raise UsageError("--compare stock runs on the reference's route shape: drop it with --target-cmd (or "
                         "run the stock app as your target: --target-cmd \"python -m obsconf.overhead.apps "
                         "stock --port {port}\")")
    if args.burn_us or args.burn_bare or args.burn_regression_pct:
        raise UsageError("the --burn-* test hooks wrap the reference service only: drop them with --target-cmd")
    if getattr(args, "delivery", False):
        raise UsageError("--delivery measures the reference service: drop it with --target-cmd")


def _validate_sinks(args: argparse.Namespace) -> None:
    if args.compare == "stock" and not (args.with_stack or args.endpoints_json or args.discard_sinks):
        raise UsageError("--compare stock exports spans like a real service: add --with-stack or --discard-sinks "
                         "(or --endpoints-json of a running `obsconf stack up`)")


def _validate_delivery(args: argparse.Namespace) -> None:
    if not getattr(args, "delivery", False):
        return
    if not (getattr(args, "with_stack", False) or args.endpoints_json):
        raise UsageError("--delivery reads what arrived in Jaeger, the log store and PocketBase: add --with-stack "
                         "(or --endpoints-json of a running `obsconf stack up`)")
    if args.delivery_span_rate < 0 or args.delivery_line_rate < 0 or \
            not args.delivery_span_rate + args.delivery_line_rate:
        raise UsageError("--delivery-span-rate and --delivery-line-rate must be >= 0 (0 skips), not both 0")
    if args.delivery_seconds <= 0 or args.delivery_late_s <= 0:
        raise UsageError("--delivery-seconds and --delivery-late-s must be positive")
