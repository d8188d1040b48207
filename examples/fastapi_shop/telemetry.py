"""Telemetry set-up of the shop: OpenTelemetry traces, JSON logs (stdout and Loki), one off switch.

Everything is configured from the standard environment variables, as the OpenTelemetry SDK reads them:
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, OTEL_TRACES_SAMPLER(_ARG),
OTEL_BSP_SCHEDULE_DELAY. OTEL_SDK_DISABLED=true turns tracing off (the SDK honours it) and, here, also the
Prometheus instrumentation and the Loki shipping, so an A/B run compares against no telemetry at all.
LOKI_PUSH_URL is the full Loki push URL (.../loki/api/v1/push); without it, logs go to stdout only.
"""

from __future__ import annotations

import logging
import os
import sys
from queue import Queue

from logging_loki import LokiQueueHandler
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pythonjsonlogger.json import JsonFormatter


def telemetry_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def setup_tracing() -> TracerProvider:
    """A tracer provider built from the OTEL_* variables (resource, sampler, exporter, batch delay)."""
    provider = TracerProvider()  # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    # A collector that is down must not hold the shutdown for the exporter's default 10 s per attempt.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=2)))
    trace.set_tracer_provider(provider)
    return provider


class TraceContextFilter(logging.Filter):
    """Adds trace_id and span_id of the current span to each record (absent outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # "timestamp": RFC 3339 in UTC
        json_ensure_ascii=False,
    )


def setup_logging(service_name: str) -> LokiQueueHandler | None:
    """JSON lines on stdout for every logger (uvicorn's too); the app's own lines also go to Loki."""
    stdout = logging.StreamHandler(sys.stdout)
    stdout.setFormatter(json_formatter())
    stdout.addFilter(TraceContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [stdout]
    root.setLevel(logging.INFO)

    push_url = os.environ.get("LOKI_PUSH_URL", "")
    if not push_url or telemetry_disabled():
        return None
    # The queue handler formats on the request's thread (so the trace ids and the exception are those
    # of the request); its listener thread posts the finished line to Loki.
    loki = LokiQueueHandler(Queue(-1), url=push_url, tags={"service_name": service_name}, version="1")
    loki.setFormatter(json_formatter())
    loki.addFilter(TraceContextFilter())
    loki.handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("shop").addHandler(loki)
    return loki


def stop_logging(loki: LokiQueueHandler | None) -> None:
    """Ship what is still queued, then stop the listener thread."""
    if loki is not None:
        loki.listener.stop()
