"""The violations the broken target can inject, each one switchable, each one a patch of a reference app.

Every break takes the reference service built by :func:`obsconf.reference.app.create_app` and changes one
thing, the way a real bug would: the code path stays the reference's, so the conformance suite must notice
exactly that one difference. A break exists for the profiles named in :data:`BREAKS`; asking for it on
another profile is a usage error (it would silently inject nothing).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, set_span_in_context
from prometheus_client import Counter, Histogram

from obsconf.reference.backoff import Backoff
from obsconf.reference.logs import CURRENT_REQUEST, LogEvent, Logger

Patch = Callable[[Any], None]  # takes the app's profile object (app.state.profile)


@dataclass(frozen=True)
class Break:
    """One injectable violation: what it does and, per profile, how."""

    kind: str
    what: str
    patches: Mapping[str, Patch]


# ---- wrong span parent -------------------------------------------------------------------------------------


class _ReparentingTracer:
    """Delegates to the real tracer, but starts spans named one of ``span_names`` as children of their
    grandparent: the span skips one level of the tree (persist: ``s3_upload`` hangs off the HTTP server
    span instead of ``save_snapshot``)."""

    def __init__(self, inner: Any, span_names: Sequence[str]) -> None:
        self.inner = inner
        self.span_names = frozenset(span_names)

    def _context(self, name: str, context: Any) -> Any:
        if name not in self.span_names or context is not None:
            return context
        grandparent = getattr(trace.get_current_span(), "parent", None)  # SDK spans know their parent context
        return set_span_in_context(NonRecordingSpan(grandparent)) if grandparent is not None else None

    def start_as_current_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Any:
        return self.inner.start_as_current_span(name, self._context(name, context), *args, **kwargs)

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Any:
        return self.inner.start_span(name, self._context(name, context), *args, **kwargs)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def _span_parent(*span_names: str) -> Patch:
    def patch(prof: Any) -> None:
        prof.tel.tracer = _ReparentingTracer(prof.tel.tracer, span_names)

    return patch


# ---- missing metric label ----------------------------------------------------------------------------------


class _IgnoreLabels:
    """Stands in for a labelled metric whose replacement has no labels: ``.labels(...)`` is the metric."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric

    def labels(self, *args: Any, **kwargs: Any) -> Any:
        return self.metric


def _persist_metric_label(prof: Any) -> None:
    # persist_s3_errors_total{operation} (seed 000 l.188) registered without its label
    registry = prof.tel.registry
    registry.unregister(prof.s3_errors)
    prof.s3_errors = _IgnoreLabels(Counter("persist_s3_errors_total", "Total number of S3 errors", registry=registry))


# ---- wrong histogram bucket layout ---------------------------------------------------------------------------

WRONG_BUCKETS = (0.05, 0.1, 0.5, 1.0, 5.0)


def _assistant_buckets(prof: Any) -> None:
    # assistant_request_duration_seconds: the seed's ExponentialBuckets(0.001, 2, 10) replaced by a linear-ish set
    registry = prof.tel.registry
    registry.unregister(prof.red.duration)
    prof.red.duration = Histogram("assistant_request_duration_seconds", "Request duration in seconds",
                                  ["method", "endpoint"], registry=registry, buckets=WRONG_BUCKETS)
    prof.red._durations.clear()  # drop the cached children of the old histogram


# ---- secrets in a log line and in a span attribute ---------------------------------------------------------------


def emit_unredacted(logger: Logger, level: str, target: str, message: str, fields: dict[str, Any]) -> None:
    """What :meth:`Logger.log` does, minus the redactor: the line reaches every sink as written."""
    ctx = trace.get_current_span().get_span_context()
    req = CURRENT_REQUEST.get()
    trace_id = f"{ctx.trace_id:032x}" if ctx.is_valid else (req.trace_id if req else None)
    span_id = f"{ctx.span_id:016x}" if ctx.is_valid else (req.span_id if req else None)
    event = LogEvent(time.time_ns(), level, message, target, fields, trace_id, span_id, req)
    record = logger.formatter(event)
    line = orjson.dumps(record, default=str)
    for sink in logger.sinks:
        sink.emit(line, record, event)


