"""Each fault mode a contract may name, as what Toxiproxy does to the proxy of a dependency.

``down`` disables the proxy (connections refused); every other mode is one toxic on the downstream
stream, with the contract's ``attributes`` over the defaults below. The modes and their meanings are
listed once, in :data:`obsconf.contract.kinds.FAULT_MODES`; a test keeps this table equal to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from obsconf.errors import UsageError
from obsconf.stack.toxiproxy import ToxiproxyClient

#: mode -> (Toxiproxy toxic type, default attributes); ``down`` has no toxic.
TOXICS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "down": None,
    "reset_peer": ("reset_peer", {"timeout": 0}),
    "latency": ("latency", {"latency": 1000, "jitter": 0}),
    "slow_close": ("slow_close", {"delay": 1000}),
    "timeout": ("timeout", {"timeout": 500}),
    # timeout 0: data is dropped and the connection held open until the toxic is removed
    "hang": ("timeout", {"timeout": 0}),
}


@contextmanager
def inject(client: ToxiproxyClient, proxy: str, mode: str, attributes: Mapping[str, Any] | None = None
           ) -> Iterator[None]:
    """The fault ``mode`` on ``proxy`` for the duration of a ``with`` block; removed even if the block fails."""
    if mode not in TOXICS:
        raise UsageError(f"unknown fault mode {mode!r}; use one of {', '.join(TOXICS)}")
    toxic = TOXICS[mode]
    if toxic is None:
        with client.outage(proxy):
            yield
        return
    kind, defaults = toxic
    with client.toxic(proxy, kind, {**defaults, **dict(attributes or {})}):
        yield
