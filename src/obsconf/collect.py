"""Drive a target with a contract's workload, then read what arrived in every backend.

This is the one place where the conformance suite talks to the network: it runs the workload, then
waits, with a deadline, for spans, log lines, records and series to arrive. Waiting ends early once
everything the workload should have produced is there. The result is a :class:`Collected` snapshot that
the pure checks read.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from obsconf.checks._common import get_field
from obsconf.contract.model import Contract, EmitStep
from obsconf.model import HttpExchange, LogRecord, MetricFamily, Span
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.workload import run_workload

TRACE_HEADER = "x-trace-id"
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass
class Collected:
    """Everything one contract's workload left in the backends, plus where it was read."""

    contract: Contract
    base_url: str
    run_id: str
    started_ns: int
    exchanges: list[HttpExchange] = field(default_factory=list)
    traces: dict[str, list[Span]] = field(default_factory=dict)  # trace id -> spans
    logs: list[LogRecord] = field(default_factory=list)  # from the Loki-protocol log store
    store_records: list[LogRecord] = field(default_factory=list)  # e.g. PocketBase daemon_logs
    metrics_before: list[MetricFamily] = field(default_factory=list)
    metrics_after: list[MetricFamily] = field(default_factory=list)
    metrics_text: str = ""
    queries: dict[str, str] = field(default_factory=dict)  # what was asked of each backend
    links: dict[str, str] = field(default_factory=dict)  # where to see it in each backend's UI
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def spans(self) -> list[Span]:
        return [s for spans in self.traces.values() for s in spans]

    def response_trace_ids(self) -> list[str]:
        ids = []
        for ex in self.exchanges:
            value = _header(ex, TRACE_HEADER)
            if value:
                ids.append(value.lower())
        return ids


def _header(exchange: HttpExchange, name: str) -> str | None:
    for key, value in exchange.headers.items():
        if key.lower() == name:
            return value
    return None


