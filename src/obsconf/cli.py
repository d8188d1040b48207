"""The ``obsconf`` command line, built on the same functions as the pytest plugin.

Exit codes: 0 success, 1 a check or gate failed, 2 usage or environment error (message says the fix).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence

from obsconf import __version__
from obsconf.errors import ObsconfError, UsageError
from obsconf.settings import STACK_MODES, Settings


def _provision(args: argparse.Namespace) -> int:
    from obsconf import provision

    settings = Settings.from_env()
    if args.check:
        return provision.check(settings)
    code = provision.provision(settings)
    provision.check(settings)
    return code


def _state_file(settings: Settings):  # noqa: ANN202
    return settings.run_dir / "stack-up.json"


def _stack_up(args: argparse.Namespace) -> int:
    from obsconf.stack import start_stack

    settings = Settings.from_env(stack=args.mode)
    began = time.monotonic()
    stack = start_stack(settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        state = _state_file(settings)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(stack.endpoints.to_json())
        print(f"stack ({stack.mode}) ready in {time.monotonic() - began:.2f} s", file=sys.stderr)
        print(stack.endpoints.to_json(), flush=True)
        print(stack.endpoints.table(), file=sys.stderr, flush=True)
        print("Ctrl-C stops every backend.", file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping the stack ...", file=sys.stderr, flush=True)
        stack.stop()
        _state_file(settings).unlink(missing_ok=True)


def _stack_status(args: argparse.Namespace) -> int:
    import requests

    settings = Settings.from_env()
    state = _state_file(settings)
    if not state.exists():
        print("no stack is up (start one with `obsconf stack up`)")
        return 1
    endpoints = json.loads(state.read_text())
    probes = {
        "jaeger": f"{endpoints['jaeger_query_url']}/api/services",
        "prometheus": f"{endpoints['prometheus_url']}/-/ready",
        "logs": f"{endpoints['logs_query_url']}/health",
        "pocketbase": f"{endpoints['pocketbase_url']}/api/health",
        "toxiproxy": f"{endpoints['toxiproxy_url']}/version",
    }
    code = 0
    for name, url in probes.items():
        try:
            status = requests.get(url, timeout=2).status_code
            ok = status == 200
        except requests.RequestException as exc:
            status, ok = type(exc).__name__, False
        code |= 0 if ok else 1
        print(f"{'up  ' if ok else 'DOWN'}  {name:11} {url}  ({status})")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obsconf", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"obsconf {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("provision", help="install or build every backend at pinned versions into the cache")
    p.add_argument("--check", action="store_true", help="only report each backend's version and path")
    p.set_defaults(func=_provision)

    stack = sub.add_parser("stack", help="run the backend stack by hand").add_subparsers(dest="stack_cmd", required=True)
    up = stack.add_parser("up", help="start every backend, print endpoints (JSON on stdout), Ctrl-C stops all")
    up.add_argument("--mode", choices=STACK_MODES, default=None, help="default: OBSCONF_STACK or auto")
    up.set_defaults(func=_stack_up)
    st = stack.add_parser("status", help="is the stack started by `obsconf stack up` answering?")
    st.set_defaults(func=_stack_status)

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
