"""Drive a target with a contract's workload, then read what arrived in every backend.

The workload sends a fresh W3C ``traceparent`` with every request, so the trace id of each request is
known before it is sent; spans are read back by those ids. A service that does not propagate trace
context is read by its service name within the run window instead, and the findings say so. Waiting ends
early once everything the workload should have produced is there. The result is a :class:`Collected`
snapshot that the pure checks read.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from obsconf.contract.model import Contract, EmitStep
from obsconf.model import HttpExchange, LogRecord, MetricFamily, Span, get_field
from obsconf.readers.console import console_records
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.sequence import seqs_seen
from obsconf.waiting import poll
from obsconf.workload.plan import expand_steps
from obsconf.workload.run import run_workload

if TYPE_CHECKING:
    from obsconf.target import Target

_HEX32 = re.compile(r"[0-9a-f]{32}")

#: How spans were found: by the trace ids the workload sent, or by service name within the run window.
BY_TRACEPARENT = "traceparent"
BY_WINDOW = "service window"


@dataclass
class Collected:
    """Everything one contract's workload left in the backends, plus where it was read."""

    contract: Contract
    base_url: str
    run_id: str
    started_ns: int
    exchanges: list[HttpExchange] = field(default_factory=list)
    traces: dict[str, list[Span]] = field(default_factory=dict)  # trace id -> spans
    logs: list[LogRecord] = field(default_factory=list)  # from the contract's log source(s)
    console: list[LogRecord] = field(default_factory=list)  # the service's stdout (when obsconf started it)
    store_records: list[LogRecord] = field(default_factory=list)  # e.g. PocketBase daemon_logs
    metrics_before: list[MetricFamily] = field(default_factory=list)
    metrics_after: list[MetricFamily] = field(default_factory=list)
    metrics_text: str = ""
    trace_lookup: str = BY_TRACEPARENT
    traffic: dict[str, int] = field(default_factory=dict)  # dependency name -> connections through its proxy
    started_by_obsconf: bool = False  # obsconf started the service (so its dependencies sit behind proxies)
    notes: list[str] = field(default_factory=list)  # what a reader of the findings must know (fallbacks)
    queries: dict[str, str] = field(default_factory=dict)  # what was asked of each backend
    links: dict[str, str] = field(default_factory=dict)  # where to see it in each backend's UI
    timings: dict[str, float] = field(default_factory=dict)
    scripted: int | None = None  # under load: the first ``scripted`` exchanges are the contract's workload

    @property
    def spans(self) -> list[Span]:
        return [s for spans in self.traces.values() for s in spans]

    def sent_trace_ids(self) -> list[str]:
        """The trace ids the workload's requests carried (in request order)."""
        return [x.trace_id for x in self.exchanges if x.trace_id]

    def workload_exchanges(self) -> list[HttpExchange]:
        """The exchanges of the contract's own workload steps, in step order (under load, the load's
        requests follow them in :attr:`exchanges`)."""
        return self.exchanges if self.scripted is None else self.exchanges[: self.scripted]

    def delivery_records(self) -> dict[str, list[LogRecord]]:
        """What the delivery check counts per sink. Under load only the lines of the workload's own emit
        requests, found by trace id: a load's emits number their lines from 0 too."""
        sinks = {"loki": self.logs, "pocketbase": self.store_records}
        spec = self.contract.logs
        if self.scripted is None or spec is None:
            return sinks
        steps = expand_steps(self.contract.workload)
        emits = {x.trace_id for step, x in zip(steps, self.workload_exchanges(), strict=False)
                 if isinstance(step, EmitStep) and x.trace_id}
        fields = {"loki": spec.correlation.trace_id_field if spec.correlation else None,
                  "pocketbase": spec.store.trace_id_field if spec.store else None}
        return {sink: [r for r in records if get_field(r.fields, fields[sink]) in emits] if fields[sink] and emits
                else records for sink, records in sinks.items()}

    def every_sink(self) -> list[LogRecord]:
        """Every log record read from any sink: where a secret must never appear."""
        sources = self.contract.logs.sources if self.contract.logs else ()
        return self.logs + ([] if "console" in sources else self.console) + self.store_records




def read_traces(jaeger: JaegerReader, service: str, trace_ids: list[str], *, timeout: float) -> dict[str, list[Span]]:
    """The spans of each trace id, waiting until every trace arrived and its span count stopped growing."""
    wanted = set(trace_ids)
    found: dict[str, list[Span]] = {}
    if not wanted:
        return found

    limit = max(200, 4 * len(wanted))

    def fetch() -> dict[str, list[Span]]:
        listing = jaeger.traces(service, lookback_s=900, limit=limit)
        for trace in listing:
            if trace and trace[0].trace_id in wanted:
                found[trace[0].trace_id] = trace
        missing = wanted - found.keys()
        # a full listing may have left ours out (other instances of the service, e.g. fault scenarios side by
        # side, write under the same name): then each one is asked for by id
        if len(missing) <= 20 or len(listing) >= limit:
            for trace_id in missing:
                spans = jaeger.trace(trace_id)
                if spans:
                    found[trace_id] = spans
        return found

    poll(fetch, lambda f: wanted <= f.keys(), timeout=timeout, progress=lambda f: sum(map(len, f.values())))
    # late children: the batch processors of service and collector flush on their own timers
    counts = {tid: len(spans) for tid, spans in found.items()}
    time.sleep(0.6)
    for tid in list(found):
        if len(found[tid]) == counts[tid]:
            refreshed = jaeger.trace(tid)
            if len(refreshed) > len(found[tid]):
                found[tid] = refreshed
    return dict(found)


