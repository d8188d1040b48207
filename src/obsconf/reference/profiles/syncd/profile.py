"""The syncd profile: its log line, telemetry settings, daemon metrics, start-up migration, the guarded
``/metrics``, its status and routes (sync jobs in :mod:`.jobs`, log pipeline in :mod:`.logpipeline`)."""

from __future__ import annotations

import hmac
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
from fastapi import APIRouter, Query, Request, Response

from obsconf.reference.config import env_bool, env_float
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import LEVELS, LogEvent, iso_utc, parse_level
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, json_response
from obsconf.reference.profiles.syncd.jobs import SyncError, SyncJobs, validate
from obsconf.reference.profiles.syncd.logpipeline import LogPipeline, LogPipelineCollector
from obsconf.reference.profiles.syncd.migration import migrate_log_collection
from obsconf.reference.ratelimit import TokenBucket
from obsconf.reference.shipping import ShipperStats
from obsconf.reference.telemetry import TelemetrySpec

DAEMON_TARGET = "sync_daemon::daemon"
MAX_EMIT = 100_000
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _shipper_status(pb: ShipperStats | None) -> dict[str, Any]:
    """The PocketBase shipper's part of ``/telemetry/status`` (zeros and "disabled" without one)."""
    if pb is None:
        return {"breaker_state": "disabled", "buffer_size": 0, "buffer_max": 0, "dropped": 0, "dropped_overflow": 0,
                "shipped": 0, "send_errors": 0, "degraded": False}
    return {
        "breaker_state": pb.breaker_state,
        "buffer_size": pb.buffer_size,
        "buffer_max": pb.buffer_max,
        "dropped": pb.dropped_overflow + pb.dropped_rejected + pb.dropped_shutdown,
        "dropped_overflow": pb.dropped_overflow,
        "shipped": pb.shipped,
        "send_errors": pb.send_errors,
        "degraded": pb.breaker_state != "closed",
    }