def _poll(fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, interval: float = 0.3,
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


def read_traces(jaeger: JaegerReader, service: str, trace_ids: list[str], *, timeout: float) -> dict[str, list[Span]]:
    """The spans of each trace id, waiting until every trace arrived and its span count stopped growing."""
    wanted = set(trace_ids)
    found: dict[str, list[Span]] = {}

    def fetch() -> dict[str, list[Span]]:
        for trace in jaeger.traces(service, lookback_s=900, limit=max(200, 4 * len(wanted))):
            if trace and trace[0].trace_id in wanted:
                found[trace[0].trace_id] = trace
        for missing in wanted - found.keys():
            spans = jaeger.trace(missing) if len(wanted - found.keys()) <= 20 else []
            if spans:
                found[missing] = spans
        return found

    _poll(fetch, lambda f: wanted <= f.keys(), timeout=timeout, progress=lambda f: sum(map(len, f.values())))
    # late children: the batch processors of service and collector flush on their own timers
    counts = {tid: len(spans) for tid, spans in found.items()}
    time.sleep(0.6)
    for tid in list(found):
        if len(found[tid]) == counts[tid]:
            refreshed = jaeger.trace(tid)
            if len(refreshed) > len(found[tid]):
                found[tid] = refreshed
    return dict(found)


def seqs_seen(records: list[LogRecord], seq_field: str) -> set[int]:
    """The integer ``seq_field`` values (dotted path) of ``records``: which numbered lines arrived."""
    out = set()
    for rec in records:
        value = get_field(rec.fields, seq_field) if rec.fields else None
        if isinstance(value, int) and not isinstance(value, bool):
            out.add(value)
    return out


def logged_trace_ids(records: list[LogRecord], trace_id_field: str) -> set[str]:
    """The well-formed (32 hex) trace ids that log lines carry in ``trace_id_field``."""
    out = set()
    for rec in records:
        value = get_field(rec.fields, trace_id_field) if rec.fields else None
        if isinstance(value, str) and _HEX32.fullmatch(value.lower()):
            out.add(value.lower())
    return out


def read_logs(reader: LogReader, labels: dict[str, str], start_ns: int, trace_ids: list[str], *,
              timeout: float, seq_field: str = "", seqs: set[int] | None = None) -> list[LogRecord]:
    """Log lines of the stream since ``start_ns``, waiting until lines of each trace id arrived - and, with
    ``seq_field``, every numbered line in ``seqs`` (one trace's lines can span several shipped batches) -
    or until the count stops growing (the workload produced no traced lines, or lines were lost)."""
    wanted = set(trace_ids)
    wanted_seqs = set(seqs or ())

    def fetch() -> list[LogRecord]:
        return reader.lines(labels, start_ns=start_ns)

    def done(lines: list[LogRecord]) -> bool:
        if not wanted and not wanted_seqs:
            return False  # nothing to wait for: stop once the count is stable
        if wanted_seqs and not wanted_seqs <= seqs_seen(lines, seq_field):
            return False
        return wanted <= {str(r.fields.get("trace_id", "")).lower() for r in lines}

    return list(_poll(fetch, done, timeout=timeout, progress=len))


def read_store(client: PocketBaseClient, collection: str, since_ns: int, *, timeout: float,
               min_count: int = 1, seq_field: str = "", seqs: set[int] | None = None) -> list[LogRecord]:
    """Records written to a PocketBase log collection since ``since_ns``, as LogRecords (fields = the record);
    with ``seq_field``, waits for every numbered line in ``seqs`` (or until the count stops growing)."""
    since = datetime.fromtimestamp(since_ns / 1e9 - 1, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.000Z")
    query = f"timestamp >= '{since}'"

    def fetch() -> list[dict[str, Any]]:
        return client.records(collection, filter=query, sort="timestamp")

    def as_records(rows: list[dict[str, Any]]) -> list[LogRecord]:
        return [LogRecord(timestamp_ns=0, line=json.dumps(r, sort_keys=True), fields=r,
                          labels={"collection": collection}, source="pocketbase") for r in rows]

    wanted_seqs = set(seqs or ())

    def done(rows: list[dict[str, Any]]) -> bool:
        return len(rows) >= min_count and (not wanted_seqs or wanted_seqs <= seqs_seen(as_records(rows), seq_field))

    return as_records(_poll(fetch, done, timeout=timeout, progress=len))


def collect(contract: Contract, base_url: str, *, jaeger: JaegerReader, logs: LogReader,
            pocketbase: PocketBaseClient | None, metrics_headers: dict[str, str] | None = None,
            timeout: float = 15.0, run_id: str | None = None,
            auth: Callable[[str], dict[str, str]] | None = None) -> Collected:
    """Run the contract's workload against ``base_url`` and read every backend. ``auth(path)`` gives the
    headers for paths behind a token (the workload's requests and the metrics scrapes)."""
    if auth is not None and metrics_headers is None:
        metrics_headers = auth(contract.service.metrics_path)
    service = contract.service.name
    run_id = run_id or uuid.uuid4().hex[:10]
    metrics_url = base_url.rstrip("/") + contract.service.metrics_path
    got = Collected(contract=contract, base_url=base_url, run_id=run_id, started_ns=time.time_ns())
    began = time.monotonic()
    _, got.metrics_before = scrape(metrics_url, headers=metrics_headers)
    got.exchanges = run_workload(base_url, contract.workload, variables={"run_id": run_id}, auth=auth)
    got.timings["workload"] = time.monotonic() - began

    mark = time.monotonic()
    trace_ids = got.response_trace_ids()
    got.traces = read_traces(jaeger, service, trace_ids, timeout=timeout)
    got.queries["traces"] = f"GET {jaeger.url}/api/traces?service={service} (+ /api/traces/<id> per X-Trace-Id)"
    got.links["traces"] = jaeger.search_link(service)
    got.timings["traces"] = time.monotonic() - mark

    # numbered lines of the emit steps that the delivery check counts in each sink
    delivery = contract.logs.delivery if contract.logs else None
    emitted = sum(s.n for s in contract.workload if isinstance(s, EmitStep))
    seq_field = delivery.seq_field if delivery is not None else ""
    seqs = set(range(emitted)) if delivery is not None else set()

    mark = time.monotonic()
    labels = {"service": service}
    loki_seqs = seqs if delivery is not None and "loki" in delivery.sinks else set()
    got.logs = read_logs(logs, labels, got.started_ns, trace_ids, timeout=timeout, seq_field=seq_field,
                         seqs=loki_seqs)
    # the correlation check needs the spans of every trace a log line names, not only the responses' (lines
    # outside the workload's requests, e.g. the start-up readiness probe, name traces of their own)
    corr = contract.logs.correlation if contract.logs else None
    if corr is not None:
        extra = sorted(logged_trace_ids(got.logs, corr.trace_id_field) - got.traces.keys())[:50]
        if extra:
            got.traces.update(read_traces(jaeger, service, extra, timeout=min(timeout, 5.0)))
    got.queries["logs"] = selector(labels, None, logs.dialect)
    got.links["logs"] = logs.link(got.queries["logs"])
    got.timings["logs"] = time.monotonic() - mark

    store = contract.logs.store if contract.logs else None
    if store is not None and pocketbase is not None:
        mark = time.monotonic()
        store_seqs = seqs if delivery is not None and "pocketbase" in delivery.sinks else set()
        got.store_records = read_store(pocketbase, store.collection, got.started_ns, timeout=timeout,
                                       seq_field=seq_field, seqs=store_seqs)
        got.queries["store"] = f"GET {pocketbase.url}/api/collections/{store.collection}/records"
        got.links["store"] = pocketbase.record_link(store.collection)
        got.timings["store"] = time.monotonic() - mark

    got.metrics_text, got.metrics_after = scrape(metrics_url, headers=metrics_headers)
    got.queries["metrics"] = f"GET {metrics_url}"
    got.links["metrics"] = metrics_url
    return got