class _NoRedaction:
    """The exporter's redactor, switched off."""

    def needs_work(self, attributes: Any) -> bool:
        return False

    def mapping(self, attributes: Any) -> Any:
        return attributes


def _wrap_persist_save(prof: Any, before: Callable[[Any], None]) -> None:
    """Run ``before(state)`` inside the request, just ahead of the reference's save."""
    inner = prof.save

    def save(key: str, state: Any, agent_id: str, session_id: str) -> dict[str, Any]:
        before(state)
        return inner(key, state, agent_id, session_id)

    prof.save = save  # the route looks ``self.save`` up per request


def _persist_log_secret(prof: Any) -> None:
    # the request body (the agent state, with its api_key) logged verbatim, past the redactor
    def log_body(state: Any) -> None:
        emit_unredacted(prof.tel.logger, "INFO", "persist_core::snapshot", "Snapshot request received",
                        {"body": orjson.dumps(state).decode()})

    _wrap_persist_save(prof, log_body)


def _persist_span_secret(prof: Any) -> None:
    # the request body as an attribute of the server span, and the exporter's redaction off
    def tag_body(state: Any) -> None:
        trace.get_current_span().set_attribute("snapshot.request_body", orjson.dumps(state).decode())

    _wrap_persist_save(prof, tag_body)
    if prof.tel.exporter is not None:
        prof.tel.exporter.redactor = _NoRedaction()
        encoder = getattr(prof.tel.exporter.inner, "encoder", None)
        if encoder is not None:
            encoder.redactor = None  # the lean OTLP exporter redacts while it encodes: off there too


# ---- a log line without trace_id ---------------------------------------------------------------------------------

#: The request-time line that loses its trace context, per profile.
UNTRACED_MESSAGES = {"persist": "Snapshot saved", "prethrift": "Search completed"}


def _log_without_trace_id(message: str) -> Patch:
    def patch(prof: Any) -> None:
        logger = prof.tel.logger
        inner = logger.formatter

        def formatter(event: LogEvent) -> dict[str, Any]:
            record = inner(event)
            if event.message == message:
                record.pop("trace_id", None)
                record.pop("span_id", None)
            return record

        logger.formatter = formatter

    return patch


# ---- retries without backoff -------------------------------------------------------------------------------------


def _persist_no_backoff(prof: Any) -> None:
    # same number of retries, no wait between them
    prof.backoff = Backoff(base=0.0, factor=1.0, max_delay=0.0, max_retries=prof.backoff.max_retries)


# ---- health endpoint with a wrong schema -------------------------------------------------------------------------


def _prethrift_health_schema(prof: Any) -> None:
    # /health/ready answers "status": true (a boolean) where the contract wants a string
    inner = prof.health_body

    async def health_body(ready_only: bool, live: bool = False) -> tuple[int, dict[str, Any]]:
        status, body = await inner(ready_only, live)
        if ready_only and not live:
            body = {**body, "status": body.get("status") != "unhealthy"}
        return status, body

    prof.health_body = health_body


# ---- the seeds' statements that new cases check ------------------------------------------------------


class _SpanProxy:
    """A span whose ``set_status`` ignores errors: the operation failed, its span does not say so."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def set_status(self, status: Any, description: Any = None) -> None:
        del status, description

    def __getattr__(self, item: str) -> Any:
        return getattr(self._inner, item)


class _NoErrorStatusTracer:
    """Spans named ``*_request`` (one S3 attempt each) never get error status."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @contextlib.contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self.inner.start_as_current_span(name, *args, **kwargs) as span:
            yield _SpanProxy(span) if name.endswith("_request") else span

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def _op_error_status(prof: Any) -> None:
    prof.tel.tracer = _NoErrorStatusTracer(prof.tel.tracer)


