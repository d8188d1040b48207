"""Collect under load: run the contract's Locust load (with the contract's own workload sent once in the
middle of it), then read everything the run window left in every backend into the :class:`Collected`
snapshot the cases read, and count each signal per route and status class for the accounting.

Readings wait for arrivals to settle (:func:`obsconf.waiting.poll`), never for a fixed time: the counter
until its increase equals the requests answered or stops changing over three scrapes, the log store and
the trace store until every request's trace id arrived or their counts stop growing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from obsconf.checks.accounting import (
    ANY,
    AccountingRow,
    RouteKey,
    RouteMatcher,
    account,
    counter_deltas,
    is_access_line,
    request_key,
    route_templates,
    tally_logs,
    tally_sent,
    tally_series,
    tally_spans,
)
from obsconf.checks.load_slos import SloMeasure, measure_slos
from obsconf.contract.model import AccountingSpec, Contract, EmitStep
from obsconf.errors import ObsconfError
from obsconf.live.collect import Collected, logged_trace_ids, read_store, read_traces
from obsconf.load.runner import LoadPlan, LoadRun, run_load
from obsconf.model import LogRecord, Span
from obsconf.readers.console import console_records
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.readers.prometheus import PrometheusReader
from obsconf.waiting import poll
from obsconf.workload.run import run_workload

if TYPE_CHECKING:
    from obsconf.target import Target

SETTLE_S = 3.0  # a count unchanged this long (three scrape intervals) has settled
READ_TIMEOUT_S = 45.0

Deltas = list[tuple[dict[str, str], float]]


@dataclass
class LoadResult:
    """A contract's load and what its signals say about it: the accounting rows, the histogram's count
    beside the counter's, and the SLOs measured twice."""

    contract: Contract
    run: LoadRun
    rows: list[AccountingRow]
    histogram: tuple[Counter[RouteKey], Counter[RouteKey]] | None  # (counter, histogram _count) alike grouped
    slos: list[SloMeasure]
    sample_rate: float
    always_sample_errors: bool
    sent: int  # requests obsconf sent in the window (the load's and the workload's)
    queries: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    html_path: str = ""


def _series(found: Sequence[Any]) -> Deltas:
    return [(dict(s.labels), s.points[-1][1]) for s in found]


def _wait_for_scrape(prometheus: PrometheusReader, job: str, after: float, timeout: float) -> None:
    """Until Prometheus scraped ``job`` after unix time ``after`` (so a reading holds what came before)."""
    def fetch() -> float:
        found = prometheus.query(f'max(timestamp(up{{job="{job}"}}))')
        return found[0].points[0][1] if found else 0.0

    last = poll(fetch, lambda ts: ts > after, timeout=timeout, interval=0.25)
    if last <= after:
        raise ObsconfError(f"Prometheus did not scrape job {job!r} within {timeout:g} s, so the request counter "
                           "cannot be read before and after the load")


class _Reader:
    """The PromQL side: the counter, the histogram's _count and _bucket of this job, at one instant."""

    def __init__(self, prometheus: PrometheusReader, spec: AccountingSpec, job: str) -> None:
        self.prometheus, self.spec, self.job = prometheus, spec, job
        self.queries = {"counter": f'{spec.counter.name}{{job="{job}"}}'}
        if spec.histogram is not None:
            self.queries["histogram_count"] = f'{spec.histogram.name}_count{{job="{job}"}}'
            self.queries["histogram_bucket"] = f'{spec.histogram.name}_bucket{{job="{job}"}}'

    def read(self) -> dict[str, Deltas]:
        return {k: _series(self.prometheus.query(q)) for k, q in self.queries.items()}


def _sent_paths(exchanges: Sequence[Any], exclude: set[str]) -> int:
    return sum(1 for x in exchanges if x.status and urlsplit(x.url).path not in exclude)


def client_overhead_ms(exchanges: Sequence[Any], spans: Sequence[Span]) -> float:
    """The p95 of what the client's time adds to the server's (connection, the load generator's own
    scheduling), per request: its latency minus its server span's duration, paired by trace id. 0 when no
    request could be paired (spans sampled away)."""
    server = {s.trace_id: s.duration_us / 1000 for s in spans if s.kind == "server"}
    extra = sorted(max(0.0, x.elapsed_ms - server[x.trace_id]) for x in exchanges if x.trace_id in server)
    return extra[min(len(extra) - 1, int(0.95 * len(extra)))] if extra else 0.0