def traces_in_window(jaeger: JaegerReader, service: str, start_ns: int, *, timeout: float,
                     expected: int = 0) -> dict[str, list[Span]]:
    """Traces of ``service`` that began at or after ``start_ns``, waiting until ``expected`` arrived or the
    count stopped growing: the lookup for a service that does not propagate the workload's trace ids."""
    since_us = start_ns // 1000 - 1_000_000

    def fetch() -> dict[str, list[Span]]:
        out = {}
        for trace in jaeger.traces(service, lookback_s=900, limit=max(500, 4 * expected)):
            if trace and min(s.start_us for s in trace) >= since_us:
                out[trace[0].trace_id] = trace
        return out

    return dict(poll(fetch, lambda f: expected > 0 and len(f) >= expected, timeout=timeout, progress=len))


def logged_trace_ids(records: list[LogRecord], trace_id_field: str) -> set[str]:
    """The well-formed (32 hex) trace ids that log lines carry in ``trace_id_field``."""
    out = set()
    for rec in records:
        value = get_field(rec.fields, trace_id_field) if rec.fields else None
        if isinstance(value, str) and _HEX32.fullmatch(value.lower()):
            out.add(value.lower())
    return out


def _lines_done(wanted: set[str], trace_field: str, wanted_seqs: set[int], seq_field: str
                ) -> Callable[[list[LogRecord]], bool]:
    def done(lines: list[LogRecord]) -> bool:
        if not wanted and not wanted_seqs:
            return False  # nothing to wait for: stop once the count is stable
        if wanted_seqs and not wanted_seqs <= seqs_seen(lines, seq_field):
            return False
        return wanted <= logged_trace_ids(lines, trace_field)

    return done


def read_logs(reader: LogReader, labels: dict[str, str], start_ns: int, trace_ids: list[str], *,
              timeout: float, trace_field: str = "trace_id", seq_field: str = "",
              seqs: set[int] | None = None) -> list[LogRecord]:
    """Log lines of the stream since ``start_ns``, waiting until lines of each trace id arrived - and, with
    ``seq_field``, every numbered line in ``seqs`` (one trace's lines can span several shipped batches) -
    or until the count stops growing (the workload produced no traced lines, or lines were lost)."""
    return list(poll(lambda: reader.lines(labels, start_ns=start_ns),
                     _lines_done(set(trace_ids), trace_field, set(seqs or ()), seq_field),
                     timeout=timeout, progress=len))


def read_console(target: Target, offset: int, trace_ids: list[str], *, timeout: float,
                 trace_field: str = "trace_id", seq_field: str = "", seqs: set[int] | None = None) -> list[LogRecord]:
    """Lines the service wrote to stdout since byte ``offset``, waiting as :func:`read_logs` does."""
    return list(poll(lambda: console_records(target.stdout_since(offset)),
                     _lines_done(set(trace_ids), trace_field, set(seqs or ()), seq_field),
                     timeout=timeout, interval=0.2, progress=len, quiet=1.0))


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

    return as_records(poll(fetch, done, timeout=timeout, progress=len))


def _collect_traces(got: Collected, jaeger: JaegerReader, service: str, timeout: float) -> None:
    sent = got.sent_trace_ids()
    mark = time.monotonic()
    got.traces = read_traces(jaeger, service, sent, timeout=timeout)
    got.queries["traces"] = f"GET {jaeger.url}/api/traces/<id> for the trace id of each request's traceparent"
    if not got.traces:
        # no propagation (or sampling below 1.0): take the service's traces of this run's window
        got.traces = traces_in_window(jaeger, service, got.started_ns, timeout=min(timeout, 8.0),
                                      expected=0 if sent else len(got.exchanges))
        got.trace_lookup = BY_WINDOW
        got.queries["traces"] = f"GET {jaeger.url}/api/traces?service={service} since the run began"
        if sent:
            got.notes.append(
                f"none of the {len(sent)} trace ids sent in W3C traceparent headers arrived in Jaeger: the service "
                f"does not propagate trace context (an OpenTelemetry Go service must call otel.SetTextMapPropagator("
                f"propagation.TraceContext{{}})), or does not export spans; spans were looked up by service "
                f"name {service!r} within the run window, so requests cannot be paired with their traces")
    got.links["traces"] = jaeger.search_link(service)
    got.timings["traces"] = time.monotonic() - mark