def _persist_log_target(prof: Any) -> None:
    # the S3 lines logged under another target than the seed's persist_core::storage::s3
    prof.s3_log = prof.tel.logger.bind("persist::s3")


def _persist_latency_buckets(prof: Any) -> None:
    registry = prof.tel.registry
    registry.unregister(prof.s3_latency)
    prof.s3_latency = Histogram("persist_s3_latency_seconds", "S3 operation latencies", ["operation"],
                                registry=registry, buckets=(0.005, 0.05, 0.1, 1.0, 2.5, 10.0))


class _Blind:
    """A histogram child that records every observation as ``value`` (a latency the service does not see)."""

    def __init__(self, metric: Any, value: float) -> None:
        self.metric, self.value = metric, value

    def labels(self, *args: Any, **kwargs: Any) -> Any:
        child = self.metric.labels(*args, **kwargs)
        return type("BlindChild", (), {"observe": lambda _self, _v: child.observe(self.value)})()

    def __getattr__(self, item: str) -> Any:
        return getattr(self.metric, item)


def _persist_latency_blind(prof: Any) -> None:
    prof.s3_latency = _Blind(prof.s3_latency, 0.001)


def _red_duration_blind(prof: Any) -> None:
    prof.red.duration = _Blind(prof.red.duration, 0.001)
    prof.red._durations.clear()


def _sdk_tracer(prof: Any) -> Any:
    """The SDK tracer under any tracer wrapper another break put in front of it."""
    tracer = prof.tel.tracer
    while hasattr(tracer, "inner"):
        tracer = tracer.inner
    return tracer


def _sampling_ignores_rate(prof: Any) -> None:
    # every trace is kept, whatever the seed's sample rate variable says
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    _sdk_tracer(prof).sampler = ALWAYS_ON


def _access_without(*keys: str) -> Patch:
    def patch(prof: Any) -> None:
        logger = prof.tel.logger
        inner = logger.formatter

        def formatter(event: LogEvent) -> dict[str, Any]:
            record = inner(event)
            if event.target == prof.access_target():
                for key in keys:
                    record.pop(key, None)
            return record

        logger.formatter = formatter

    return patch


class _KindTracer:
    """Server spans started as internal ones."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> Any:
        from opentelemetry.trace import SpanKind

        if kwargs.get("kind") == SpanKind.SERVER:
            kwargs["kind"] = SpanKind.INTERNAL
        return self.inner.start_span(name, *args, **kwargs)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def _span_kind(prof: Any) -> None:
    prof.tel.tracer = _KindTracer(prof.tel.tracer)
    prof.tel.server_spans = None  # the cheap server span would start SERVER spans past the tracer


def _service_version(prof: Any) -> None:
    from opentelemetry.sdk.resources import Resource

    tracer = _sdk_tracer(prof)
    tracer.resource = Resource.create({**tracer.resource.attributes, "service.version": "0.0.0"})
    prof.tel.server_spans = None  # the cheap server span holds the resource it was built with


def _readiness_ignores_deps(prof: Any) -> None:
    inner = prof.health_body

    async def health_body(ready_only: bool, live: bool = False) -> tuple[int, dict[str, Any]]:
        _, body = await inner(ready_only, live)
        return 200, body  # readiness keeps answering 200 whatever its checks say

    prof.health_body = health_body


def _assistant_health_envelope(prof: Any) -> None:
    inner = prof.health

    async def health() -> tuple[int, dict[str, Any]]:
        status, checks = await inner()
        return status, {"status": "healthy" if status == 200 else "unhealthy", "checks": checks}

    prof.health = health


def _aurum_dotted_attributes(prof: Any) -> None:
    """The seed's argument names (scenario_id, tenant_id, table, cache_type, key) rewritten with dots."""
    renames = {"scenario_id": "scenario.id", "tenant_id": "tenant.id", "table": "db.table", "cache_type": "cache.type",
               "key": "cache.key"}
    inner = prof.tel.tracer

    class Renaming:
        def start_as_current_span(self, name: str, *args: Any, attributes: Any = None, **kwargs: Any) -> Any:
            if attributes:
                attributes = {renames.get(k, k): v for k, v in attributes.items()}
            return inner.start_as_current_span(name, *args, attributes=attributes, **kwargs)

        def __getattr__(self, item: str) -> Any:
            return getattr(inner, item)

    prof.tel.tracer = Renaming()