class SyncdProfile(SyncJobs, LogPipeline, ProfileBase):
    name = "syncd"
    default_target = DAEMON_TARGET

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        self.daemon_id = env.get("SYNCD_DAEMON_ID") or str(uuid.uuid4())
        self.session_id = env.get("SYNCD_SESSION_ID") or str(uuid.uuid4())
        daemon_id, session_id = self.daemon_id, self.session_id

        def syncd_json(ev: LogEvent) -> dict[str, Any]:
            rec: dict[str, Any] = {"timestamp": iso_utc(ev.time_ns), "level": ev.level, "target": ev.target,
                                   "message": ev.message, "fields": ev.fields, "daemon_id": daemon_id,
                                   "session_id": session_id}
            if ev.trace_id:
                rec["trace_id"] = ev.trace_id
                rec["span_id"] = ev.span_id
            return rec

        return TelemetrySpec(
            formatter=syncd_json,
            log_level=parse_level(env.get("SYNCD_LOG_LEVEL"), "INFO"),
            console=env_bool(env, "SYNCD_CONSOLE_LOGGING", True),
            console_pretty=not env_bool(env, "SYNCD_JSON_LOGGING", True),
            metrics=env_bool(env, "SYNCD_METRICS_ENABLED", True),
            want_caller=True,
        )

    def access_target(self) -> str:
        return "sync_daemon::http"

    def setup_metrics(self) -> None:
        tel, env = self.tel, self.env
        self.started = time.time()
        self.proc = psutil.Process()
        self.proc.cpu_percent(None)  # prime: the first reading is always 0
        self.red = RedMetrics(tel, "http_requests_total", "http_request_duration_seconds")
        self.sync_ops = tel.counter("sync_operations_total", "Total sync operations by job ID, status and trigger",
                                    ["job_id", "status", "trigger"])
        self.sync_duration = tel.histogram("sync_operations_duration_seconds", "Sync operation durations",
                                           ["job_id"], buckets=DURATION_BUCKETS)
        self.files_processed = tel.counter("sync_files_processed_total", "Files processed by operation type",
                                           ["operation"])
        self.bytes_transferred = tel.counter("sync_bytes_transferred_total", "Bytes transferred by sync jobs",
                                             ["job_id"])
        self.sync_errors = tel.counter("sync_errors_total", "Sync errors by type and job", ["job_id", "error_type"])
        tel.gauge("daemon_uptime_seconds", "Daemon uptime in seconds").set_function(
            lambda: time.time() - self.started)
        tel.gauge("daemon_memory_usage_bytes", "Resident memory of the daemon").set_function(
            lambda: float(self.proc.memory_info().rss))
        tel.gauge("daemon_cpu_usage_percent", "CPU utilisation of the daemon since the last scrape").set_function(
            lambda: float(self.proc.cpu_percent(None)))
        self.active_jobs = tel.gauge("active_sync_jobs", "Currently running sync operations")
        self.watchers = tel.gauge("file_watchers_active", "Number of active file watchers")
        self.watchers.set(0)  # the reference runs jobs on request only; the gauge exists with its default
        self.pb_requests = tel.counter("pocketbase_requests_total", "PocketBase API requests by method and status",
                                       ["method", "status"])
        self.pb_duration = tel.histogram("pocketbase_request_duration_seconds", "PocketBase request timing",
                                         ["method"])
        self.pb_conn_errors = tel.counter("pocketbase_connection_errors_total", "PocketBase connection failures")
        self.log_entries = tel.counter("log_entries_total", "Log entries by level and target", ["level", "target"])
        self._log_children: dict[tuple[str, str], Any] = {}

        # job names (from the path) and triggers (from the body) are label values: bounded, redacted
        self.job_label = LabelGuard(tel.redactor, max_values=200, max_len=128)
        self.trigger_label = LabelGuard(tel.redactor, max_values=20)
        self.data_dir = Path(env.get("SYNCD_DATA_DIR") or tempfile.mkdtemp(prefix="obsconf-syncd-")).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_token = env.get("SYNCD_METRICS_AUTH_TOKEN", "")
        self.metrics_limit = TokenBucket(env_float(env, "SYNCD_METRICS_RATE_LIMIT_PER_SEC", 50.0),
                                         env_float(env, "SYNCD_METRICS_RATE_LIMIT_BURST", 100.0))
        self._setup_sinks()
        if tel.metrics_on:
            tel.logger.on_emit = self._count_log
            tel.registry.register(LogPipelineCollector(self))

    async def startup(self) -> None:
        # the seed's migration first, so the shipper's first batch finds the collection
        cfg = self.config
        if self.pb is not None and cfg.pocketbase_admin_email:
            import asyncio

            collection = self.env.get("SYNCD_POCKETBASE_COLLECTION") or "daemon_logs"
            try:
                outcome = await asyncio.to_thread(migrate_log_collection, cfg.pocketbase_url,
                                                  cfg.pocketbase_admin_email, cfg.pocketbase_admin_password, collection)
            except OSError as exc:  # requests' errors are OSErrors: PocketBase unreachable at start
                outcome = f"unreachable ({type(exc).__name__})"
            if outcome not in ("exists", "created"):
                self.log.warn("PocketBase log collection could not be migrated", collection=collection, outcome=outcome)
        await super().startup()

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: Any) -> None:
        self.red.observe((method, route, str(status)), (method, route), seconds)

    # ---- /metrics with optional auth and rate limiting ----
    def metrics_response(self, request: Request) -> Response:
        if self.metrics_token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.metrics_token}".encode()):
                return json_response({"error": "metrics require Authorization: Bearer <token>"}, 401,
                                     headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        if not self.metrics_limit.allow():
            return json_response({"error": "metrics rate limit exceeded"}, 429,
                                 headers={"Retry-After": str(max(1, round(self.metrics_limit.retry_after())))})
        return super().metrics_response(request)

    def status(self) -> dict[str, Any]:
        base = super().status()
        base.update({
            "daemon_id": self.daemon_id,
            "session_id": self.session_id,
            "pocketbase_enabled": self.pb is not None,
            "file_logging": str(self.file_path) if self.file_path else None,
        })
        base.update(_shipper_status(self.pb.stats() if self.pb is not None else None))
        return base

    def add_routes(self, router: APIRouter) -> None:
        @router.post("/sync/jobs/{job_name}")
        async def sync_job(job_name: str, request: Request) -> Response:
            import anyio.to_thread
            import orjson

            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError as exc:
                return json_response({"error": f"body is not JSON: {exc}"}, 400)
            if not isinstance(body, dict):
                return json_response({"error": "body must be a JSON object"}, 400)
            try:
                validate(job_name, body)
                result = await anyio.to_thread.run_sync(self.run_job, job_name, body)
            except SyncError as exc:
                return json_response({"job_name": job_name, "status": "failure", "error_type": exc.error_type,
                                      "error": str(exc)}, exc.status)
            return json_response(result)

        @router.post("/logs/emit")
        async def emit(n: int = Query(1, ge=0, le=MAX_EMIT), level: str = Query("INFO"),
                       tag: str = Query("")) -> Response:
            lvl = parse_level(level, "")
            if lvl not in LEVELS:
                return json_response({"error": f"level {level!r}: use one of {list(LEVELS)}"}, 400)
            emit_log = self.tel.logger.bind("sync_daemon::emit")
            for seq in range(n):
                emit_log.log(lvl, f"synthetic log line {seq}", seq=seq, tag=tag)
            return json_response({"emitted": n, "level": lvl, "tag": tag})

        @router.get("/telemetry/status")
        async def telemetry_status() -> Response:
            return json_response(self.status())
