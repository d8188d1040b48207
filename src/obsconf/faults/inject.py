"""Each fault mode a contract may name, as what Toxiproxy (or the kernel) does to a dependency.

``down`` disables the proxy (connections refused); ``hang`` stops the dependency's process when it is one of
this session's (SIGSTOP, then SIGCONT: it accepts connections and answers nothing, then processes what it
received), else holds every byte in Toxiproxy until the fault ends; every other mode is one toxic on the
downstream stream, with the contract's ``attributes`` over the defaults below. The modes and their meanings
are listed once, in :data:`obsconf.contract.kinds.FAULT_MODES`; a test keeps this table equal to it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from obsconf.errors import UsageError
from obsconf.stack.toxiproxy import Proxy, ToxiproxyClient

#: mode -> (Toxiproxy toxic type, default attributes); ``down`` and ``hang`` are handled on their own.
TOXICS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "down": None,
    "hang": None,
    "reset_peer": ("reset_peer", {"timeout": 0}),
    "latency": ("latency", {"latency": 1000, "jitter": 0}),
    "slow_close": ("slow_close", {"delay": 1000}),
    "timeout": ("timeout", {"timeout": 500}),
}

#: A hang through Toxiproxy: every byte sent to the dependency is held (a latency far beyond any fault) and
#: forwarded when the toxic goes, as a stopped process that is continued reads its socket buffers.
HANG_LATENCY_MS = 600_000


@contextmanager
def inject(client: ToxiproxyClient, proxy: Proxy, mode: str, attributes: Mapping[str, Any] | None = None
           ) -> Iterator[None]:
    """The fault ``mode`` on ``proxy`` for the duration of a ``with`` block; removed even if the block fails."""
    if mode not in TOXICS:
        raise UsageError(f"unknown fault mode {mode!r}; use one of {', '.join(TOXICS)}")
    if mode == "down":
        with client.outage(proxy.name):
            yield
        return
    if mode == "hang":
        with hang(client, proxy):
            yield
        return
    kind, defaults = TOXICS[mode]  # type: ignore[misc]
    with client.toxic(proxy.name, kind, {**defaults, **dict(attributes or {})}):
        yield


def _session_process_on(address: str) -> int | None:
    """The pid of one of this session's processes that listens on ``address`` (host:port), else None."""
    from obsconf.netcheck import listeners, session_pids

    port = int(address.rsplit(":", 1)[1])
    found = [x.pid for x in listeners(session_pids(os.getpid())) if x.port == port]
    return found[0] if found else None


@contextmanager
def hang(client: ToxiproxyClient, proxy: Proxy) -> Iterator[str]:
    """The dependency behind ``proxy`` accepts connections and answers nothing for the duration of a ``with``
    block, then resumes and processes what it received. Yields how: SIGSTOP/SIGCONT of a process of this
    session (the kernel keeps every request in its socket buffers), else a Toxiproxy upstream hold (requests
    whose client gave up meanwhile may then be dropped by Toxiproxy)."""
    pid = _session_process_on(proxy.upstream)
    if pid is not None:
        os.kill(pid, signal.SIGSTOP)
        try:
            yield f"SIGSTOP/SIGCONT of pid {pid}"
        finally:
            os.kill(pid, signal.SIGCONT)
        return
    with client.toxic(proxy.name, "latency", {"latency": HANG_LATENCY_MS, "jitter": 0}, stream="upstream",
                      name="hang"):
        yield "a Toxiproxy hold on the upstream stream"
