"""Serve the reference app with breaks applied, through the reference's own ``serve`` (loopback guard,
uvicorn settings, env configuration), by wrapping its app factory."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tests.broken_target.breaks import BREAKS, apply_breaks, parse_breaks


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, patch the app factory, serve until SIGTERM; returns the exit code."""
    import obsconf.reference.app as reference_app
    from obsconf.reference.serve import add_serve_arguments, serve

    parser = argparse.ArgumentParser(prog="python -m tests.broken_target",
                                     description="The obsconf reference service with violations injected.")
    add_serve_arguments(parser)
    parser.add_argument("--break", dest="breaks", default="none", metavar="KIND[,KIND...]",
                        help="violations to inject: " + "; ".join(f"{b.kind} ({b.what}; profiles: "
                                                                  f"{', '.join(b.patches)})" for b in BREAKS.values()))
    args = parser.parse_args(argv)
    try:
        kinds = parse_breaks(args.breaks)
    except ValueError as exc:
        parser.error(str(exc))
    unavailable = [k for k in kinds if args.profile not in BREAKS[k].patches]
    if unavailable:
        parser.error(f"--break {', '.join(unavailable)}: not available for profile {args.profile} "
                     f"(see --help for the profiles of each break)")
    create_app = reference_app.create_app

    def broken_app(profile: str, config: Any = None) -> Any:
        app = create_app(profile, config)
        apply_breaks(app, kinds)
        return app

    # serve() imports create_app from the module at call time, so it builds the broken app
    reference_app.create_app = broken_app
    print(f"broken target: profile {args.profile}, breaks {', '.join(kinds) or 'none'}", file=sys.stderr)
    return serve(args)
