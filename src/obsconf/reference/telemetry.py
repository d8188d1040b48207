"""Per-instance telemetry: a CollectorRegistry, a TracerProvider, the JSON logger and the shippers.

Nothing here touches process-wide defaults (no ``trace.set_tracer_provider``, no default registry), so
several service instances can live in one process (tests). :meth:`Telemetry.shutdown` flushes every sink
in parallel within one deadline and never hangs on a dead backend: the OTLP exporter has ``timeout=2``,
the shippers' final flush is bounded, and each closer runs on a daemon thread that is abandoned at the
deadline.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NoOpTracer, Tracer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from obsconf import __version__
from obsconf.reference.backoff import Backoff
from obsconf.reference.breaker import CircuitBreaker
from obsconf.reference.config import ReferenceConfig
from obsconf.reference.logs import Formatter, Logger, StreamSink
from obsconf.reference.redact import Redactor
from obsconf.reference.sampling import IntelligentSampler, TailKeepProcessor
from obsconf.reference.serverspan import ServerSpanFactory
from obsconf.reference.shipping import BatchShipper, LokiShipper, LokiSink
from obsconf.reference.spancopy import copy_span

#: How long a background thread (span export, log shipping) may keep the GIL while the event loop waits
#: for it. Python's default, 5 ms, let a span batch being encoded stall every request that arrived meanwhile.
GIL_SWITCH_INTERVAL_S = 0.0005


def tune_process() -> None:
    """Process-wide runtime settings for a service process; call once, after the app is built.

    * ``gc.freeze()``: the start-up heap (modules, the app, the SDK) moves to the permanent generation,
      so a full collection no longer walks it. Unfrozen, a full collection took 50-100 ms here, the
      largest stall of the tail.
    * ``sys.setswitchinterval``: a background thread yields the GIL to a waiting event loop within
      :data:`GIL_SWITCH_INTERVAL_S` instead of 5 ms.
    """
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


class NullMetric:
    """Stands in for a metric when metrics are off: every call is a no-op."""

    def labels(self, *args: Any, **kwargs: Any) -> NullMetric:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def observe(self, value: float) -> None:
        pass

    def set_function(self, fn: Callable[[], float]) -> None:
        pass


NULL_METRIC = NullMetric()


@dataclass(frozen=True)
class TelemetrySpec:
    """What a profile asks of its telemetry (built from its seed's env vars)."""

    formatter: Formatter
    log_level: str = "INFO"
    console: bool = True
    console_pretty: bool = False
    tracing: bool = True
    metrics: bool = True
    sample_rate: float = 1.0
    critical_paths: Sequence[str] = ()
    want_caller: bool = False
    redact_keys: Sequence[str] = ()
    loki_labels: Mapping[str, str] = field(default_factory=dict)
    loki_batch_size: int | None = None
    loki_flush_interval: float | None = None
    extra_processors: Sequence[SpanProcessor] = ()
    service_version: str = ""  # the resource's service.version (default: obsconf's version)


class CountingExporter(SpanExporter):
    """Wraps the OTLP exporter: redacts secret attributes, counts results, reports failures, never raises."""

    def __init__(self, inner: SpanExporter, redactor: Redactor, on_error: Callable[[str, Mapping[str, Any]], None]):
        self.inner = inner
        self.redactor = redactor
        self.on_error = on_error
        self.exported = 0
        self.failed = 0
        self.batches_failed = 0
        self._last_report = 0.0
        # the lean OTLP exporter redacts while it encodes (cached per attribute); others get redacted copies
        self._redact_here = not getattr(inner, "redacts_attributes", False)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        clean = [
            copy_span(s, attributes=self.redactor.mapping(s.attributes))
            if s.attributes and self.redactor.needs_work(s.attributes) else s
            for s in spans
        ] if self._redact_here else spans
        try:
            result = self.inner.export(clean)
        except Exception as exc:  # noqa: BLE001 - an exporter bug must not kill the export thread
            result = SpanExportResult.FAILURE
            self._report(f"span export raised {type(exc).__name__}: {exc}", len(spans))
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed += len(spans)
            self.batches_failed += 1
            self._report("span export failed", len(spans))
        return result

    def _report(self, message: str, count: int) -> None:
        now = time.monotonic()
        if now - self._last_report >= 5.0:
            self._last_report = now
            self.on_error(message, {"spans": count, "failed_total": self.failed})

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _SelfCollector(Collector):
    """``obsconf_telemetry_*``: the health of the telemetry pipeline itself, read at scrape time."""

    def __init__(self, tel: Telemetry) -> None:
        self.tel = tel

    def collect(self) -> Iterable[Any]:
        shipped = CounterMetricFamily("obsconf_telemetry_shipped", "Log entries delivered, by sink", labels=["sink"])
        dropped = CounterMetricFamily("obsconf_telemetry_dropped", "Log entries dropped, by sink and reason",
                                      labels=["sink", "reason"])
        errors = CounterMetricFamily("obsconf_telemetry_send_errors", "Failed send attempts, by sink",
                                     labels=["sink"])
        buffered = GaugeMetricFamily("obsconf_telemetry_buffer_size", "Entries waiting to be sent, by sink",
                                     labels=["sink"])
        breaker = GaugeMetricFamily("obsconf_telemetry_breaker_open", "1 while the sink's circuit breaker is open",
                                    labels=["sink"])
        resent = CounterMetricFamily("obsconf_telemetry_duplicates_possible",
                                     "Entries resent after a push that got no answer (each may be stored twice)",
                                     labels=["sink"])
        for sh in self.tel.shippers:
            st = sh.stats()
            shipped.add_metric([st.name], st.shipped)
            dropped.add_metric([st.name, "overflow"], st.dropped_overflow)
            dropped.add_metric([st.name, "rejected"], st.dropped_rejected)
            dropped.add_metric([st.name, "shutdown"], st.dropped_shutdown)
            errors.add_metric([st.name], st.send_errors)
            buffered.add_metric([st.name], st.buffer_size)
            breaker.add_metric([st.name], 1.0 if st.breaker_state == "open" else 0.0)
            resent.add_metric([st.name], st.duplicates_possible)
        spans = CounterMetricFamily("obsconf_telemetry_spans_exported", "Spans handed to the OTLP exporter",
                                    labels=["result"])
        if self.tel.exporter is not None:
            spans.add_metric(["success"], self.tel.exporter.exported)
            spans.add_metric(["failure"], self.tel.exporter.failed)
        lines = CounterMetricFamily("obsconf_telemetry_log_lines", "JSON log lines emitted")
        lines.add_metric([], self.tel.logger.emitted)
        yield from (shipped, dropped, errors, buffered, breaker, resent, spans, lines)


class Telemetry:
    """All telemetry of one service instance. ``enabled`` False = instrumentation off (A/B baseline)."""

    def __init__(self, config: ReferenceConfig, spec: TelemetrySpec) -> None:
        self.config = config
        self.spec = spec
        self.service_name = config.service_name
        self.profile = config.profile
        self.enabled = config.instrumentation
        self.metrics_on = self.enabled and spec.metrics
        self.tracing_on = self.enabled and spec.tracing
        self.registry = CollectorRegistry(auto_describe=True)
        self.redactor = Redactor(spec.redact_keys)
        self.shippers: list[BatchShipper[Any]] = []
        self.closers: list[Callable[[float], None]] = []  # extra sinks to close at shutdown
        self.exporter: CountingExporter | None = None
        self.tail: TailKeepProcessor | None = None
        #: the middleware's cheap server span, when the SDK's would add nothing (see obsconf.reference.serverspan)
        self.server_spans: ServerSpanFactory | None = None
        self.started_at = time.time()

        # logger: off mode keeps no sinks (no log lines, no shipping)
        self.logger = Logger(spec.formatter, level=spec.log_level, redactor=self.redactor,
                             want_caller=spec.want_caller, enabled=self.enabled)
        self.stdout: StreamSink | None = None
        if self.enabled and spec.console and config.console:
            self.stdout = StreamSink(pretty=spec.console_pretty)
            self.logger.add_sink(self.stdout)
        self.diag = self.logger.bind("obsconf::telemetry")
        if self.enabled and config.logs_push_url:
            labels = {"service": self.service_name, "profile": self.profile, **spec.loki_labels}
            loki = LokiShipper(
                config.logs_push_url, labels,
                batch_size=spec.loki_batch_size or config.logs_batch_size,
                flush_interval=spec.loki_flush_interval or config.logs_flush_interval,
                buffer_max=config.logs_buffer_max,
                backoff=Backoff(base=0.2, factor=2.0, max_delay=5.0, max_retries=config.logs_max_retries, jitter=0.5),
                breaker=self.new_breaker(),
                on_error=self._diag_stdout_only,
                read_timeout=config.logs_http_timeout,  # a hung store is waited for, not pushed to twice
            )
            self.add_shipper(loki)
            self.logger.add_sink(LokiSink(loki))
        if self.metrics_on:
            self.registry.register(_SelfCollector(self))

        # tracing
        self.provider: TracerProvider | None = None
        self.tracer: Tracer = NoOpTracer()
        if self.tracing_on:
            sampler = self._sampler()
            self.provider = TracerProvider(resource=Resource.create({
                "service.name": self.service_name,
                "service.version": spec.service_version or __version__,
                "obsconf.profile": self.profile,
            }), sampler=sampler)
            downstream: SpanProcessor | None = None
            if config.otlp_http_url:
                from obsconf.reference.otlpexport import LeanOTLPSpanExporter

                inner = LeanOTLPSpanExporter(endpoint=config.otlp_http_url + "/v1/traces", timeout=2,
                                             redactor=self.redactor)
                self.exporter = CountingExporter(inner, self.redactor, self._diag_stdout_only)
                delay = None if os.environ.get("OTEL_BSP_SCHEDULE_DELAY") else 500
                downstream = BatchSpanProcessor(self.exporter, schedule_delay_millis=delay, max_queue_size=8192,
                                                max_export_batch_size=512)
            if downstream is not None:
                if self.sample_rate < 1.0 or spec.critical_paths:
                    self.tail = TailKeepProcessor(downstream, slow_seconds=config.slow_request_ms / 1000.0)
                    downstream = self.tail
                self.provider.add_span_processor(downstream)
            for proc in spec.extra_processors:
                self.provider.add_span_processor(proc)
            self.tracer = self.provider.get_tracer("obsconf.reference", __version__)
            # the provider's own fan-out to its processors (SDK internals: without it, keep the SDK's span)
            processors = getattr(self.provider, "_active_span_processor", None)
            if sampler is ALWAYS_ON and self.tail is None and not spec.extra_processors and processors is not None:
                self.server_spans = ServerSpanFactory(processors, self.provider.resource,
                                                      InstrumentationScope("obsconf.reference", __version__),
                                                      self.provider.id_generator)

    @property
    def sample_rate(self) -> float:
        rate = self.config.trace_sample_rate
        return self.spec.sample_rate if rate is None else rate

    def _sampler(self) -> Sampler:
        if self.sample_rate >= 1.0 and not self.spec.critical_paths:
            return ALWAYS_ON
        return IntelligentSampler(self.sample_rate, self.spec.critical_paths)

    def new_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(self.config.breaker_failure_threshold, self.config.breaker_reset_secs)

    def _diag_stdout_only(self, message: str, fields: Mapping[str, Any]) -> None:
        """Report a telemetry failure on stdout only (shipping it would feed the failing sink)."""
        if self.stdout is None:
            return
        self.logger.log("WARN", "obsconf::telemetry", message, dict(fields), sinks=[self.stdout])

    # ---- metrics factory: real metrics when on, a no-op stand-in when off ----
    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Any:
        return Counter(name, doc, list(labels), registry=self.registry) if self.metrics_on else NULL_METRIC

    def gauge(self, name: str, doc: str, labels: Sequence[str] = (), **kwargs: Any) -> Any:
        return Gauge(name, doc, list(labels), registry=self.registry, **kwargs) if self.metrics_on else NULL_METRIC

    def histogram(self, name: str, doc: str, labels: Sequence[str] = (), buckets: Sequence[float] | None = None) -> Any:
        if not self.metrics_on:
            return NULL_METRIC
        kwargs: dict[str, Any] = {"buckets": list(buckets)} if buckets else {}
        return Histogram(name, doc, list(labels), registry=self.registry, **kwargs)

    def add_shipper(self, shipper: BatchShipper[Any]) -> None:
        self.shippers.append(shipper)

    def start(self) -> None:
        """Start background threads (shippers, stdout flusher). Called from the app's lifespan."""
        for shipper in self.shippers:
            shipper.start()
        self._flush_stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="obsconf-log-flush", daemon=True)
        self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._flush_stop.wait(0.25):
            self.flush_local()

    def flush_local(self) -> None:
        for sink in self.logger.sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                flush()

    def shutdown(self, timeout: float | None = None) -> dict[str, bool]:
        """Flush and close everything within ``timeout`` seconds; returns which closers finished in time."""
        budget = self.config.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        stop = getattr(self, "_flush_stop", None)
        if stop is not None:
            stop.set()
        jobs: dict[str, Callable[[], None]] = {}
        for shipper in self.shippers:
            jobs[f"shipper:{shipper.name}"] = lambda s=shipper: s.close(max(0.0, deadline - time.monotonic() - 0.2))
        if self.provider is not None:
            jobs["traces"] = self.provider.shutdown
        for i, closer in enumerate(self.closers):
            jobs[f"closer:{i}"] = lambda c=closer: c(max(0.0, deadline - time.monotonic() - 0.2))
        threads = {name: threading.Thread(target=fn, name=f"obsconf-close-{name}", daemon=True)
                   for name, fn in jobs.items()}
        for thread in threads.values():
            thread.start()
        done = {}
        for name, thread in threads.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            done[name] = not thread.is_alive()
        self.flush_local()
        return done
