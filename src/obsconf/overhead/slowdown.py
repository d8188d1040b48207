"""The ``burn`` variant of ``obsconf overhead`` (``--burn-us``, ``--burn-bare``, ``--burn-regression-pct``):
make a service burn N us of extra CPU per request.

It proves that the overhead measurement and the gate see a known slowdown. The burn is a tiny ASGI
wrapper injected from outside, so the reference service needs no test code of its own:

    python -m obsconf.overhead.slowdown --slowdown-us 200 -- --profile persist --port 8000

runs ``python -m obsconf.reference --profile persist --port 8000`` in this process after wrapping
whatever app uvicorn loads (``uvicorn.Config.load`` is patched before the reference module starts).
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TARGET_MODULE = "obsconf.reference"


def burn_cpu(microseconds: int) -> None:
    """Spin on this thread's CPU clock until it advanced by ``microseconds``."""
    deadline = time.thread_time_ns() + microseconds * 1000
    while time.thread_time_ns() < deadline:
        pass


class SlowdownASGI:
    """ASGI wrapper: every HTTP request first burns ``microseconds`` of CPU, then goes to ``app``."""

    def __init__(self, app: ASGIApp, microseconds: int) -> None:
        self.app = app
        self.microseconds = microseconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.microseconds > 0:
            burn_cpu(self.microseconds)
        await self.app(scope, receive, send)


def patch_uvicorn(microseconds: int) -> Callable[[], None]:
    """Wrap every app that uvicorn loads in this process with :class:`SlowdownASGI`; return the undo."""
    import uvicorn

    original = uvicorn.Config.load

    def load(self: Any) -> None:
        original(self)
        if not isinstance(self.loaded_app, SlowdownASGI):
            self.loaded_app = SlowdownASGI(self.loaded_app, microseconds)

    uvicorn.Config.load = load  # type: ignore[method-assign]

    def undo() -> None:
        uvicorn.Config.load = original  # type: ignore[method-assign]

    return undo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m obsconf.overhead.slowdown", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slowdown-us", type=int, required=True)
    parser.add_argument("--module", default=TARGET_MODULE, help="module to run as __main__")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="-- then the module's own arguments")
    args = parser.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    patch_uvicorn(args.slowdown_us)
    sys.argv = [args.module, *rest]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
