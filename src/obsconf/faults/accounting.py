"""Pure delivery accounting: what arrived in a sink compared with what was sent, arrival delays, and request
latencies.

Used by the fault scenarios and by delivery-under-load measurements; nothing here touches the network, so
every rule is unit-tested on good and bad data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """What arrived in one sink compared with what the service emitted (lines identified by sequence number)."""

    sink: str
    sent: int
    received: int  # distinct sequence numbers that arrived (of those sent)
    lost: int
    duplicated: int  # extra copies beyond the first
    out_of_order: int  # first copies that arrived after a copy of a higher sequence number
    max_delay_s: float | None = None  # worst time from emission to first sight in the sink (None: not measured)
    missing_sample: tuple[int, ...] = ()  # the first few lost sequence numbers, for the message
    unexpected: int = 0  # arrivals whose sequence number was never sent

    @property
    def exactly_once(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0


def account(sink: str, sent: Sequence[int], arrived: Sequence[int], *,
            emitted_ns: Mapping[int, int] | None = None, first_seen_ns: Mapping[int, int] | None = None) -> Delivery:
    """Count lost, duplicated and out-of-order lines. ``arrived`` is in the sink's order (arrival order, or
    timestamp order for a log store); ``emitted_ns``/``first_seen_ns`` (by sequence number) give the delay."""
    wanted = set(sent)
    seen: set[int] = set()
    duplicated = out_of_order = unexpected = 0
    highest = -math.inf
    for seq in arrived:
        if seq not in wanted:
            unexpected += 1
            continue
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < highest:
            out_of_order += 1
        highest = max(highest, seq)
    missing = sorted(wanted - seen)
    delay: float | None = None
    if emitted_ns is not None and first_seen_ns is not None:
        delays = delays_s(emitted_ns, {s: first_seen_ns[s] for s in seen if s in first_seen_ns})
        delay = round(max(delays), 3) if delays else None
    return Delivery(sink, len(wanted), len(seen), len(missing), duplicated, out_of_order, delay,
                    tuple(missing[:10]), unexpected)


def delays_s(sent_ns: Mapping[Any, int], first_seen_ns: Mapping[Any, int]) -> list[float]:
    """Seconds from sending to first sight, for every key present in both (never negative)."""
    return [max(0.0, (first_seen_ns[k] - sent_ns[k]) / 1e9) for k in first_seen_ns if k in sent_ns]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Latency:
    count: int
    failed: int  # answers that were not 2xx, or no answer
    p50_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float], failed: int) -> Latency:
        return cls(len(seconds), failed, round(percentile(seconds, 0.5) * 1000, 1),
                   round(percentile(seconds, 0.95) * 1000, 1), round(max(seconds, default=0.0) * 1000, 1))


@dataclass(frozen=True)
class DelayStats:
    """Arrival delays (seconds) of the items that arrived: count, median, 95th percentile and worst."""

    count: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None

    @classmethod
    def of(cls, delays: Sequence[float]) -> DelayStats:
        if not delays:
            return cls(0, None, None, None)
        return cls(len(delays), round(percentile(delays, 0.50), 3), round(percentile(delays, 0.95), 3),
                   round(max(delays), 3))