def _aurum_slo_env_ignored(prof: Any) -> None:
    defaults = {"api_availability": 0.999, "api_latency_p95": 500.0, "scenario_runs": 0.95}
    prof.slos = [replace(s, target=defaults.get(s.name, s.target)) for s in prof.slos]


def _aurum_slo_unit(prof: Any) -> None:
    prof.slos = [replace(s, unit="s") if s.name == "api_latency_p95" else s for s in prof.slos]


def _aurum_runs_uncounted(prof: Any) -> None:
    inner = prof._outcome

    def outcome(kind: str, ok: bool) -> None:
        if kind != "scenario_run":
            inner(kind, ok)

    prof._outcome = outcome


def _syncd_absolute_paths(prof: Any) -> None:
    prof._shown = lambda path: str(path)  # the machine's absolute paths in logs and spans


def _syncd_labelled_files(prof: Any) -> None:
    registry = prof.tel.registry
    registry.unregister(prof.files_processed)
    files = Counter("sync_files_processed_total", "Files processed", ["job_id", "operation"], registry=registry)
    prof.files_processed = type("ByJob", (), {"labels": lambda _self, op: files.labels("any_job", op)})()


def _syncd_errors_uncounted(prof: Any) -> None:
    prof.sync_errors = _IgnoreLabels(type("Nothing", (), {"inc": lambda _self, _n=1: None})())


def burn_cpu(ms: float) -> None:
    """Spin for ``ms`` of this thread's CPU time (a slow serializer, an expensive lookup)."""
    end = time.thread_time() + ms / 1000.0
    while time.thread_time() < end:
        pass


def _log_burn(prof: Any) -> None:
    # every log line costs 3 ms of CPU (the seeds' budget: < 1 ms per log entry)
    logger = prof.tel.logger
    inner = logger.formatter

    def formatter(event: LogEvent) -> dict[str, Any]:
        burn_cpu(3.0)
        return inner(event)

    logger.formatter = formatter


def _metrics_burn(prof: Any) -> None:
    # every scrape of the metrics endpoint costs 50 ms of CPU (at one scrape a second: 5% of a core)
    inner = prof.metrics_response

    def metrics_response(request: Any) -> Any:
        burn_cpu(50.0)
        return inner(request)

    prof.metrics_response = metrics_response


def _syncd_no_log_indexes(prof: Any) -> None:
    import obsconf.reference.profiles.syncd.migration as syncd

    syncd.DAEMON_LOGS_MIGRATION = {**syncd.DAEMON_LOGS_MIGRATION, "index_columns": ()}


# ---- an observability endpoint that forgets its token ------------------------------------------------------------


def _aurum_auth_forgotten(prof: Any) -> None:
    # /metrics mirrors /v1/observability/metrics but is left out of the guard: anyone may scrape it
    rules = prof.active_auth_rules
    rules[:] = [replace(r, paths=tuple(p for p in r.paths if p != "/metrics")) for r in rules]
# ---- under load: a counter that skips errors, a span queue that drops, an access log that samples ----------------

#: every reference profile (the load breaks patch what all of them share)
PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")


