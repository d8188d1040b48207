"""The reference service with one bug put in on purpose, to prove each fault scenario catches it.

``OBSCONF_BROKEN=<variant> python -m tests.faults.broken --profile P --port N`` patches the reference, then
serves exactly like ``python -m obsconf.reference``. Variants:

- ``no-backoff``: retries follow each other at once (every backoff delay is 0).
- ``silent-drop``: a full shipper buffer drops new lines without counting them.
- ``hanging-shutdown``: shutdown waits until Jaeger took every span, however long that is.
- ``blocking-io``: work meant for a thread runs on the event loop (a slow S3 call stalls every request).
- ``sync-shipping``: a log line is pushed to the log store inside the request that logged it.
- ``uncounted-resend``: a push that was sent but not answered within 2 s is sent again, without counting
  the possible duplicate, and PocketBase records carry no ids of their own (as the shippers once did).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

VARIANTS = ("no-backoff", "silent-drop", "hanging-shutdown", "blocking-io", "sync-shipping", "uncounted-resend")


def _no_backoff() -> None:
    from obsconf.reference.backoff import Backoff

    Backoff.delay = lambda self, retry, rng=None: 0.0  # type: ignore[method-assign]


def _silent_drop() -> None:
    from obsconf.reference.shipping import BatchShipper

    def offer(self: Any, item: Any) -> None:
        with self._lock:
            if len(self._buf) >= self.buffer_max:
                return  # the bug: gone, and no counter says so
            self._buf.append(item)
            self.offered += 1
            full = len(self._buf) >= self.batch_size
        if full:
            self._wake.set()

    def put_back(self: Any, batch: list[Any]) -> None:
        with self._lock:
            room = max(0, self.buffer_max - len(self._buf))
            self._buf.extendleft(reversed(batch[len(batch) - room:] if room < len(batch) else batch))

    BatchShipper.offer = offer  # type: ignore[method-assign]
    BatchShipper._put_back = put_back  # type: ignore[method-assign]


def _hanging_shutdown() -> None:
    from obsconf.reference.telemetry import Telemetry

    original = Telemetry.shutdown

    def shutdown(self: Any, timeout: float | None = None) -> dict[str, bool]:
        done = original(self, timeout)
        # the bug: "do not lose spans" - wait for an export that cannot succeed while Jaeger is down
        while self.exporter is not None and self.exporter.failed:
            time.sleep(0.1)
        return done

    Telemetry.shutdown = shutdown  # type: ignore[method-assign]


def _blocking_io() -> None:
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args)  # the bug: blocking I/O on the event loop

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def _sync_shipping() -> None:
    from obsconf.reference.shipping import LokiShipper, ShipError

    def offer(self: Any, item: Any) -> None:
        try:
            self.send([item], 5.0)  # the bug: the request waits for the log store
            self.shipped += 1
        except ShipError:
            self.send_errors += 1

    LokiShipper.offer = offer  # type: ignore[method-assign]


def _uncounted_resend() -> None:
    from obsconf.reference import pbship
    from obsconf.reference.shipping import BatchShipper

    os.environ["OBSCONF_LOGS_HTTP_TIMEOUT"] = "2"  # the old timeout: a 6 s hang makes every push time out
    BatchShipper.unanswered = lambda self, batch: None  # type: ignore[method-assign]
    pbship.PocketBaseShipper.unanswered = lambda self, batch: None  # type: ignore[method-assign]
    original = pbship.PocketBaseSink.emit

    def emit(self: Any, line: bytes, record: Any, event: Any) -> None:
        offer = self.shipper.offer
        self.shipper.offer = lambda rec: offer({k: v for k, v in rec.items() if k != "id"})
        try:
            original(self, line, record, event)
        finally:
            self.shipper.offer = offer

    pbship.PocketBaseSink.emit = emit  # type: ignore[method-assign]


PATCHES = {"no-backoff": _no_backoff, "silent-drop": _silent_drop, "hanging-shutdown": _hanging_shutdown,
           "blocking-io": _blocking_io, "sync-shipping": _sync_shipping, "uncounted-resend": _uncounted_resend}


def main() -> int:
    variant = os.environ.get("OBSCONF_BROKEN", "")
    if variant not in PATCHES:
        print(f"tests.faults.broken: set OBSCONF_BROKEN to one of {', '.join(VARIANTS)} (got {variant!r})",
              file=sys.stderr)
        return 2
    PATCHES[variant]()
    from obsconf.reference.serve import main as serve_main

    return serve_main()


if __name__ == "__main__":
    sys.exit(main())
