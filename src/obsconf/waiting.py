"""Wait for data that arrives over time: poll until it is complete, stops growing, or time runs out.

The one polling loop of obsconf: readers that wait for telemetry to settle (traces, log lines, records,
scrapes) and the measurements that wait for the last items of a run all call :func:`poll`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, interval: float = 0.3,
         progress: Callable[[Any], int] | None = None, quiet: float = 2.0) -> Any:
    """Fetch until ``done``, the deadline, or - with ``progress`` - until what arrived stopped growing for
    ``quiet`` seconds (data that will never come, e.g. a request the service does not trace, ends the wait
    early; the checks then report what is missing)."""
    deadline = time.monotonic() + timeout
    last_size, last_change = -1, time.monotonic()
    while True:
        value = fetch()
        now = time.monotonic()
        if done(value) or now >= deadline:
            return value
        if progress is not None:
            size = progress(value)
            if size != last_size:
                last_size, last_change = size, now
            elif size > 0 and now - last_change >= quiet:
                return value
        time.sleep(interval)


def settle(count: Callable[[], int], *, timeout: float, quiet: float = 2.5, interval: float = 0.5) -> int:
    """Poll ``count`` until it stops growing for ``quiet`` seconds (or ``timeout``); the last count."""
    return int(poll(count, lambda _: False, timeout=timeout, interval=interval, progress=lambda n: n, quiet=quiet))