def _counter_skips_errors(prof: Any) -> None:
    # the request counter is incremented only for answers below 500; the duration histogram still sees them all
    red = prof.red
    inner = red.observe

    def observe(count_key: tuple[str, ...], duration_key: tuple[str, ...], seconds: float) -> None:
        if any(part.isdigit() and int(part) >= 500 for part in count_key):
            red.duration.labels(*duration_key).observe(seconds)
            return
        inner(count_key, duration_key, seconds)

    red.observe = observe  # request_finished looks ``self.red.observe`` up per request


#: the queue of the broken span processor: far too small for a load's bursts (the reference's holds 8192)
SMALL_SPAN_QUEUE = 4


def _span_queue_small(prof: Any) -> None:
    # the reference's batch processor shrunk in place (so whatever holds it, the provider or a cheaper
    # server-span path, uses the small queue): under load, spans that find it full are dropped silently
    from collections import deque

    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = prof.tel.provider
    if provider is None or prof.tel.exporter is None:
        raise ValueError("span-queue-small needs tracing with an OTLP exporter (OBSCONF_OTLP_HTTP_URL)")
    # the SDK keeps its processors here (no public accessor); a tail-sampling processor wraps the batch one
    processors = provider._active_span_processor._span_processors
    batch = [p for p in (*processors, *(getattr(p, "downstream", None) for p in processors))
             if isinstance(p, BatchSpanProcessor)]
    if not batch:
        raise ValueError("span-queue-small: the reference's batch span processor was not found")
    for bsp in batch:
        inner = bsp._batch_processor  # the SDK's shared batching core: queue and limits
        inner._max_queue_size = inner._max_export_batch_size = SMALL_SPAN_QUEUE
        inner._queue = deque(inner._queue, maxlen=SMALL_SPAN_QUEUE)


#: the broken access log keeps one line in this many
ACCESS_LOG_KEEP_ONE_IN = 2


def _access_log_sampled(prof: Any) -> None:
    # the access log writes every other request's line: sampled, as some log pipelines do to save volume
    inner = prof.access_log
    seen = [0]

    def access_log(*args: Any, **kwargs: Any) -> None:
        seen[0] += 1
        if seen[0] % ACCESS_LOG_KEEP_ONE_IN == 0:
            inner(*args, **kwargs)

    prof.access_log = access_log  # the middleware looks ``profile.access_log`` up per request