@dataclass(frozen=True)
class Backends:
    """The readers of every backend a load's signals land in."""

    jaeger: JaegerReader
    logs: LogReader
    prometheus: PrometheusReader
    pocketbase: PocketBaseClient | None


def collect_under_load(contract: Contract, target: Target, plan: LoadPlan, backends: Backends, *,
                       progress: Callable[[str], None], run_id: str | None = None,
                       timeout: float = READ_TIMEOUT_S,
                       auth: Callable[[str], dict[str, str]] | None = None) -> tuple[Collected, LoadResult]:
    """Run ``plan`` against ``target`` with the contract's workload inside it; read every backend."""
    from obsconf.target import sample_rate

    spec = contract.load
    if spec is None or spec.accounting is None:
        raise ObsconfError(f"{contract.name} has no load section to run")
    accounting = spec.accounting
    rate = sample_rate(contract)
    sampling = contract.spans.sampling if contract.spans else None
    run_id = run_id or uuid.uuid4().hex[:10]
    base_url = target.base_url
    metrics_url = base_url.rstrip("/") + contract.service.metrics_path
    timings: dict[str, float] = {}

    got = Collected(contract=contract, base_url=base_url, run_id=run_id, started_ns=time.time_ns())
    metrics_headers = auth(contract.service.metrics_path) if auth is not None else None
    _, got.metrics_before = scrape(metrics_url, headers=metrics_headers)
    console_mark = target.stdout_size()
    reader = _Reader(backends.prometheus, accounting, target.job)
    before = _counter_before(backends.prometheus, reader, target.job)

    def workload() -> list[Any]:
        if not contract.workload:
            return []
        return run_workload(base_url, contract.workload, variables={"run_id": run_id}, propagate=rate >= 1.0,
                            auth=auth)

    mark = time.monotonic()
    run = run_load(plan, progress=progress, during=workload)
    timings["load"] = time.monotonic() - mark
    got.started_ns = run.started_ns
    exclude = set(accounting.exclude)
    # requests to excluded routes (the metrics path: Prometheus' own scrapes hit it too) are not the
    # service's traffic: the service need not trace or log them, so no case reads them
    got.exchanges = list(run.scripted) + [x for x in run.exchanges() if urlsplit(x.url).path not in exclude]
    got.scripted = len(run.scripted)
    answered = _sent_paths(got.exchanges, exclude)

    mark = time.monotonic()
    progress(f"load: waiting for the signals of {len(got.exchanges)} requests to arrive")
    after = _counter_after(backends.prometheus, reader, target.job, run, before, accounting, answered, timeout)
    timings["counter"] = time.monotonic() - mark

    mark = time.monotonic()
    _read_load_logs(got, contract, target, backends.logs, run, answered, console_mark, timeout)
    timings["logs"] = time.monotonic() - mark
    mark = time.monotonic()
    _read_load_traces(got, contract, backends.jaeger, run, answered, timeout)
    timings["traces"] = time.monotonic() - mark
    store_s = _read_load_store(got, contract, backends.pocketbase, run, timeout)
    if store_s is not None:
        timings["store"] = store_s

    got.metrics_text, got.metrics_after = scrape(metrics_url, headers=metrics_headers)
    got.queries["metrics"] = f"GET {metrics_url}"
    got.links["metrics"] = metrics_url
    got.traffic = target.traffic()
    got.started_by_obsconf = target.started
    got.timings.update(timings)

    result = account_load(contract, accounting, run, got, before, after, rate=rate,
                          always_sample_errors=bool(sampling and sampling.always_sample_errors))
    result.queries.update({k: f"{q} at the start and the end of the load" for k, q in reader.queries.items()})
    result.timings.update(timings)
    return got, result


def _counter_before(prometheus: PrometheusReader, reader: _Reader, job: str) -> dict[str, Deltas]:
    """The counter (and histogram) as Prometheus holds them before the load."""
    prometheus.wait_for_target_up(job, timeout=15)
    # a scrape after this instant holds every request made before it (the start-up probe, say); the wait
    # ends at that scrape (60 s allows a user's Prometheus a slow scrape interval)
    _wait_for_scrape(prometheus, job, time.time(), timeout=60)
    return reader.read()


