"""Delivery under load, the reading side: Jaeger's and the log stores' view of a run, polled in the
background while the load runs, and the service's own telemetry counters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests

from obsconf.errors import ObsconfError
from obsconf.overhead.delivery_result import (
    POLL_EVERY_S,
    PROFILE,
    SERVICE,
    first_seen_update,
    telemetry_counters,
)
from obsconf.sequence import global_seq
from obsconf.stack.endpoints import Endpoints


class Poller(threading.Thread):
    """Calls ``poll()`` every ``interval`` until stopped (errors of one poll are retried at the next)."""

    def __init__(self, poll: Callable[[], None], interval: float = POLL_EVERY_S) -> None:
        super().__init__(name="obsconf-delivery-poller", daemon=True)
        self.poll, self.interval = poll, interval
        self._halt = threading.Event()
        self.failures: list[str] = []

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.poll()
            except (ObsconfError, requests.RequestException, ValueError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")  # the next poll or the final wait counts
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(15)


class TraceView:
    """Jaeger's view of the traces of ``sent``: span counts and when each trace was first seen."""

    def __init__(self, jaeger_url: str, since_s: float) -> None:
        from obsconf.readers.jaeger import JaegerReader

        self.reader = JaegerReader(jaeger_url, timeout=20.0)
        self.since_s = since_s
        self.counts: dict[str, int] = {}
        self.first_seen: dict[str, int] = {}
        self.limit = 1000

    def poll(self) -> int:
        now = time.time_ns()
        lookback = int(time.time() - self.since_s) + 10
        traces = self.reader.traces(SERVICE, lookback_s=lookback, limit=self.limit)
        new = 0
        for spans in traces:
            if spans:
                tid = spans[0].trace_id
                if len(spans) > self.counts.get(tid, 0):
                    self.counts[tid] = len(spans)
                    new += 1
        first_seen_update(self.first_seen, self.counts, now)
        return new


class LineView:
    """The log store's and PocketBase's view of this run's numbered lines, in each sink's order."""

    def __init__(self, endpoints: Endpoints, run: str, daemon_id: str, per_request: int, start_ns: int) -> None:
        from obsconf.readers.logs import LogReader
        from obsconf.readers.pocketbase import PocketBaseClient

        self.run, self.daemon_id, self.per_request, self.start_ns = run, daemon_id, per_request, start_ns
        self.logs = (LogReader(endpoints.logs_query_url, endpoints.logs_dialect, timeout=20.0)
                     if endpoints.logs_query_url else None)
        self.pb = (PocketBaseClient(endpoints.pocketbase_url, endpoints.pocketbase_admin_email,
                                    endpoints.pocketbase_admin_password, timeout=20.0)
                   if endpoints.pocketbase_url else None)
        self.sinks = [s for s, r in (("loki", self.logs), ("pocketbase", self.pb)) if r is not None]
        self.arrived: dict[str, list[int]] = {s: [] for s in self.sinks}
        self.first_seen: dict[str, dict[int, int]] = {s: {} for s in self.sinks}

    def _read(self, sink: str) -> list[int]:
        if sink == "loki":
            assert self.logs is not None
            recs = self.logs.lines({"service": SERVICE, "profile": PROFILE}, contains=self.run,
                                   start_ns=self.start_ns - 2_000_000_000, limit=200_000)
            rows: Iterable[Mapping[str, Any]] = (r.fields for r in recs)
        else:
            assert self.pb is not None
            # @rowid: insertion order, the order PocketBase received the records
            rows = self.pb.records("daemon_logs", filter=f"daemon_id = '{self.daemon_id}' && message ~ 'synthetic'",
                                   sort="@rowid", per_page=1000)
        return [s for s in (global_seq(self.run, r, self.per_request) for r in rows) if s is not None]

    def poll(self) -> int:
        new = 0
        for sink in self.sinks:
            now = time.time_ns()
            self.arrived[sink] = self._read(sink)
            new += first_seen_update(self.first_seen[sink], self.arrived[sink], now)
        return new


def scrape_counters(base: str) -> dict[str, float]:
    from obsconf.readers.metrics_text import scrape

    _, families = scrape(f"{base}/metrics")
    return telemetry_counters(families)
