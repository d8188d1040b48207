"""The ``obsconf`` command line, built on the same functions as the pytest plugin.

Exit codes: 0 success, 1 a check or gate failed, 2 usage or environment error or an invalid contract (message
says the fix).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence

from obsconf import __version__
from obsconf.errors import ObsconfError, UsageError
from obsconf.settings import PROMETHEUS_VERSIONS, STACK_MODES, Settings


def _provision(args: argparse.Namespace) -> int:
    from obsconf import provision

    settings = Settings.from_env()
    if args.check:
        return provision.check(settings)
    code = provision.provision(settings)
    provision.check(settings)
    return code


def _stack_up(args: argparse.Namespace) -> int:
    from obsconf.stack import start_stack
    from obsconf.stack.attach import state_path, write_state

    settings = Settings.from_env(stack=args.mode, prometheus_version=args.prometheus_version)
    if settings.stack in ("attach", "external"):
        print(f"obsconf: error: `stack up` starts a stack; --mode {settings.stack} only reaches one", file=sys.stderr)
        return 2
    began = time.monotonic()
    stack = start_stack(settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        write_state(settings, stack)
        print(f"stack ({stack.mode}) ready in {time.monotonic() - began:.2f} s", file=sys.stderr)
        print(stack.endpoints.to_json(), flush=True)
        print(stack.endpoints.table(), file=sys.stderr, flush=True)
        print("Test sessions attach to it (--obsconf-stack=attach, or auto). `obsconf stack env` prints the "
              "variables for a service you start by hand. Ctrl-C stops every backend.", file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping the stack ...", file=sys.stderr, flush=True)
        stack.stop()
        state_path(settings).unlink(missing_ok=True)


def _live_state(settings: Settings):  # noqa: ANN202
    from obsconf.stack.attach import live_state

    state = live_state(settings)
    if state is None:
        print("no stack is up (start one with `obsconf stack up`)", file=sys.stderr)
    return state


def _stack_status(args: argparse.Namespace) -> int:
    import requests

    state = _live_state(Settings.from_env())
    if state is None:
        return 1
    endpoints = state.endpoints
    probes = {
        "jaeger": f"{endpoints['jaeger_query_url']}/api/services",
        "prometheus": f"{endpoints['prometheus_url']}/-/ready",
        "logs": f"{endpoints['logs_query_url']}/health",
        "pocketbase": f"{endpoints['pocketbase_url']}/api/health" if endpoints.get("pocketbase_url") else "",
        "toxiproxy": f"{endpoints['toxiproxy_url']}/version",
    }
    code = 0
    for name, url in probes.items():
        if not url:
            continue
        try:
            status = requests.get(url, timeout=2).status_code
            ok = status == 200
        except requests.RequestException as exc:
            status, ok = type(exc).__name__, False
        code |= 0 if ok else 1
        print(f"{'up  ' if ok else 'DOWN'}  {name:11} {url}  ({status})")
    return code


def _stack_env(args: argparse.Namespace) -> int:
    """The standard variables of a service started by hand against the live stack (no proxies)."""
    from obsconf.stack.endpoints import Endpoints
    from obsconf.target.env import render, service_env

    state = _live_state(Settings.from_env())
    if state is None:
        return 1
    endpoints = Endpoints(**state.endpoints)
    env = service_env(endpoints, service_name=args.service, sample_rate=args.sample_rate)
    if endpoints.s3_url:
        env.update({"AWS_ENDPOINT_URL_S3": endpoints.s3_url, "AWS_ACCESS_KEY_ID": endpoints.s3_access_key,
                    "AWS_SECRET_ACCESS_KEY": endpoints.s3_secret_key, "AWS_REGION": "us-east-1"})
    if endpoints.pocketbase_url:
        env.update({"POCKETBASE_URL": endpoints.pocketbase_url,
                    "POCKETBASE_ADMIN_EMAIL": endpoints.pocketbase_admin_email,
                    "POCKETBASE_ADMIN_PASSWORD": endpoints.pocketbase_admin_password})
    print(render(env, args.format))
    return 0


def _report_html(args: argparse.Namespace) -> int:
    from pathlib import Path

    from obsconf.report.html import write_html

    source = Path(args.json)
    out = write_html(source, Path(args.output) if args.output else None,
                     coverage=Path(args.coverage) if args.coverage else None)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obsconf", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"obsconf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    provision = sub.add_parser("provision", help="install or build every backend at pinned versions into the cache")
    provision.add_argument("--check", action="store_true", help="only report each backend's version and path")
    provision.set_defaults(func=_provision)

    stack = sub.add_parser("stack", help="run the backend stack by hand").add_subparsers(dest="stack_cmd", required=True)
    up = stack.add_parser("up", help="start every backend, print endpoints (JSON on stdout), Ctrl-C stops all")
    up.add_argument("--mode", choices=STACK_MODES, default=None, help="default: OBSCONF_STACK or auto")
    up.add_argument("--prometheus-version", choices=PROMETHEUS_VERSIONS, default=None,
                    help="Prometheus release to run: 3.16 or 2.42 (default: OBSCONF_PROMETHEUS_VERSION or 3.16)")
    up.set_defaults(func=_stack_up)
    st = stack.add_parser("status", help="is the stack started by `obsconf stack up` answering?")
    st.set_defaults(func=_stack_status)
    env = stack.add_parser("env", help="print the OTEL_*/LOKI_* variables for a service you start by hand against "
                                       "the stack of `obsconf stack up`")
    env.add_argument("--format", choices=("sh", "dotenv", "json"), default="sh",
                     help="sh: export lines for eval (default); dotenv: KEY=value; json")
    env.add_argument("--service", default="my-service", help="OTEL_SERVICE_NAME (default: my-service)")
    env.add_argument("--sample-rate", type=float, default=1.0, help="OTEL_TRACES_SAMPLER_ARG (default 1.0)")
    env.set_defaults(func=_stack_env)

    contract = sub.add_parser("contract", help="draft, write, check and explain contract files")
    contract_cmds = contract.add_subparsers(dest="contract_cmd", required=True)
    from obsconf.contract.tools import add_commands

    add_commands(contract_cmds)  # schema, check, explain, draft

    report = sub.add_parser("report", help="rebuild run reports from their JSON")
    html = report.add_subparsers(dest="report_cmd", required=True).add_parser(
        "html", help="reports/conformance.html from reports/conformance.json (one self-contained page)")
    html.add_argument("--json", default="reports/conformance.json", metavar="FILE",
                      help="the run summary to render (default: reports/conformance.json)")
    html.add_argument("-o", "--output", default=None, metavar="FILE",
                      help="where to write the page (default: conformance.html beside the JSON)")
    html.add_argument("--coverage", default=None, metavar="FILE",
                      help="a coverage document (JSON) to show as the per-seed traceability tables")
    html.set_defaults(func=_report_html)

    _add_optional(sub, "reference", "the reference instrumented service", "obsconf.reference.serve", nested="serve")
    _add_optional(sub, "overhead", "measure instrumentation overhead A/B and write reports/", "obsconf.overhead.runner")
    _add_optional(sub, "gate", "pass/fail an overhead report for CI", "obsconf.overhead.gate")
    _add_optional(sub, "images", "build local container images from provisioned binaries", "obsconf.images", nested="build")
    _add_optional(sub, "security", "hostile input against the reference on the real stack; reports/security.json",
                  "obsconf.fuzz.run")
    return parser


#: pip extras that bring the optional commands' packages
_INSTALL_HINTS = {"hypothesis": "pip install 'obsconf[security]'", "httpx": "pip install 'obsconf[security]'"}


def _add_optional(sub, name: str, help_text: str, module: str, nested: str | None = None) -> None:  # noqa: ANN001
    """Subcommands whose module exposes ``add_arguments(parser)``/``run(args)`` (or add_serve_arguments/serve).

    A module that cannot be imported (a package it needs is missing) still gets its subcommand: running it
    says which package is missing and how to install it, instead of argparse's "invalid choice".
    """
    import importlib

    parser = sub.add_parser(name, help=help_text)
    if nested:
        parser = parser.add_subparsers(dest=f"{name}_cmd", required=True).add_parser(nested, help=help_text)
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        missing, reason = exc.name or str(exc), str(exc)
        hint = _INSTALL_HINTS.get(missing.split(".")[0], f"pip install {missing.split('.')[0]}")
        command = f"obsconf {name}" + (f" {nested}" if nested else "")

        def unavailable(args: argparse.Namespace) -> int:
            raise UsageError(f"{command} needs the Python package {missing!r}, which is not installed "
                             f"({reason}); install it: {hint}")

        parser.set_defaults(func=unavailable, any_arguments=True)  # its options are unknown: accept them all
        return
    add = getattr(mod, "add_arguments", None) or getattr(mod, "add_serve_arguments", None)
    run = getattr(mod, "run", None) or getattr(mod, "serve", None)
    if add is None or run is None:
        raise UsageError(f"{module} has no add_arguments/run: obsconf {name} cannot be offered")
    add(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except ObsconfError as exc:
        print(f"obsconf: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
