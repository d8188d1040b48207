"""The reference instrumented service: one FastAPI app, five profiles, every behaviour the seeds describe.

Users copy it; the conformance suite proves itself on it. Run it with
``python -m obsconf.reference --profile NAME --port P`` (binds 127.0.0.1), build it in-process with
:func:`create_app`, or start it as a managed child with :func:`obsconf.target.reference.start_reference`.
Each profile module's docstring lists its routes, JSON shapes, log fields, metrics and env vars in full.

Routes
======
Every profile:
  ``GET /api/ok`` (200) - ``GET /api/slow?ms=300`` - ``GET /api/fail?status=500`` (answers that status, 400-599)
  - ``GET /metrics`` (Prometheus text; empty when instrumentation is off).
persist (service ``persist``, seed 000):
  ``POST /snapshots/{key}`` (save; JSON body = agent state; ``agent_id``/``session_id`` from the query or
  the body; 201) - ``GET /snapshots/{key}`` (load) - ``POST /snapshots/{key}/verify``. Keys may contain
  ``/``. Missing key 404, access denied 403, other storage errors 500.
syncd (service ``sync-daemon``, seed 001):
  ``POST /sync/jobs/{job_name}`` (body: source, destination, trigger, create_files, file_size,
  delete_extraneous) - ``POST /logs/emit?n=N&level=INFO&tag=T`` (N lines with field ``seq``) -
  ``GET /telemetry/status`` (breaker_state, buffer_size, buffer_max, dropped, dropped_overflow, shipped,
  send_errors, degraded, daemon_id, session_id, ...) - ``/metrics`` with optional bearer token and rate limit.
aurum (service ``aurum-api``, seed 002):
  ``GET /v1/observability/{metrics, metrics/json, performance, traces, traces/{id}, slos, slos/{name},
  dashboard, health, logs/schema}`` - ``POST /v1/observability/traces/{id}/export`` -
  ``POST /v1/observability/cleanup`` - ``POST /api/scenarios`` - ``GET /api/scenarios/{id}`` -
  ``POST /api/scenarios/{id}/runs``.
prethrift (service ``prethrift-backend``, seed 003):
  ``GET /health`` - ``GET /health/ready`` - ``GET /health/live`` - ``GET /api/search?q=...&type=text|visual``
  - ``GET /api/error`` (raises; exercises error tracking).
assistant (service ``assistant``, seed 004):
  ``POST /api/chat`` - ``GET /api/agents`` - ``GET /api/memory`` - ``GET /health``.

Every response carries ``X-Trace-Id`` (32 hex, the server span's trace; a W3C ``traceparent`` on the
request is honoured) and ``X-Request-Id`` (the request's ``X-Request-Id`` or ``req-<16 hex>``).

Log lines (JSON, one per event; every line inside a request has top-level ``trace_id`` and ``span_id``)
=====================================================================================================
persist: timestamp, level, target, message + flattened fields (Rust ``tracing`` JSON).
syncd: timestamp, level, target, message, fields{}, daemon_id, session_id.
aurum: timestamp, level, message, logger, request_id, tenant_id (X-Tenant-Id), component, operation,
duration_ms + fields.  prethrift: event, level, timestamp, logger, request_id, user_id (X-User-Id) + fields.
assistant: time, level, source{function,file,line}, msg + attrs, request_id, user_id.
Every request also logs one access line ("request completed" / "Request completed") with method, path
(route template), status_code, duration_ms. Secrets (password, api_key, token, authorization, secret,
credentials, dsn, cookie, ... in any casing; ``Bearer`` tokens; URL passwords; percent-encoded) are masked as
``[REDACTED]`` in every field of every sink, in span attributes, events and status, and in metric label
values taken from requests; every string value is bounded (8 KiB in logs, 4 KiB in spans) and each event is
one JSON line whatever the input (newlines, U+2028, NUL are escaped).

Environment (common)
====================
``OBSCONF_OTLP_HTTP_URL`` (spans to ``<url>/v1/traces``, OTLP/HTTP, timeout 2 s; ``OTEL_BSP_SCHEDULE_DELAY``
honoured, default 500 ms) - ``OBSCONF_LOGS_PUSH_URL`` (Loki push; labels service, profile) -
``OBSCONF_POCKETBASE_URL`` + ``OBSCONF_POCKETBASE_ADMIN=email:password`` - ``OBSCONF_S3_URL``,
``OBSCONF_S3_ACCESS_KEY``, ``OBSCONF_S3_SECRET_KEY`` - ``OBSCONF_INSTRUMENTATION=on|off`` (off: no spans, no
metric updates, no log lines or shipping; routes behave the same) - ``OBSCONF_SERVICE_NAME`` -
``OBSCONF_CONSOLE_LOGS=on|off`` - ``OBSCONF_LOG_DIR`` (file sinks) - ``OBSCONF_LOGS_BATCH_SIZE`` (100),
``OBSCONF_LOGS_FLUSH_INTERVAL`` (1 s), ``OBSCONF_LOGS_BUFFER_MAX`` (10000), ``OBSCONF_LOGS_MAX_RETRIES`` (3),
``OBSCONF_BREAKER_FAILURE_THRESHOLD`` (5), ``OBSCONF_BREAKER_RESET_SECS`` (10), ``OBSCONF_SHUTDOWN_TIMEOUT``
(3 s), ``OBSCONF_SLOW_REQUEST_MS`` (250), ``OBSCONF_TRACE_SAMPLE_RATE`` (overrides the profile's own),
``OBSCONF_ALLOW_REMOTE_SINKS=1`` (allow non-loopback sink URLs; refused otherwise) - ``OBSCONF_LOGS_HTTP_TIMEOUT``
(30 s: how long a sent log push waits for its answer; a resend after that is counted as a possible duplicate)
- ``OBSCONF_METRICS_AUTH_TOKEN`` (every profile's ``/metrics`` then needs ``Authorization: Bearer <token>``;
aurum: ``AURUM_OBSERVABILITY_TOKEN`` guards ``/v1/observability/*`` and ``/metrics``) -
``OBSCONF_MAX_HEADER_BYTES`` (16 KiB, else 431), ``OBSCONF_MAX_URL_BYTES`` (8 KiB, else 414),
``OBSCONF_MAX_BODY_BYTES`` (4 MiB, else 413). An unset URL turns that sink off. Profile variables (PERSIST_*, SYNCD_*, AURUM_*, LOG_LEVEL, TRACE_SAMPLE_RATE, SENTRY_DSN,
ASSISTANT_*, ...) are listed in each profile module.

Telemetry of the telemetry: ``obsconf_telemetry_{shipped,dropped,send_errors}_total{sink[,reason]}``,
``obsconf_telemetry_buffer_size{sink}``, ``obsconf_telemetry_breaker_open{sink}``,
``obsconf_telemetry_spans_exported_total{result}``, ``obsconf_telemetry_log_lines_total``.
"""

from typing import Any

from obsconf.reference.config import PROFILES, ReferenceConfig

__all__ = ["PROFILES", "ReferenceConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # the app (FastAPI, OpenTelemetry, boto3) loads on first use: the contract schema reads PROFILES from
    # here and must stay a cheap import
    if name == "create_app":
        from obsconf.reference.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
