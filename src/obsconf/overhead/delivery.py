"""Delivery under load: at a stated rate, how much telemetry arrives, and how late.

Black-box, from outside the service: one instrumented syncd reference service is wired to a real stack.

* **Spans.** ``GET /api/ok`` at a fixed arrival rate; every answer's ``X-Trace-Id`` is kept. Jaeger is
  polled while the load runs and until arrivals settle; each trace counts as received when it shows up,
  complete when it has as many spans as the traces of a slow calibration run had. Spans the batch span
  processor dropped (its queue full) never reach the exporter, so they show as requests answered minus
  spans the service counted as exported (``obsconf_telemetry_spans_exported_total``, success + failure).
* **Log lines.** ``POST /logs/emit?n=N&tag=<run>-<i>`` every 0.1 s for the stated lines/s; each line is
  numbered ``i * N + fields.seq``. The log store (Loki protocol) and PocketBase ``daemon_logs`` are polled;
  :func:`obsconf.faults.account` counts sent, received, lost, duplicated and out of order per sink.

Delays are from the moment the request was *sent* to the first poll that saw the item, so they are upper
bounds, with the poll interval as resolution. An item counts as *late* when it arrived after
``late_after_s``. The first half of this module is pure (unit-tested in ``tests/overhead/test_delivery.py``);
:func:`run_delivery` is the network side.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import ObsconfError, UsageError
from obsconf.faults import Delivery, account, percentile
from obsconf.model import MetricFamily
from obsconf.ports import LOOPBACK
from obsconf.stack.endpoints import Endpoints

PROFILE = "syncd"  # the only profile with POST /logs/emit (numbered lines)
SERVICE = "sync-daemon"
SPAN_PATH = "/api/ok"
EMIT_EVERY_S = 0.1
POLL_EVERY_S = 0.5
SETTLE_S = 3.0  # arrivals have settled when nothing new came for this long
DEFAULT_SPAN_RATE = 200.0
DEFAULT_LINE_RATE = 1000.0
DEFAULT_SECONDS = 5.0
DEFAULT_LATE_AFTER_S = 5.0
CALIBRATION_REQUESTS = 5

#: Shipping settings of the measured service. The seed's PocketBase default flushes every 30 s, which would
#: make every line "late" by design; 1 s matches the log store shipper's default. Stated in the report.
SERVICE_ENV = {
    "SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS": "1",
    "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0",  # our own scrapes must not be refused
    "SYNCD_LOG_ROTATION_ENABLED": "false",
}

# ---------------------------------------------------------------------------------------------------------
# Pure accounting
# ---------------------------------------------------------------------------------------------------------


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


def delays_s(sent_ns: Mapping[Any, int], first_seen_ns: Mapping[Any, int]) -> list[float]:
    """Seconds from sending to first sight, for every key present in both (never negative)."""
    return [max(0.0, (first_seen_ns[k] - sent_ns[k]) / 1e9) for k in first_seen_ns if k in sent_ns]


@dataclass(frozen=True)
class SpanDelivery:
    """Traces of requests answered, compared with what Jaeger holds (one trace per request)."""

    rate_rps: float
    seconds: float
    duration_s: float  # from the first request due to the last answer: > seconds when the service lagged
    requests_sent: int
    requests_answered: int  # 2xx/3xx answers with an X-Trace-Id
    request_errors: int
    expected_spans_per_trace: int
    traces_received: int
    traces_lost: int
    traces_incomplete: int  # received with fewer spans than expected
    spans_expected: int
    spans_received: int
    late: int  # traces first seen more than late_after_s after their request was sent
    late_after_s: float
    delay: DelayStats
    missing_sample: tuple[str, ...] = ()
    counters: dict[str, float] = field(default_factory=dict)  # obsconf_telemetry_* increase during the phase

    @property
    def spans_lost(self) -> int:
        return max(0, self.spans_expected - self.spans_received)

    @property
    def spans_not_exported(self) -> int | None:
        """Spans the service never handed to its exporter (dropped by the batch span processor, or still
        queued): expected minus ``spans_exported_total`` success + failure. None without the counters."""
        ok = self.counters.get('obsconf_telemetry_spans_exported_total{result="success"}')
        failed = self.counters.get('obsconf_telemetry_spans_exported_total{result="failure"}')
        if ok is None and failed is None:
            return None
        return max(0, self.spans_expected - int((ok or 0) + (failed or 0)))

    @property
    def spans_export_failed(self) -> int | None:
        failed = self.counters.get('obsconf_telemetry_spans_exported_total{result="failure"}')
        return None if failed is None else int(failed)

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), missing_sample=list(self.missing_sample), spans_lost=self.spans_lost,
                    spans_not_exported=self.spans_not_exported, spans_export_failed=self.spans_export_failed)


def account_traces(*, rate_rps: float, seconds: float, duration_s: float, requests_sent: int, request_errors: int,
                   sent_ns: Mapping[str, int], span_counts: Mapping[str, int], first_seen_ns: Mapping[str, int],
                   expected_spans: int, late_after_s: float = DEFAULT_LATE_AFTER_S,
                   counters: Mapping[str, float] | None = None) -> SpanDelivery:
    """Count traces received, lost, incomplete and late. ``sent_ns``: trace id -> when its request was sent;
    ``span_counts`` / ``first_seen_ns``: what Jaeger showed (ids not sent, e.g. probes, are ignored)."""
    if expected_spans < 1:
        raise ValueError(f"expected_spans must be >= 1, got {expected_spans}")
    wanted = set(sent_ns)
    got = {t: n for t, n in span_counts.items() if t in wanted and n > 0}
    missing = sorted(wanted - set(got))
    delays = delays_s(sent_ns, {t: first_seen_ns[t] for t in got if t in first_seen_ns})
    return SpanDelivery(
        rate_rps=rate_rps, seconds=seconds, duration_s=round(duration_s, 3), requests_sent=requests_sent, requests_answered=len(wanted),
        request_errors=request_errors, expected_spans_per_trace=expected_spans, traces_received=len(got),
        traces_lost=len(missing), traces_incomplete=sum(1 for n in got.values() if n < expected_spans),
        spans_expected=len(wanted) * expected_spans,
        spans_received=sum(min(n, expected_spans) for n in got.values()),
        late=sum(1 for d in delays if d > late_after_s), late_after_s=late_after_s, delay=DelayStats.of(delays),
        missing_sample=tuple(missing[:5]), counters=dict(counters or {}),
    )


@dataclass(frozen=True)
class LogDelivery:
    """One sink's numbered lines: :class:`obsconf.faults.Delivery` plus arrival delays and late lines."""

    counts: Delivery
    late: int
    late_after_s: float
    delay: DelayStats

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {"sink": c.sink, "sent": c.sent, "received": c.received, "lost": c.lost,
                "duplicated": c.duplicated, "out_of_order": c.out_of_order, "unexpected": c.unexpected,
                "missing_sample": list(c.missing_sample), "late": self.late, "late_after_s": self.late_after_s,
                "delay": asdict(self.delay)}


