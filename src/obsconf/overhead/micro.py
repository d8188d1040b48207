"""Micro-benchmarks: the CPU cost of single telemetry operations, against the seeds' budgets.

Each operation runs in many *samples*, each a batch of calls; a sample's per-call cost is its process CPU
time divided by the batch size (process CPU, so the span exporter's background thread is paid for too).
Results are medians with their spread (IQR and p5/p95), never a single number.

Budgets come from the seeds (002: log < 1 ms, span < 0.1 ms, metric update < 0.05 ms; 003: 1-3 ms per
request) and from obsconf's own goal (at most 100 us of extra CPU per request).

Run alone: ``python -m obsconf.overhead.micro [--profile P]`` (prints a table); ``obsconf overhead``
includes them in its report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson

from obsconf.errors import ObsconfError
from obsconf.overhead.schema import GOAL_MAX_OVERHEAD_US, MicroResult
from obsconf.overhead.stats import spread

BUDGET_LOG_US = 1000.0
BUDGET_SPAN_US = 100.0
BUDGET_METRIC_US = 50.0
SEED_BUDGET_LOG = "seed 002: log < 1 ms"
SEED_BUDGET_SPAN = "seed 002: span < 0.1 ms"
SEED_BUDGET_METRIC = "seed 002: metric < 0.05 ms"
GOAL_SOURCE = "obsconf goal: <= 100 us per request (seed 003 allows 1-3 ms)"


class Budget(NamedTuple):
    """A per-call budget in microseconds, and where it comes from (a seed line or a goal)."""

    us: float
    source: str = ""


def measure(
    name: str,
    description: str,
    op: Callable[[], object],
    *,
    ops_per_sample: int,
    samples: int = 30,
    warmup: int = 2,
    budget: Budget | None = None,
    clock: Callable[[], int] = time.process_time_ns,
) -> MicroResult:
    """Time ``op`` in ``samples`` batches of ``ops_per_sample`` calls; per-call microseconds with spread."""
    for _ in range(warmup * ops_per_sample):
        op()
    per_call: list[float] = []
    for _ in range(samples):
        start = clock()
        for _ in range(ops_per_sample):
            op()
        per_call.append((clock() - start) / 1000.0 / ops_per_sample)
    s = spread(per_call)
    return MicroResult(name=name, description=description, median_us=s.median, q1_us=s.q1, q3_us=s.q3,
                       p5_us=s.p5, p95_us=s.p95, samples=s.n, ops_per_sample=ops_per_sample,
                       budget_us=budget.us if budget else None, budget_source=budget.source if budget else "")


def bench_metrics(samples: int) -> list[MicroResult]:
    """prometheus_client counter and histogram updates on a fresh registry."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    counter = Counter("bench_requests_total", "requests", ["method", "route", "status"], registry=registry)
    hist = Histogram("bench_request_duration_seconds", "duration", ["method", "route"], registry=registry)
    bound = counter.labels("GET", "/api/ok", "200")
    return [
        measure("counter.labels().inc()", "prometheus_client counter, labels looked up per call",
                lambda: counter.labels("GET", "/api/ok", "200").inc(), ops_per_sample=2000, samples=samples,
                budget=Budget(BUDGET_METRIC_US, SEED_BUDGET_METRIC)),
        measure("counter.inc() (bound child)", "prometheus_client counter, child bound once", bound.inc,
                ops_per_sample=5000, samples=samples, budget=Budget(BUDGET_METRIC_US, SEED_BUDGET_METRIC)),
        measure("histogram.labels().observe()", "prometheus_client histogram, default buckets",
                lambda: hist.labels("GET", "/api/ok").observe(0.0042), ops_per_sample=2000, samples=samples,
                budget=Budget(BUDGET_METRIC_US, SEED_BUDGET_METRIC)),
    ]


def bench_span(samples: int) -> MicroResult:
    """An OTel SDK span started and ended, batched by a BatchSpanProcessor into an exporter that drops."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        """Costs nothing to send, so the number is the SDK's own cost."""

        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": "obsconf-micro"}))
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    tracer = provider.get_tracer("obsconf.micro")

    def op() -> None:
        with tracer.start_as_current_span("GET /api/ok", attributes={"http.request.method": "GET",
                                                                     "http.route": "/api/ok"}):
            pass

    try:
        return measure("span start+end", "OTel SDK span with 2 attributes, BatchSpanProcessor, dropping exporter",
                       op, ops_per_sample=500, samples=samples, budget=Budget(BUDGET_SPAN_US, SEED_BUDGET_SPAN))
    finally:
        provider.shutdown()