@dataclass(frozen=True)
class _Numbered:
    """The numbered lines the delivery check counts: the emit steps' ``seq_field`` values, in the sinks named."""

    seq_field: str = ""
    seqs: frozenset[int] = frozenset()
    sinks: tuple[str, ...] = ()

    @classmethod
    def of(cls, contract: Contract) -> _Numbered:
        delivery = contract.logs.delivery if contract.logs else None
        if delivery is None:
            return cls()
        emitted = sum(s.n for s in contract.workload if isinstance(s, EmitStep))
        return cls(delivery.seq_field, frozenset(range(emitted)), tuple(delivery.sinks))

    def wanted_in(self, sink: str) -> set[int]:
        return set(self.seqs) if sink in self.sinks else set()


def collect(contract: Contract, target: Target, *, jaeger: JaegerReader, logs: LogReader,
            pocketbase: PocketBaseClient | None, timeout: float = 15.0, run_id: str | None = None,
            auth: Callable[[str], dict[str, str]] | None = None) -> Collected:
    """Run the contract's workload against ``target`` and read every backend. ``auth(path)`` gives the
    headers for paths behind a token (the workload's requests and the metrics scrapes)."""
    from obsconf.target import sample_rate

    metrics_headers = auth(contract.service.metrics_path) if auth is not None else None
    base_url = target.base_url
    metrics_url = base_url.rstrip("/") + contract.service.metrics_path
    got = Collected(contract=contract, base_url=base_url, run_id=run_id or uuid.uuid4().hex[:10],
                    started_ns=time.time_ns())
    began = time.monotonic()
    _, got.metrics_before = scrape(metrics_url, headers=metrics_headers)
    console_mark = target.stdout_size()
    # at a sample rate below 1 the service's own sampler must decide, so no sampled parent is sent
    got.exchanges = run_workload(base_url, contract.workload, variables={"run_id": got.run_id},
                                 propagate=sample_rate(contract) >= 1.0, auth=auth)
    got.timings["workload"] = time.monotonic() - began
    _collect_traces(got, jaeger, contract.service.name, timeout)
    numbered = _Numbered.of(contract)
    _collect_logs(got, target, logs, jaeger, console_mark, numbered, timeout)
    if contract.logs is not None and contract.logs.store is not None and pocketbase is not None:
        _collect_store(got, pocketbase, contract.logs.store.collection, numbered, timeout)
    got.metrics_text, got.metrics_after = scrape(metrics_url, headers=metrics_headers)
    got.queries["metrics"] = f"GET {metrics_url}"
    got.links["metrics"] = metrics_url
    got.traffic = target.traffic()
    got.started_by_obsconf = target.started
    return got


def _collect_logs(got: Collected, target: Target, logs: LogReader, jaeger: JaegerReader, console_mark: int,
                  numbered: _Numbered, timeout: float) -> None:
    """The service's stdout (when obsconf started it) and the contract's log source(s); then the traces that
    log lines name beyond the requests' own."""
    spec = got.contract.logs
    sent = got.sent_trace_ids()
    trace_field = spec.correlation.trace_id_field if spec and spec.correlation else "trace_id"
    mark = time.monotonic()
    sources = spec.sources if spec else ()
    if target.stdout_path is not None:
        got.console = read_console(target, console_mark, sent if "console" in sources else [],
                                   timeout=timeout if "console" in sources else 1.0, trace_field=trace_field,
                                   seq_field=numbered.seq_field,
                                   seqs=set(numbered.seqs) if "console" in sources else set())
        got.queries["console"] = f"stdout of the service ({target.stdout_path})"
    if spec is not None and "loki" in sources:
        got.logs = read_logs(logs, spec.stream, got.started_ns, sent, timeout=timeout, trace_field=trace_field,
                             seq_field=numbered.seq_field, seqs=numbered.wanted_in("loki"))
        got.queries["logs"] = selector(spec.stream, None, logs.dialect)
        got.links["logs"] = logs.link(got.queries["logs"])
    if spec is not None and "console" in sources:
        if target.stdout_path is None:
            got.notes.append("logs.source is console, but obsconf did not start this service, so it cannot read "
                             "its stdout; let obsconf start it (service.command or --obsconf-target-cmd)")
        got.logs = got.logs + got.console
        got.queries.setdefault("logs", got.queries.get("console", "stdout"))
    # the correlation check needs the spans of every trace a log line names, not only the requests' (lines
    # outside the workload's requests, e.g. a start-up probe, name traces of their own)
    if spec is not None and spec.correlation is not None:
        extra = sorted(logged_trace_ids(got.logs, trace_field) - got.traces.keys())[:50]
        if extra:
            got.traces.update(read_traces(jaeger, got.contract.service.name, extra, timeout=min(timeout, 5.0)))
    got.timings["logs"] = time.monotonic() - mark


def _collect_store(got: Collected, pocketbase: PocketBaseClient, collection: str, numbered: _Numbered,
                   timeout: float) -> None:
    """The records the service wrote to its log store (a PocketBase collection) during the run."""
    mark = time.monotonic()
    got.store_records = read_store(pocketbase, collection, got.started_ns, timeout=timeout,
                                   seq_field=numbered.seq_field, seqs=numbered.wanted_in("pocketbase"))
    got.queries["store"] = f"GET {pocketbase.url}/api/collections/{collection}/records"
    got.links["store"] = pocketbase.record_link(collection)
    got.timings["store"] = time.monotonic() - mark