def _counter_after(prometheus: PrometheusReader, reader: _Reader, job: str, run: LoadRun,
                   before: dict[str, Deltas], accounting: AccountingSpec, answered: int, timeout: float
                   ) -> dict[str, Deltas]:
    """The counter after the load: until its increase (outside excluded routes) equals the requests
    answered, or settles."""
    exclude = set(accounting.exclude)

    def counted(values: dict[str, Deltas]) -> int:
        return round(sum(v for labels, v in counter_deltas(before["counter"], values["counter"])
                         if labels.get(accounting.counter.route_label) not in exclude))

    # the service counts a request once it has answered it: half a second after the last answer, it has
    _wait_for_scrape(prometheus, job, run.ended_ns / 1e9 + 0.5, timeout=60)
    return poll(reader.read, lambda v: counted(v) == answered, timeout=timeout, interval=0.5,
                progress=counted, quiet=SETTLE_S)


def _read_load_logs(got: Collected, contract: Contract, target: Target, logs: LogReader, run: LoadRun,
                    answered: int, console_mark: int, timeout: float) -> None:
    """The service's stdout and the log store over the load's window, until every access line and every
    request's trace id arrived, or the count settles."""
    sent_ids = [x.trace_id for x in got.exchanges if x.trace_id]
    logs_spec = contract.logs
    trace_field = logs_spec.correlation.trace_id_field if logs_spec and logs_spec.correlation else ""
    sources = logs_spec.sources if logs_spec else ()
    access = contract.load.accounting.access_log if contract.load and contract.load.accounting else None

    def logs_done(lines: list[LogRecord]) -> bool:
        if access is not None and sum(1 for r in lines if is_access_line(r, access)) < answered:
            return False
        return not trace_field or set(sent_ids) <= logged_trace_ids(lines, trace_field)

    if target.stdout_path is not None:
        got.queries["console"] = f"stdout of the service ({target.stdout_path})"
        if "console" in sources:
            got.console = list(poll(lambda: console_records(target.stdout_since(console_mark)), logs_done,
                                    timeout=timeout, interval=0.5, progress=len, quiet=SETTLE_S))
        else:
            got.console = console_records(target.stdout_since(console_mark))
    if logs_spec is not None and "loki" in sources:
        query = selector(logs_spec.stream, None, logs.dialect)
        window_end = run.ended_ns + 2_000_000_000
        got.logs = list(poll(lambda: logs.window(query, run.started_ns, window_end), logs_done, timeout=timeout,
                             interval=0.5, progress=len, quiet=SETTLE_S))
        got.queries["logs"] = f"{query} over the load's window"
        got.links["logs"] = logs.link(query)
    if logs_spec is not None and "console" in sources:
        got.logs = got.logs + got.console
        got.queries.setdefault("logs", got.queries.get("console", "stdout"))


def _read_load_traces(got: Collected, contract: Contract, jaeger: JaegerReader, run: LoadRun, answered: int,
                      timeout: float) -> None:
    """Every trace of the load's window, plus the traces its log lines name that the window missed."""
    service = contract.service.name
    sent_ids = [x.trace_id for x in got.exchanges if x.trace_id]
    got.traces = _read_window_traces(jaeger, service, run.started_ns, run.ended_ns + 2_000_000_000, sent_ids,
                                     answered, timeout=timeout)
    logs_spec = contract.logs
    trace_field = logs_spec.correlation.trace_id_field if logs_spec and logs_spec.correlation else ""
    if trace_field:
        extra = sorted(logged_trace_ids(got.logs, trace_field) - got.traces.keys())[:50]
        if extra:
            got.traces.update(read_traces(jaeger, service, extra, timeout=5.0))
    got.queries["traces"] = f"GET {jaeger.url}/api/traces?service={service} over the load's window"
    got.links["traces"] = jaeger.search_link(service)


def _read_load_store(got: Collected, contract: Contract, pocketbase: PocketBaseClient | None, run: LoadRun,
                     timeout: float) -> float | None:
    """The log store's records (PocketBase) since the load began, every numbered line when the contract
    counts delivery there; the seconds it took, None when the contract has no store."""
    logs_spec = contract.logs
    store = logs_spec.store if logs_spec else None
    if store is None or pocketbase is None:
        return None
    mark = time.monotonic()
    delivery = logs_spec.delivery if logs_spec else None
    emitted = sum(s.n for s in contract.workload if isinstance(s, EmitStep))
    seqs = set(range(emitted)) if delivery is not None and "pocketbase" in delivery.sinks else set()
    got.store_records = read_store(pocketbase, store.collection, run.started_ns, timeout=timeout,
                                   seq_field=delivery.seq_field if delivery else "", seqs=seqs)
    got.queries["store"] = f"GET {pocketbase.url}/api/collections/{store.collection}/records"
    got.links["store"] = pocketbase.record_link(store.collection)
    return time.monotonic() - mark


