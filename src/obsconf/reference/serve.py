"""``python -m obsconf.reference --profile NAME --port P`` (and ``obsconf reference serve``): run with uvicorn.

Binds 127.0.0.1 unless both ``--host`` and ``--allow-remote`` are given.
"""

from __future__ import annotations

import argparse
import logging
import sys

from obsconf.errors import ObsconfError, UsageError
from obsconf.ports import ensure_free
from obsconf.reference.config import PROFILES, ReferenceConfig

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--profile``, ``--port``, ``--host``, ``--allow-remote`` and ``--log-level`` to ``parser``."""
    parser.add_argument("--profile", required=True, choices=PROFILES, help="which seed's behaviour to serve")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --host other than loopback (the service is a test fixture: think twice)")
    parser.add_argument("--uvicorn-log-level", default="warning",
                        choices=("critical", "error", "warning", "info", "debug"),
                        help="uvicorn's own log level (the service's JSON logs are configured by env)")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM; returns the process exit code."""
    import uvicorn

    from obsconf.reference.app import create_app

    try:
        if args.host not in _LOOPBACK and not args.host.startswith("127.") and not args.allow_remote:
            raise UsageError(f"--host {args.host} is not a loopback address; the reference service binds "
                             f"127.0.0.1. Add --allow-remote if you really want {args.host}.")
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port {args.port} is out of range 0-65535")
        if args.port and args.host in _LOOPBACK | {"127.0.0.1"}:
            ensure_free(args.port, "obsconf reference serve --port")  # a clear error before uvicorn's exit 3
        config = ReferenceConfig.from_env(args.profile)
        app = create_app(args.profile, config)
    except ObsconfError as exc:
        print(f"obsconf reference: {exc}", file=sys.stderr)
        return 2
    # The OTLP exporter logs each failed export through stdlib logging (non-JSON, on stderr); our exporter
    # wrapper already reports and counts failures as JSON lines, so keep stderr for real crashes.
    logging.getLogger("opentelemetry.exporter").setLevel(logging.CRITICAL)
    logging.getLogger("opentelemetry.sdk.trace.export").setLevel(logging.CRITICAL)
    server = uvicorn.Server(uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.uvicorn_log_level, access_log=False,
        lifespan="on", timeout_graceful_shutdown=2, server_header=False,
    ))
    server.run()
    return 0 if server.started else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsconf.reference",
                                     description="Run the obsconf reference instrumented service.")
    add_serve_arguments(parser)
    return serve(parser.parse_args(argv))
