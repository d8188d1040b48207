"""Delivery under load: at a stated rate, how much telemetry arrives, and how late.

Black-box, from outside the service: one instrumented syncd reference service is wired to a real stack.

* **Spans.** ``GET /api/ok`` at a fixed arrival rate; every answer's ``X-Trace-Id`` is kept. Jaeger is
  polled while the load runs and until arrivals settle; each trace counts as received when it shows up,
  complete when it has as many spans as the traces of a slow calibration run had. Spans the batch span
  processor dropped (its queue full) never reach the exporter, so they show as requests answered minus
  spans the service counted as exported (``obsconf_telemetry_spans_exported_total``, success + failure).
* **Log lines.** ``POST /logs/emit?n=N&tag=<run>-<i>`` every 0.1 s for the stated lines/s; each line is
  numbered ``i * N + fields.seq``. The log store (Loki protocol) and PocketBase ``daemon_logs`` are polled;
  :func:`obsconf.faults.accounting.account` counts sent, received, lost, duplicated and out of order per sink.

Delays are from the moment the request was *sent* to the first poll that saw the item, so they are upper
bounds, with the poll interval as resolution. An item counts as *late* when it arrived after
``late_after_s``. This module runs the phases (:func:`run_delivery`); the accounting and the result are pure
(:mod:`~obsconf.overhead.delivery_result`), the load is :mod:`~obsconf.overhead.delivery_senders`, the
background polls :mod:`~obsconf.overhead.delivery_readers`, the report section
:mod:`~obsconf.overhead.delivery_report`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import ObsconfError, UsageError
from obsconf.overhead.delivery_readers import LineView, Poller, TraceView, scrape_counters
from obsconf.overhead.delivery_report import fmt_s
from obsconf.overhead.delivery_result import (
    CALIBRATION_REQUESTS,
    EMIT_EVERY_S,
    POLL_EVERY_S,
    PROFILE,
    SERVICE_ENV,
    SETTLE_S,
    SPAN_PATH,
    DeliveryPlan,
    DeliveryResult,
    SpanDelivery,
    SpanLoad,
    account_lines,
    account_traces,
    counter_increase,
)
from obsconf.overhead.delivery_senders import emit, fire
from obsconf.ports import LOOPBACK
from obsconf.stack.endpoints import Endpoints
from obsconf.waiting import poll


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


def _settle(poll_new: Callable[[], int], complete: Callable[[], bool], timeout: float) -> None:
    """Poll until ``complete()``, or nothing new for :data:`SETTLE_S`, or ``timeout``."""
    news = [1]  # polls that brought something new, plus one: a run where nothing arrives settles too

    def step() -> bool:
        if complete():
            return True
        news[0] += 1 if poll_new() else 0
        return False

    poll(step, bool, timeout=timeout, interval=POLL_EVERY_S, progress=lambda _: news[0], quiet=SETTLE_S)


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


def _span_phase(base: str, jaeger_url: str, plan: DeliveryPlan, notes: list[str]) -> SpanDelivery:
    rate, seconds = plan.span_rate, plan.seconds
    expected = _calibrate(base, jaeger_url)
    before = scrape_counters(base)
    traces = TraceView(jaeger_url, time.time())
    traces.limit = int(rate * seconds * 1.5) + 100
    poller = Poller(traces.poll)
    poller.start()
    try:
        sent = asyncio.run(fire(int(base.rsplit(":", 1)[1]), SPAN_PATH, rate, seconds, plan.connections))
    finally:
        poller.stop()

    def complete() -> bool:
        return all(traces.counts.get(t, 0) >= expected for t in sent.sent_ns)

    _settle(traces.poll, complete, plan.settle_timeout)
    counters = counter_increase(before, scrape_counters(base))
    if sent.error_samples:
        notes.append(f"span phase: {sent.errors} failed requests, e.g. {sent.error_samples[0]}")
    if poller.failures:
        notes.append(f"{len(poller.failures)} Jaeger poll(s) failed during the run, e.g. {poller.failures[0]}")
    return account_traces(
        SpanLoad(rate_rps=rate, seconds=seconds, duration_s=sent.duration_s, requests_sent=sent.requests,
                 request_errors=sent.errors),
        sent_ns=sent.sent_ns, span_counts=traces.counts, first_seen_ns=traces.first_seen, expected_spans=expected,
        late_after_s=plan.late_after_s, counters={k: v for k, v in counters.items() if "spans_exported" in k})


def _log_phase(base: str, endpoints: Endpoints, result: DeliveryResult, daemon_id: str, per_request: int,
               plan: DeliveryPlan) -> None:
    run = f"d{uuid.uuid4().hex[:10]}"
    before = scrape_counters(base)
    lines = LineView(endpoints, run, daemon_id, per_request, time.time_ns())
    if not lines.sinks:
        result.notes.append("no log store and no PocketBase in the endpoints: log delivery not measured")
        return
    poller = Poller(lines.poll)
    poller.start()
    began = time.monotonic()
    try:
        sent_at, result.emit_errors = emit(base, run, per_request, result.line_seconds)
    finally:
        result.line_duration_s = time.monotonic() - began
        poller.stop()
    seqs = [i * per_request + s for i in sorted(sent_at) for s in range(per_request)]
    emitted = {i * per_request + s: ns for i, ns in sent_at.items() for s in range(per_request)}
    result.lines_sent = len(seqs)
    wanted = set(seqs)

    def complete() -> bool:
        return all(wanted <= set(v) for v in lines.arrived.values())

    _settle(lines.poll, complete, plan.settle_timeout)
    result.log_counters = {k: v for k, v in counter_increase(before, scrape_counters(base)).items()
                           if "spans_exported" not in k}
    result.logs = [account_lines(s, seqs, lines.arrived[s], emitted_ns=emitted, first_seen_ns=lines.first_seen[s],
                                 late_after_s=plan.late_after_s) for s in lines.sinks]
    if poller.failures:
        result.notes.append(f"{len(poller.failures)} store poll(s) failed during the run, e.g. {poller.failures[0]}")


def _check_plan(endpoints: Endpoints, plan: DeliveryPlan) -> None:
    span_rate, line_rate, seconds, late_after_s = plan.span_rate, plan.line_rate, plan.seconds, plan.late_after_s
    if span_rate < 0 or line_rate < 0 or seconds <= 0 or late_after_s <= 0 or not span_rate + line_rate:
        raise UsageError(f"delivery: span rate {span_rate:g} and line rate {line_rate:g} must be >= 0 (0 skips, not "
                         f"both), seconds {seconds:g} and late-after {late_after_s:g} must be > 0")
    if span_rate and not (endpoints.jaeger_query_url and endpoints.otlp_http_url):
        raise UsageError("delivery of spans needs Jaeger (jaeger_query_url and otlp_http_url in the endpoints); "
                         "or pass a span rate of 0")


def run_delivery(endpoints: Endpoints, plan: DeliveryPlan | None = None, *, log_dir: Path,
                 progress: Callable[[str], None] = print) -> DeliveryResult:
    """Measure delivery of spans at ``plan.span_rate`` req/s and of log lines at ``plan.line_rate`` lines/s,
    each for ``plan.seconds``, against the backends of ``endpoints`` (default :class:`DeliveryPlan`).
    A rate of 0 skips that phase; ``plan.env`` adds service variables (stated in the result's config)."""
    plan = plan or DeliveryPlan()
    _check_plan(endpoints, plan)
    seconds = plan.seconds
    per_request = max(1, round(plan.line_rate * EMIT_EVERY_S))
    daemon_id = str(uuid.uuid4())
    service_env = {**SERVICE_ENV, **plan.env}
    result = DeliveryResult(config={
        "profile": PROFILE, "module": plan.module, "span_path": SPAN_PATH, "connections": plan.connections,
        "emit_every_s": EMIT_EVERY_S, "lines_per_request": per_request if plan.line_rate else 0,
        "poll_every_s": POLL_EVERY_S, "late_after_s": plan.late_after_s, "settle_s": SETTLE_S,
        "service_env": service_env,
    }, line_rate=per_request / EMIT_EVERY_S if plan.line_rate else 0.0, line_seconds=seconds)
    proc, base = _start_service(endpoints, log_dir, plan.module, daemon_id, plan.env)
    try:
        if plan.span_rate:
            progress(f"delivery: spans, GET {SPAN_PATH} at {plan.span_rate:g} req/s for {seconds:g} s ...")
            result.spans = sp = _span_phase(base, endpoints.jaeger_query_url, plan, result.notes)
            progress(f"delivery: {sp.traces_received}/{sp.requests_answered} traces, {sp.spans_received}/"
                     f"{sp.spans_expected} spans, delay p95 {fmt_s(sp.delay.p95_s)} s")
        if plan.line_rate:
            progress(f"delivery: log lines at {result.line_rate:g}/s for {seconds:g} s ...")
            _log_phase(base, endpoints, result, daemon_id, per_request, plan)
            progress("delivery: " + ", ".join(f"{d.counts.sink} {d.counts.received}/{d.counts.sent} lines, "
                                              f"delay p95 {fmt_s(d.delay.p95_s)} s" for d in result.logs))
    finally:
        proc.stop()
    result.notes.append("delays are upper bounds: from sending the request to the first poll that saw the item")
    return result