def _read_window_traces(jaeger: JaegerReader, service: str, start_ns: int, end_ns: int, sent_ids: list[str],
                        answered: int, *, timeout: float) -> dict[str, list[Span]]:
    """Every trace of ``service`` in the window, until each sent trace id arrived with at least as many server
    spans as requests were answered, or the span count settles."""
    wanted = set(sent_ids)

    def fetch() -> dict[str, list[Span]]:
        found: dict[str, list[Span]] = {}
        for trace in jaeger.traces_between(service, start_ns // 1000 - 1_000_000, end_ns // 1000):
            if trace and len(trace) > len(found.get(trace[0].trace_id, ())):
                found[trace[0].trace_id] = trace
        return found

    def done(found: dict[str, list[Span]]) -> bool:
        servers = sum(1 for spans in found.values() for s in spans if s.kind == "server")
        return bool(wanted) and wanted <= found.keys() and servers >= answered

    return dict(poll(fetch, done, timeout=timeout, interval=0.5, progress=lambda f: sum(map(len, f.values())),
                     quiet=SETTLE_S))


def _deltas(before: Mapping[str, Deltas], after: Mapping[str, Deltas], key: str) -> Deltas:
    return counter_deltas(before.get(key, []), after.get(key, []))


def account_load(contract: Contract, spec: AccountingSpec, run: LoadRun, got: Collected,
                 before: Mapping[str, Deltas], after: Mapping[str, Deltas], *, rate: float,
                 always_sample_errors: bool) -> LoadResult:
    """Tally every signal of the window per route and status class (pure, given what was read)."""
    counter = _deltas(before, after, "counter")
    window_spans = [s for s in got.spans if s.service == contract.service.name or not s.service]
    access = spec.access_log
    lines = got.logs if access is not None else []
    matcher = RouteMatcher(route_templates(spec, counter, window_spans, lines))
    by_method = spec.counter.method_label is not None
    exclude = spec.exclude
    sent = tally_sent(got.exchanges, matcher, exclude, by_method=by_method)
    c = spec.counter
    counted = tally_series(counter, matcher, exclude, route_label=c.route_label, status_label=c.status_label,
                           method_label=c.method_label)
    spans = (tally_spans(window_spans, spec.spans, matcher, exclude, by_method=by_method)
             if spec.spans is not None else None)
    logged = tally_logs(lines, access, matcher, exclude, by_method=by_method) if access is not None else None
    rows = account(sent, counted, spans, logged)
    histogram = None
    h = spec.histogram
    if h is not None:
        status = c.status_label if h.status_label else None
        method = c.method_label if h.method_label and c.method_label else None
        regrouped = tally_series(counter, matcher, exclude, route_label=c.route_label, status_label=status,
                                 method_label=method)
        counts = tally_series(_deltas(before, after, "histogram_count"), matcher, exclude,
                              route_label=h.route_label, status_label=h.status_label if status else None,
                              method_label=h.method_label if method else None)
        histogram = (regrouped, counts)
    slos: list[SloMeasure] = []
    if contract.load is not None and contract.load.slos is not None:
        keyed = ((request_key(x, matcher, set(exclude), by_method=False), x.elapsed_ms) for x in got.exchanges)
        client = [(k, ms) for k, ms in keyed if k is not None]
        by_route: dict[str, dict[float, float]] = {}
        if h is not None:
            for labels, value in _deltas(before, after, "histogram_bucket"):
                raw = labels.get(h.route_label, "")
                route = matcher.route(raw) if raw.startswith("/") else raw
                if route in exclude or raw in exclude:
                    continue
                le = float(labels.get("le", "nan"))
                by_route.setdefault(route, {})
                by_route[route][le] = by_route[route].get(le, 0.0) + value
        plain = Counter({RouteKey(ANY, k.route, k.status): 0 for k in counted})
        for k, n in counted.items():
            plain[RouteKey(ANY, k.route, k.status)] += n
        slos = measure_slos(contract.load.slos, client, plain, by_route,
                            client_overhead_ms=client_overhead_ms(got.exchanges, window_spans))
    return LoadResult(contract, run, rows, histogram, slos, rate, always_sample_errors, sum(sent.values()))