BREAKS: dict[str, Break] = {b.kind: b for b in (
    Break("span-parent", "s3_upload is a child of the HTTP server span, not of save_snapshot",
          {"persist": _span_parent("s3_upload", "local_file_write")}),
    Break("metric-label", "persist_s3_errors_total has no 'operation' label", {"persist": _persist_metric_label}),
    Break("histogram-buckets", f"assistant_request_duration_seconds has buckets {list(WRONG_BUCKETS)}",
          {"assistant": _assistant_buckets}),
    Break("log-secret", "the snapshot request body (with its api_key) is logged unredacted",
          {"persist": _persist_log_secret}),
    Break("span-secret", "the snapshot request body (with its api_key) is a span attribute, unredacted",
          {"persist": _persist_span_secret}),
    Break("log-no-trace-id", "one request log line carries no trace_id/span_id",
          {p: _log_without_trace_id(m) for p, m in UNTRACED_MESSAGES.items()}),
    Break("retry-no-backoff", "S3 retries follow each other at once (no backoff)", {"persist": _persist_no_backoff}),
    Break("health-schema", "/health/ready answers status as a boolean", {"prethrift": _prethrift_health_schema}),
    Break("op-error-status", "a failed S3 attempt's span keeps status unset", {"persist": _op_error_status}),
    Break("log-target", "the S3 lines are logged under target persist::s3", {"persist": _persist_log_target}),
    Break("latency-buckets", "persist_s3_latency_seconds lacks the seed's 0.5 s bound", {"persist": _persist_latency_buckets}),
    Break("latency-blind", "every latency is recorded as 1 ms",
          {"persist": _persist_latency_blind, "prethrift": _red_duration_blind}),
    Break("sampling-ignores-rate", "every trace is kept whatever the sample-rate variable says",
          {p: _sampling_ignores_rate for p in ("persist", "prethrift", "assistant")}),
    Break("log-context", "access lines carry no request_id (or tenant_id)",
          {"prethrift": _access_without("request_id"), "aurum": _access_without("tenant_id")}),
    Break("no-stack-trace", "error lines carry no stack trace", {"prethrift": _access_without("exception"),
                                                                "aurum": _access_without("exception")}),
    Break("span-kind", "server spans are started as internal spans", {"prethrift": _span_kind}),
    Break("service-version", "the resource says service.version 0.0.0", {"prethrift": _service_version}),
    Break("readiness-ignores-deps", "/health/ready answers 200 whatever its checks say",
          {"prethrift": _readiness_ignores_deps}),
    Break("health-envelope", "the health map is wrapped in {status, checks}", {"assistant": _assistant_health_envelope}),
    Break("dotted-attributes", "scenario_id, tenant_id, table, cache_type, key are renamed with dots",
          {"aurum": _aurum_dotted_attributes}),
    Break("slo-env-ignored", "the SLO targets keep their defaults whatever AURUM_SLO_* say",
          {"aurum": _aurum_slo_env_ignored}),
    Break("slo-unit", "api_latency_p95 reports its unit as 's'", {"aurum": _aurum_slo_unit}),
    Break("runs-uncounted", "scenario runs are not counted as business transactions", {"aurum": _aurum_runs_uncounted}),
    Break("absolute-paths", "sync jobs log and trace absolute paths", {"syncd": _syncd_absolute_paths}),
    Break("labelled-files", "sync_files_processed_total is labelled by job too", {"syncd": _syncd_labelled_files}),
    Break("errors-uncounted", "sync_errors_total never rises", {"syncd": _syncd_errors_uncounted}),
    Break("no-log-indexes", "the daemon_logs migration creates no index", {"syncd": _syncd_no_log_indexes}),
    Break("log-burn", "every log line costs 3 ms of CPU", {"aurum": _log_burn}),
    Break("metrics-burn", "every scrape of the metrics endpoint costs 50 ms of CPU", {"syncd": _metrics_burn}),
    Break("auth-forgotten", "/metrics answers without the token that guards /v1/observability/*",
          {"aurum": _aurum_auth_forgotten}),
    Break("counter-skips-errors", "the request counter skips answers of 500 and above (the histogram does not)",
          dict.fromkeys(PROFILES, _counter_skips_errors)),
    Break("span-queue-small", f"the span processor's queue holds {SMALL_SPAN_QUEUE} spans, so a load's spans are "
          "dropped", dict.fromkeys(PROFILES, _span_queue_small)),
    Break("access-log-sampled", f"the access log keeps one request's line in {ACCESS_LOG_KEEP_ONE_IN}",
          dict.fromkeys(PROFILES, _access_log_sampled)),
)}


def parse_breaks(text: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; ``""`` or ``"none"`` -> ``[]``; an unknown kind is a ValueError."""
    kinds = [k.strip() for k in text.split(",") if k.strip() and k.strip() != "none"]
    unknown = [k for k in kinds if k not in BREAKS]
    if unknown:
        raise ValueError(f"unknown break kind(s) {', '.join(unknown)}; choose from {', '.join(BREAKS)}")
    return kinds


def apply_breaks(app: FastAPI, kinds: Sequence[str]) -> None:
    """Inject each break into ``app`` (a reference app). Raises ValueError for a break the profile lacks."""
    prof = app.state.profile
    for kind in kinds:
        brk = BREAKS[kind]
        patch = brk.patches.get(prof.name)
        if patch is None:
            raise ValueError(f"break {kind!r} is not available for profile {prof.name!r}; "
                             f"it exists for: {', '.join(brk.patches)}")
        patch(prof)
