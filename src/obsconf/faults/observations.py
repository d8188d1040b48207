"""What a fault scenario produced: each request of its load, each sink's items, and the whole run (pure data,
judged by :mod:`obsconf.faults.verdict`, written by :mod:`obsconf.faults.report`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from obsconf.faults.accounting import Latency


@dataclass
class Request:
    """One request of the scenario's load."""

    phase: str  # before | during | after
    label: str  # the step's name or METHOD path
    ok: bool  # answered with one of the step's expected statuses
    status: int  # 0: no answer
    seconds: float
    trace_id: str
    at: float  # monotonic time it was sent


@dataclass
class SinkCount:
    """One sink's items of the scenario's requests: expected from the baseline, received, lost, duplicated."""

    sink: str
    requests: int
    expected: int
    received: int
    lost: int
    duplicated: int
    per_request: dict[str, int] = field(default_factory=dict)  # baseline items per request label


@dataclass
class FaultRun:
    """What one fault scenario produced; judged by :func:`obsconf.faults.verdict.judge_fault`."""

    contract: str
    name: str
    dependency: str
    mode: str
    seconds: float
    requests: list[Request] = field(default_factory=list)
    dependent_s: list[float] = field(default_factory=list)
    recovered_after_s: float | None = None
    traffic: int = -1
    sinks: list[SinkCount] = field(default_factory=list)
    dropped_counted: float | None = None
    duplicates_counted: float | None = None
    metrics: list[dict[str, Any]] = field(default_factory=list)  # per reaction: name, before, peak, after
    shutdown_s: float | None = None
    exited_by_itself: bool | None = None
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def during(self) -> list[Request]:
        return [r for r in self.requests if r.phase == "during"]

    def latency(self) -> Latency:
        during = self.during()
        return Latency.of([r.seconds for r in during], sum(not r.ok for r in during))


def count_sink(sink: str, requests: Sequence[Request], found: dict[str, list[str]], per_label: dict[str, int]) -> SinkCount:
    """One sink's items of ``requests`` (``found``: trace id -> items) against the baseline items per request."""
    expected = received = lost = duplicated = 0
    for r in requests:
        want = per_label.get(r.label, 0)
        items = found.get(r.trace_id, [])
        copies = Counter(items)
        distinct = len(copies)
        expected += want
        received += distinct
        lost += max(0, want - distinct)
        duplicated += sum(n - 1 for n in copies.values())
    return SinkCount(sink, len(requests), expected, received, lost, duplicated, dict(per_label))
