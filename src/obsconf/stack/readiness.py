"""Wait for a server to become ready, retrying only on named transient errors."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from obsconf.errors import BackendNotReady


class NotReadyYet(Exception):  # noqa: N818 - a signal inside the wait loop, never raised to users
    """Raised by a readiness probe when the server answers but is not ready yet."""


TRANSIENT = (requests.ConnectionError, requests.Timeout, NotReadyYet, ConnectionError)


def http_ok(url: str, *, expect_status: int = 200, timeout: float = 2.0) -> Callable[[], None]:
    """A probe that passes when GET ``url`` answers ``expect_status``."""

    def probe() -> None:
        resp = requests.get(url, timeout=timeout)
        if resp.status_code != expect_status:
            raise NotReadyYet(f"GET {url} -> {resp.status_code} {resp.text[:200]!r}")

    return probe


def http_answers(url: str, *, timeout: float = 2.0) -> Callable[[], None]:
    """A probe that passes once GET ``url`` answers below 500 (401 or 403: the server is up, behind auth)."""

    def probe() -> None:
        resp = requests.get(url, timeout=timeout)
        if resp.status_code >= 500:
            raise NotReadyYet(f"GET {url} -> {resp.status_code}")

    return probe


def wait_ready(
    what: str,
    probe: Callable[[], None],
    *,
    timeout: float,
    interval: float = 0.1,
    still_alive: Callable[[], str | None] = lambda: None,
) -> float:
    """Call ``probe`` until it returns without a transient error; return the seconds waited.

    ``still_alive`` returns a reason string once the server is known dead (e.g. its process exited), which
    ends the wait at once. The final error names ``what``, the time waited and the last cause.
    """
    start = time.monotonic()
    last: BaseException | None = None
    while True:
        dead = still_alive()
        if dead:
            raise BackendNotReady(f"{what} exited before it was ready: {dead}")
        try:
            probe()
            return time.monotonic() - start
        except TRANSIENT as exc:
            last = exc
        waited = time.monotonic() - start
        if waited >= timeout:
            raise BackendNotReady(
                f"{what} was not ready after {waited:.1f} s (timeout {timeout:.0f} s); last cause: "
                f"{type(last).__name__}: {last}"
            )
        time.sleep(interval)