def account_lines(sink: str, sent: Sequence[int], arrived: Sequence[int], *, emitted_ns: Mapping[int, int],
                  first_seen_ns: Mapping[int, int], late_after_s: float = DEFAULT_LATE_AFTER_S) -> LogDelivery:
    """Account one sink's lines by sequence number (``arrived`` in the sink's order) and time their arrival."""
    counts = account(sink, sent, arrived, emitted_ns=emitted_ns, first_seen_ns=first_seen_ns)
    wanted = set(sent)
    delays = delays_s(emitted_ns, {s: t for s, t in first_seen_ns.items() if s in wanted})
    return LogDelivery(counts, sum(1 for d in delays if d > late_after_s), late_after_s, DelayStats.of(delays))


def global_seq(run: str, record: Mapping[str, Any], lines_per_request: int) -> int | None:
    """``i * lines_per_request + seq`` of a syncd line (or PocketBase record) whose ``fields.tag`` is
    ``<run>-<i>``; None for any other line."""
    inner = record.get("fields")
    if not isinstance(inner, dict):
        return None
    tag, seq = str(inner.get("tag", "")), inner.get("seq")
    prefix = f"{run}-"
    if not tag.startswith(prefix) or not isinstance(seq, int) or not 0 <= seq < lines_per_request:
        return None
    try:
        return int(tag[len(prefix):]) * lines_per_request + seq
    except ValueError:
        return None