class _NullSink:
    def emit(self, line: bytes, record: Mapping[str, Any], event: Any) -> None:
        del line, record, event


def bench_log(samples: int) -> MicroResult:
    """One JSON log line: the reference service's logger when present, else stdlib logging + orjson."""
    try:
        from obsconf.reference.logs import Logger
    except ImportError:
        Logger = None  # noqa: N806 - the class, when the reference service is installed
    if Logger is not None:
        core = Logger(lambda ev: {"timestamp": ev.time_ns, "level": ev.level, "target": ev.target,
                                  "fields": {"message": ev.message, **ev.fields}}, level="INFO")
        core.add_sink(_NullSink())
        log = core.bind("obsconf_micro")
        return measure("log line (reference logger)", "obsconf.reference.logs.Logger: format, redact, orjson, "
                       "null sink", lambda: log.info("snapshot saved", key="k-1", bytes=1234, elapsed_ms=3.2),
                       ops_per_sample=1000, samples=samples, budget=Budget(BUDGET_LOG_US, SEED_BUDGET_LOG))
    return bench_stdlib_log(samples)


def bench_stdlib_log(samples: int) -> MicroResult:
    """One JSON log line through stdlib ``logging`` with an orjson formatter, written to /dev/null."""

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return orjson.dumps({"ts": record.created, "level": record.levelname, "msg": record.getMessage(),
                                 **getattr(record, "fields", {})}).decode()

    logger = logging.getLogger(f"obsconf.micro.{id(object())}")  # a fresh logger: no global handlers touched
    logger.propagate = False
    logger.setLevel(logging.INFO)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        handler = logging.StreamHandler(devnull)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        try:
            return measure("log line (stdlib + orjson)", "stdlib logging, orjson formatter, /dev/null",
                           lambda: logger.info("snapshot saved", extra={"fields": {"key": "k-1", "bytes": 1234}}),
                           ops_per_sample=1000, samples=samples, budget=Budget(BUDGET_LOG_US, SEED_BUDGET_LOG))
        finally:
            logger.removeHandler(handler)


# --- the whole middleware, via direct ASGI calls -------------------------------------------------------

ASGIApp = Callable[..., Any]


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"obsconf-micro")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }


