"""The persist profile: its Rust ``tracing``-style log line, telemetry settings, S3 metrics, the store it
saves to, and its lifecycle (snapshot operations in :mod:`.snapshots`, routes in :mod:`.routes`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from obsconf.reference.backoff import Backoff
from obsconf.reference.config import env_float, env_int
from obsconf.reference.logs import LogEvent, iso_utc
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, SeedSwitches
from obsconf.reference.profiles.persist import routes
from obsconf.reference.profiles.persist.snapshots import ErrorTotals, SnapshotOps
from obsconf.reference.profiles.persist.store import LocalStore, S3Store, StoreError
from obsconf.reference.telemetry import TelemetrySpec

S3_TARGET = "persist_core::storage::s3"
LOCAL_TARGET = "persist_core::storage::local"
SNAPSHOT_TARGET = "persist_core::snapshot"
SWITCHES = SeedSwitches("RUST_LOG", "PERSIST_LOG_FORMAT", "PERSIST_TRACING_ENABLED", "PERSIST_METRICS_ENABLED",
                        "PERSIST_TRACE_SAMPLE_RATE", pretty_format="pretty")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = tuple(float(1024 * 4**k) for k in range(10))  # 1 KiB .. 256 MiB


def rust_json(ev: LogEvent) -> dict[str, Any]:
    """tracing-subscriber's JSON layer with flattened event fields."""
    rec: dict[str, Any] = {"timestamp": iso_utc(ev.time_ns, 6), "level": ev.level, "target": ev.target,
                           "message": ev.message}
    rec.update(ev.fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    return rec


class PersistProfile(SnapshotOps, ProfileBase):
    name = "persist"
    default_target = SNAPSHOT_TARGET

    def telemetry_spec(self) -> TelemetrySpec:
        return SWITCHES.spec(self.env, rust_json)

    def access_target(self) -> str:
        return "persist_server::http"

    def setup_metrics(self) -> None:
        tel = self.tel
        self.bucket = self.env.get("PERSIST_S3_BUCKET") or "obsconf-snapshots"
        self.backoff = Backoff(base=env_float(self.env, "PERSIST_RETRY_BASE_MS", 100.0) / 1000.0, factor=2.0,
                               max_delay=5.0, max_retries=env_int(self.env, "PERSIST_MAX_RETRIES", 3))
        self.timeout = env_float(self.env, "PERSIST_S3_TIMEOUT_SECS", 5.0)
        self.red = RedMetrics(tel, "http_requests_total", "http_request_duration_seconds")
        self.s3_requests = tel.counter("persist_s3_requests_total", "Total number of S3 requests", ["operation"])
        self.s3_errors = tel.counter("persist_s3_errors_total", "Total number of S3 errors", ["operation"])
        self.s3_retries = tel.counter("persist_s3_retries_total", "Total number of S3 retry attempts", ["operation"])
        self.s3_latency = tel.histogram("persist_s3_latency_seconds", "S3 operation latencies", ["operation"],
                                        buckets=LATENCY_BUCKETS)
        self.state_size = tel.histogram("persist_state_size_bytes", "Agent state sizes in bytes",
                                        buckets=SIZE_BUCKETS)
        self.error_rate = tel.gauge("persist_error_rate", "S3 errors / S3 requests since start")
        # Known operations start at 0 (Prometheus practice: a labelled counter has no series until first
        # used, so rate(persist_s3_errors_total[5m]) / rate(persist_s3_requests_total[5m]) of seed l.238 and
        # a retry counter that has not fired yet would be absent instead of 0).
        for operation in ("put_object", "get_object", "head_object"):
            for counter in (self.s3_requests, self.s3_errors, self.s3_retries, self.s3_latency):
                counter.labels(operation)
        self.error_totals = ErrorTotals()
        self.error_rate.set_function(self.error_totals.rate)
        self.s3_log = self.tel.logger.bind(S3_TARGET)
        self.local_log = self.tel.logger.bind(LOCAL_TARGET)
        self.store: S3Store | LocalStore
        if self.config.s3_url:
            self.store = S3Store(self.config.s3_url, self.config.s3_access_key, self.config.s3_secret_key,
                                 self.bucket, self.timeout)
        else:
            root = Path(self.env.get("PERSIST_LOCAL_DIR") or tempfile.mkdtemp(prefix="obsconf-persist-"))
            self.store = LocalStore(root, self.bucket)

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: Any) -> None:
        self.red.observe((method, route, str(status)), (method, route), seconds)

    async def startup(self) -> None:
        await super().startup()
        if self.env.get("PERSIST_JAEGER_ENDPOINT") and not self.config.otlp_http_url:
            self.log.warn("PERSIST_JAEGER_ENDPOINT is set but spans are exported over OTLP/HTTP only; "
                          "set OBSCONF_OTLP_HTTP_URL", endpoint=self.env["PERSIST_JAEGER_ENDPOINT"])
        port = env_int(self.env, "PERSIST_METRICS_PORT", 0)
        if port and self.tel.metrics_on:
            from prometheus_client import start_http_server

            self.serve_aside(start_http_server(port, addr="127.0.0.1", registry=self.tel.registry)[0])
        try:
            import asyncio

            await asyncio.wait_for(asyncio.to_thread(self.store.ensure_bucket), timeout=self.timeout + 1)
        except (StoreError, TimeoutError) as exc:
            self.log.warn("object store not ready at start; snapshots will fail until it is",
                          bucket=self.bucket, error=str(exc))

    async def shutdown(self) -> None:
        self.store.close()
        await super().shutdown()

    def add_routes(self, router: APIRouter) -> None:
        routes.add_routes(router, self)