def telemetry_counters(families: Iterable[MetricFamily]) -> dict[str, float]:
    """The service's own ``obsconf_telemetry_*_total`` samples, keyed ``name{label="v",...}``."""
    out: dict[str, float] = {}
    for fam in families:
        if not fam.name.startswith("obsconf_telemetry_"):
            continue
        for s in fam.samples:
            if not s.name.endswith("_total"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return out


def counter_increase(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """How much each counter grew (a counter missing before counts from 0)."""
    return {k: v - before.get(k, 0.0) for k, v in sorted(after.items())}


def first_seen_update(first_seen: dict[Any, int], keys: Iterable[Any], now_ns: int) -> int:
    """Record ``now_ns`` for keys seen for the first time; return how many were new."""
    new = 0
    for k in keys:
        if k not in first_seen:
            first_seen[k] = now_ns
            new += 1
    return new


@dataclass
class DeliveryResult:
    """The ``delivery`` section of ``overhead.json``."""

    config: dict[str, Any]
    spans: SpanDelivery | None = None
    logs: list[LogDelivery] = field(default_factory=list)
    lines_sent: int = 0
    line_rate: float = 0.0
    line_seconds: float = 0.0
    line_duration_s: float = 0.0  # first emit request to the last answer: > line_seconds when the service lagged
    emit_errors: int = 0
    log_counters: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "spans": self.spans.to_dict() if self.spans else None,
            "logs": {"rate_lines_per_s": self.line_rate, "seconds": self.line_seconds,
                     "duration_s": round(self.line_duration_s, 3), "lines_sent": self.lines_sent,
                     "emit_errors": self.emit_errors, "sinks": [d.to_dict() for d in self.logs],
                     "counters": self.log_counters},
            "notes": self.notes,
        }


def endpoints_from_json(path: Path) -> Endpoints:
    """The :class:`~obsconf.stack.endpoints.Endpoints` saved from `obsconf stack up` (all backends' URLs)."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Endpoints(**doc)
    except FileNotFoundError:
        raise UsageError(f"--endpoints-json {path}: no such file; save the JSON that `obsconf stack up` prints") \
            from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise UsageError(f"--endpoints-json {path}: not the Endpoints JSON of `obsconf stack up` ({exc}); "
                         "delivery needs every key, jaeger_query_url and logs_query_url included") from None


def _s(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def render_markdown(section: Mapping[str, Any]) -> list[str]:
    """The ``## Delivery under load`` part of ``overhead.md`` (lines), from the JSON section."""
    cfg = section.get("config", {})
    out = ["## Delivery under load", "",
           f"One instrumented `{cfg.get('profile', PROFILE)}` reference service, sinks on the real stack; "
           f"delays run from sending the request to the first poll that saw the item (poll every "
           f"{cfg.get('poll_every_s', POLL_EVERY_S):g} s: upper bounds), late = after {cfg.get('late_after_s', '?')} s. "
           "Reported, not gated: `obsconf gate` decides on CPU overhead only.", ""]
    sp = section.get("spans")
    if sp:
        out += [
            f"Spans: `GET {cfg.get('span_path', SPAN_PATH)}` at {sp['rate_rps']:g} req/s for {sp['seconds']:g} s "
            f"(last answer after {sp.get('duration_s', 0):.1f} s), {sp['expected_spans_per_trace']} span(s) per trace "
            "expected (a slow calibration run's traces).", "",
            "| requests sent | answered | traces received | traces lost | incomplete | spans expected | "
            "spans received | not exported (BSP drop) | export failed | late | delay p50 s | p95 s | max s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {sp['requests_sent']} | {sp['requests_answered']} | {sp['traces_received']} | {sp['traces_lost']} | "
            f"{sp['traces_incomplete']} | {sp['spans_expected']} | {sp['spans_received']} | "
            f"{'-' if sp.get('spans_not_exported') is None else sp['spans_not_exported']} | "
            f"{'-' if sp.get('spans_export_failed') is None else sp['spans_export_failed']} | {sp['late']} | "
            f"{_s(sp['delay']['p50_s'])} | {_s(sp['delay']['p95_s'])} | {_s(sp['delay']['max_s'])} |", ""]
    logs = section.get("logs") or {}
    if logs.get("sinks"):
        out += [
            f"Log lines: `POST /logs/emit` at {logs['rate_lines_per_s']:g} lines/s for {logs['seconds']:g} s "
            f"(last answer after {logs.get('duration_s', 0):.1f} s; {logs['lines_sent']} lines, "
            f"{logs['emit_errors']} failed requests).", "",
            "| sink | sent | received | lost | duplicated | out of order | late | delay p50 s | p95 s | max s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for d in logs["sinks"]:
            out.append(f"| {d['sink']} | {d['sent']} | {d['received']} | {d['lost']} | {d['duplicated']} | "
                       f"{d['out_of_order']} | {d['late']} | {_s(d['delay']['p50_s'])} | "
                       f"{_s(d['delay']['p95_s'])} | {_s(d['delay']['max_s'])} |")
        out.append("")
    counters = {**(sp or {}).get("counters", {}), **logs.get("counters", {})}
    if counters:
        out += ["Service's own counters (increase during each phase): " +
                ", ".join(f"`{k}` {v:g}" for k, v in counters.items() if v), ""]
    out += [f"- {n}" for n in section.get("notes", [])]
    return [*out, ""] if section.get("notes") else out


# ---------------------------------------------------------------------------------------------------------
# Network side
# ---------------------------------------------------------------------------------------------------------


@dataclass
class _Sent:
    sent_ns: dict[str, int] = field(default_factory=dict)  # trace id -> wall clock when sent
    requests: int = 0
    errors: int = 0
    duration_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)


async def _fire(port: int, path: str, rate: float, seconds: float, connections: int) -> _Sent:
    """Open loop: ``GET path`` due every 1/rate s over keep-alive connections; keeps each X-Trace-Id."""
    raw = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUser-Agent: obsconf-delivery\r\n\r\n".encode()
    out = _Sent()
    queue: asyncio.Queue[bool | None] = asyncio.Queue()

    def fail(text: str) -> None:
        out.errors += 1
        if len(out.error_samples) < 3:
            out.error_samples.append(text)

    async def worker() -> None:
        reader = writer = None
        while await queue.get() is not None:
            sent = time.time_ns()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(LOOPBACK, port)
                assert reader is not None
                writer.write(raw)
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
                if "content-length" not in headers:
                    raise ValueError("answer without Content-Length")
                await reader.readexactly(int(headers["content-length"]))
                status = int(head[0][9:12])
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if writer is not None:
                    writer.close()
                reader = writer = None
                fail(f"{type(exc).__name__}: {exc}")
                continue
            trace_id = headers.get("x-trace-id", "")
            if 200 <= status < 400 and len(trace_id) == 32:
                out.sent_ns[trace_id] = sent
            else:
                fail(f"HTTP {status} (X-Trace-Id {trace_id!r})")
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    interval, start = 1.0 / rate, time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        queue.put_nowait(True)
        out.requests += 1
    for _ in tasks:
        queue.put_nowait(None)
    _done, pending = await asyncio.wait(tasks, timeout=10.0)
    for task in pending:
        task.cancel()
        fail("a connection still waited for an answer 10 s after the end")
    out.duration_s = time.perf_counter() - start
    return out


class _Poller(threading.Thread):
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


def _settle(poll: Callable[[], int], complete: Callable[[], bool], timeout: float) -> None:
    """Poll until ``complete()``, or nothing new for :data:`SETTLE_S`, or ``timeout``."""
    deadline = time.monotonic() + timeout
    changed = time.monotonic()
    while not complete() and time.monotonic() < deadline and time.monotonic() - changed < SETTLE_S:
        if poll():
            changed = time.monotonic()
        time.sleep(POLL_EVERY_S)


class _Traces:
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


class _Lines:
    """The log store's and PocketBase's view of this run's numbered lines, in each sink's order."""

    def __init__(self, endpoints: Endpoints, run: str, daemon_id: str, per_request: int, start_ns: int) -> None:
        from obsconf.readers.logs import LogReader
        from obsconf.readers.pocketbase import PocketBaseClient

        e = endpoints
        self.run, self.daemon_id, self.per_request, self.start_ns = run, daemon_id, per_request, start_ns
        self.logs = LogReader(e.logs_query_url, e.logs_dialect, timeout=20.0) if e.logs_query_url else None
        self.pb = (PocketBaseClient(e.pocketbase_url, e.pocketbase_admin_email, e.pocketbase_admin_password,
                                    timeout=20.0) if e.pocketbase_url else None)
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


def _scrape_counters(base: str) -> dict[str, float]:
    from obsconf.readers.metrics_text import scrape

    _, families = scrape(f"{base}/metrics")
    return telemetry_counters(families)


def _emit(base: str, run: str, per_request: int, seconds: float) -> tuple[dict[int, int], int]:
    """``POST /logs/emit`` every :data:`EMIT_EVERY_S`; (request index -> wall clock sent, failed requests)."""
    session = requests.Session()
    sent: dict[int, int] = {}
    failed = 0
    start = time.monotonic()
    for i in range(max(1, round(seconds / EMIT_EVERY_S))):
        time.sleep(max(0.0, start + i * EMIT_EVERY_S - time.monotonic()))
        sent[i] = time.time_ns()
        try:
            resp = session.post(f"{base}/logs/emit", params={"n": per_request, "level": "INFO", "tag": f"{run}-{i}"},
                                timeout=10)
            ok = resp.status_code == 200
        except requests.RequestException:
            ok = False
        if not ok:
            failed += 1
            del sent[i]  # its lines were (maybe) never emitted: do not count them as lost
    return sent, failed


def _start_service(endpoints: Endpoints, log_dir: Path, module: str, daemon_id: str,
                   extra_env: Mapping[str, str]) -> tuple[Any, str]:
    from obsconf.overhead.service import VariantSpec, variant_argv, variant_env
    from obsconf.ports import free_port
    from obsconf.stack.process import ManagedProcess
    from obsconf.stack.readiness import http_ok
    from obsconf.target.reference import reference_env

    spec = VariantSpec("D", "instrumented, sinks on the stack (delivery)", instrumentation=True)
    port = free_port()
    sinks = {k: v for k, v in reference_env(endpoints, None, base={}).items() if k.startswith("OBSCONF_")}
    env = variant_env(spec, {**os.environ, **SERVICE_ENV, "SYNCD_DAEMON_ID": daemon_id,
                             "SYNCD_SESSION_ID": str(uuid.uuid4()), **extra_env}, sinks)
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(f"delivery service ({PROFILE}, {module})", variant_argv(spec, PROFILE, port, module),
                          log_path=log_dir / "delivery-service.log", probe=http_ok(f"http://{LOOPBACK}:{port}/api/ok"),
                          ready_timeout=30.0, env=env, missing_hint=f"is `{module}` importable by {sys.executable}?")
    proc.start()
    return proc, f"http://{LOOPBACK}:{port}"


def _calibrate(base: str, jaeger_url: str, timeout: float = 15.0) -> int:
    """Spans per trace of ``GET /api/ok`` when nothing is under load: the largest count of a few slow requests."""
    from obsconf.readers.jaeger import JaegerReader

    reader = JaegerReader(jaeger_url)
    ids = []
    for _ in range(CALIBRATION_REQUESTS):
        ids.append(requests.get(f"{base}{SPAN_PATH}", timeout=5).headers.get("X-Trace-Id", ""))
        time.sleep(0.05)
    counts = {t: len(reader.wait_for_trace(t, timeout=timeout)) for t in ids if t}
    time.sleep(1.0)  # spans of one trace may come in more than one export batch
    counts = {t: max(n, len(reader.trace(t))) for t, n in counts.items()}
    if not counts or max(counts.values()) == 0:
        raise ObsconfError(f"no trace of {CALIBRATION_REQUESTS} calibration requests to {base}{SPAN_PATH} reached "
                           f"Jaeger at {jaeger_url} within {timeout:g} s; check OBSCONF_OTLP_HTTP_URL and the service "
                           "log (delivery-service.log)")
    return max(counts.values())


def _span_phase(base: str, jaeger_url: str, rate: float, seconds: float, connections: int, late_after_s: float,
                settle_timeout: float, notes: list[str]) -> SpanDelivery:
    expected = _calibrate(base, jaeger_url)
    before = _scrape_counters(base)
    traces = _Traces(jaeger_url, time.time())
    traces.limit = int(rate * seconds * 1.5) + 100
    poller = _Poller(traces.poll)
    poller.start()
    try:
        sent = asyncio.run(_fire(int(base.rsplit(":", 1)[1]), SPAN_PATH, rate, seconds, connections))
    finally:
        poller.stop()

    def complete() -> bool:
        return all(traces.counts.get(t, 0) >= expected for t in sent.sent_ns)

    _settle(traces.poll, complete, settle_timeout)
    counters = counter_increase(before, _scrape_counters(base))
    if sent.error_samples:
        notes.append(f"span phase: {sent.errors} failed requests, e.g. {sent.error_samples[0]}")
    if poller.failures:
        notes.append(f"{len(poller.failures)} Jaeger poll(s) failed during the run, e.g. {poller.failures[0]}")
    return account_traces(
        rate_rps=rate, seconds=seconds, duration_s=sent.duration_s, requests_sent=sent.requests,
        request_errors=sent.errors, sent_ns=sent.sent_ns, span_counts=traces.counts, first_seen_ns=traces.first_seen,
        expected_spans=expected, late_after_s=late_after_s,
        counters={k: v for k, v in counters.items() if "spans_exported" in k})


def _log_phase(base: str, endpoints: Endpoints, result: DeliveryResult, daemon_id: str, per_request: int,
               late_after_s: float, settle_timeout: float) -> None:
    run = f"d{uuid.uuid4().hex[:10]}"
    before = _scrape_counters(base)
    lines = _Lines(endpoints, run, daemon_id, per_request, time.time_ns())
    if not lines.sinks:
        result.notes.append("no log store and no PocketBase in the endpoints: log delivery not measured")
        return
    poller = _Poller(lines.poll)
    poller.start()
    began = time.monotonic()
    try:
        sent_at, result.emit_errors = _emit(base, run, per_request, result.line_seconds)
    finally:
        result.line_duration_s = time.monotonic() - began
        poller.stop()
    seqs = [i * per_request + s for i in sorted(sent_at) for s in range(per_request)]
    emitted = {i * per_request + s: ns for i, ns in sent_at.items() for s in range(per_request)}
    result.lines_sent = len(seqs)
    wanted = set(seqs)

    def complete() -> bool:
        return all(wanted <= set(v) for v in lines.arrived.values())

    _settle(lines.poll, complete, settle_timeout)
    result.log_counters = {k: v for k, v in counter_increase(before, _scrape_counters(base)).items()
                           if "spans_exported" not in k}
    result.logs = [account_lines(s, seqs, lines.arrived[s], emitted_ns=emitted, first_seen_ns=lines.first_seen[s],
                                 late_after_s=late_after_s) for s in lines.sinks]
    if poller.failures:
        result.notes.append(f"{len(poller.failures)} store poll(s) failed during the run, e.g. {poller.failures[0]}")


def run_delivery(endpoints: Endpoints, *, span_rate: float = DEFAULT_SPAN_RATE, line_rate: float = DEFAULT_LINE_RATE,
                 seconds: float = DEFAULT_SECONDS, late_after_s: float = DEFAULT_LATE_AFTER_S, log_dir: Path,
                 module: str = "obsconf.reference", connections: int = 8, settle_timeout: float = 20.0,
                 env: Mapping[str, str] | None = None, progress: Callable[[str], None] = print) -> DeliveryResult:
    """Measure delivery of spans at ``span_rate`` req/s and of log lines at ``line_rate`` lines/s, each for
    ``seconds``, against the backends of ``endpoints``.
    A rate of 0 skips that phase; ``env`` adds service variables (stated in the result's config)."""
    if span_rate < 0 or line_rate < 0 or seconds <= 0 or late_after_s <= 0 or not span_rate + line_rate:
        raise UsageError(f"delivery: span rate {span_rate:g} and line rate {line_rate:g} must be >= 0 (0 skips, not "
                         f"both), seconds {seconds:g} and late-after {late_after_s:g} must be > 0")
    if span_rate and not (endpoints.jaeger_query_url and endpoints.otlp_http_url):
        raise UsageError("delivery of spans needs Jaeger (jaeger_query_url and otlp_http_url in the endpoints); "
                         "or pass a span rate of 0")
    per_request = max(1, round(line_rate * EMIT_EVERY_S))
    daemon_id = str(uuid.uuid4())
    service_env = {**SERVICE_ENV, **(env or {})}
    result = DeliveryResult(config={
        "profile": PROFILE, "module": module, "span_path": SPAN_PATH, "connections": connections,
        "emit_every_s": EMIT_EVERY_S, "lines_per_request": per_request if line_rate else 0,
        "poll_every_s": POLL_EVERY_S, "late_after_s": late_after_s, "settle_s": SETTLE_S, "service_env": service_env,
    }, line_rate=per_request / EMIT_EVERY_S if line_rate else 0.0, line_seconds=seconds)
    proc, base = _start_service(endpoints, log_dir, module, daemon_id, env or {})
    try:
        if span_rate:
            progress(f"delivery: spans, GET {SPAN_PATH} at {span_rate:g} req/s for {seconds:g} s ...")
            result.spans = sp = _span_phase(base, endpoints.jaeger_query_url, span_rate, seconds, connections,
                                            late_after_s, settle_timeout, result.notes)
            progress(f"delivery: {sp.traces_received}/{sp.requests_answered} traces, {sp.spans_received}/"
                     f"{sp.spans_expected} spans, delay p95 {_s(sp.delay.p95_s)} s")
        if line_rate:
            progress(f"delivery: log lines at {result.line_rate:g}/s for {seconds:g} s ...")
            _log_phase(base, endpoints, result, daemon_id, per_request, late_after_s, settle_timeout)
            progress("delivery: " + ", ".join(f"{d.counts.sink} {d.counts.received}/{d.counts.sent} lines, "
                                              f"delay p95 {_s(d.delay.p95_s)} s" for d in result.logs))
    finally:
        proc.stop()
    result.notes.append("delays are upper bounds: from sending the request to the first poll that saw the item")
    return result