class _Lifespan:
    """Drive an app's ASGI lifespan (startup, later shutdown) so it starts and flushes its telemetry."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.done: dict[str, asyncio.Event] = {"startup": asyncio.Event(), "shutdown": asyncio.Event()}
        self.task: asyncio.Future[Any] | None = None

    async def _receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def _send(self, message: dict[str, Any]) -> None:
        phase = message["type"].split(".")[1]  # lifespan.startup.complete -> startup
        if phase in self.done:
            self.done[phase].set()

    async def _phase(self, phase: str, timeout: float) -> None:
        await self.inbox.put({"type": f"lifespan.{phase}"})
        assert self.task is not None
        waiter = asyncio.ensure_future(self.done[phase].wait())
        await asyncio.wait({self.task, waiter}, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
        waiter.cancel()

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self.task = asyncio.ensure_future(self.app(scope, self._receive, self._send))
        await self._phase("startup", 10.0)

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self._phase("shutdown", 10.0)
        if not self.task.done():
            self.task.cancel()


async def _batch(app: ASGIApp, path: str, n: int, state: dict[str, Any]) -> None:
    body = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def send(message: dict[str, Any]) -> None:
        del message

    for _ in range(n):
        scope = _scope(path)
        scope["state"] = dict(state)
        await app(scope, receive, send)


def _result(name: str, description: str, per_request_us: list[float], n: int, budget_us: float | None = None,
            budget_source: str = "") -> MicroResult:
    sp = spread(per_request_us)
    return MicroResult(name=name, description=description, median_us=sp.median, q1_us=sp.q1, q3_us=sp.q3,
                       p5_us=sp.p5, p95_us=sp.p95, samples=sp.n, ops_per_sample=n, budget_us=budget_us,
                       budget_source=budget_source)


def bench_app_pair(on_app: ASGIApp, off_app: ASGIApp, label: str, path: str, samples: int,
                   ops_per_sample: int = 200) -> list[MicroResult]:
    """Per-request CPU of two apps called directly (no sockets, no HTTP parsing) on ``GET path``, in
    alternating batches; the third result is the per-sample difference (on - off) with its own spread."""
    loop = asyncio.new_event_loop()
    clock = time.process_time_ns
    try:
        spans = {"on": _Lifespan(on_app), "off": _Lifespan(off_app)}
        apps = {"on": on_app, "off": off_app}
        for lifespan in spans.values():
            loop.run_until_complete(lifespan.startup())
        per: dict[str, list[float]] = {"on": [], "off": []}
        try:
            for i in range(samples + 2):  # the first two samples warm up
                for key in ("on", "off") if i % 2 == 0 else ("off", "on"):
                    start = clock()
                    loop.run_until_complete(_batch(apps[key], path, ops_per_sample, spans[key].state))
                    if i >= 2:
                        per[key].append((clock() - start) / 1000.0 / ops_per_sample)
        finally:
            for lifespan in spans.values():
                loop.run_until_complete(lifespan.shutdown())
    finally:
        loop.close()
    diffs = [a - b for a, b in zip(per["on"], per["off"], strict=True)]
    desc = f"direct ASGI call of GET {path}"
    return [
        _result(f"request {label} (instrumented)", desc, per["on"], ops_per_sample),
        _result(f"request {label} (instrumentation off)", desc, per["off"], ops_per_sample),
        _result(f"middleware {label} (on - off)", "whole per-request instrumentation: span, RED metrics, log line, "
                "context; sinks off; paired batches", diffs, ops_per_sample, GOAL_MAX_OVERHEAD_US, GOAL_SOURCE),
    ]


def reference_factory() -> Callable[[str, Mapping[str, str]], ASGIApp] | None:
    """``(profile, env) -> ASGI app`` of the reference service, or None when it is not installed."""
    try:
        from obsconf.reference.app import create_app
        from obsconf.reference.config import ReferenceConfig
    except ModuleNotFoundError:
        return None

    def factory(profile: str, env: Mapping[str, str]) -> ASGIApp:
        return create_app(profile, ReferenceConfig.from_env(profile, env))

    return factory


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null: the service's stdout log sink must not flood the terminal
    (the write still happens, so its cost is still measured)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def bench_middleware(profile: str, samples: int, factory: Callable[..., ASGIApp], path: str = "/api/ok"
                     ) -> list[MicroResult]:
    """Whole per-request instrumentation of ``profile``: the instrumented app against the same app with it off
    (every sink off: no backend URL is passed)."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCONF_")}
    on = factory(profile, {**base_env, "OBSCONF_INSTRUMENTATION": "on"})
    off = factory(profile, {**base_env, "OBSCONF_INSTRUMENTATION": "off"})
    return bench_app_pair(on, off, profile, path, samples)


def run_micro(profile: str | None = None, samples: int = 30) -> tuple[list[MicroResult], list[str]]:
    """All micro-benchmarks; the middleware ones only when ``profile`` is given and its factory exists."""
    notes: list[str] = []
    results = [bench_log(samples), bench_span(samples), *bench_metrics(samples)]
    if profile:
        factory = reference_factory()
        if factory is None:
            notes.append("middleware micro-benchmark skipped: obsconf.reference.app is not installed")
        else:
            try:
                with stdout_to_devnull():
                    results += bench_middleware(profile, samples, factory)
            except (ModuleNotFoundError, ObsconfError) as exc:  # profile not built yet, or refused config
                notes.append(f"middleware micro-benchmark of {profile} skipped: {type(exc).__name__}: {exc}")
    return results, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsconf.overhead.micro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=None, help="also time the reference service's whole middleware")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args(argv)
    results, notes = run_micro(args.profile, args.samples)
    print(f"{'operation':44} {'median us':>10} {'IQR us':>17} {'p5-p95 us':>17} {'budget us':>10}")
    for r in results:
        budget = "-" if r.budget_us is None else f"{r.budget_us:g}"
        print(f"{r.name:44} {r.median_us:10.2f} {r.q1_us:8.2f}-{r.q3_us:<8.2f} {r.p5_us:8.2f}-{r.p95_us:<8.2f} "
              f"{budget:>10}")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
