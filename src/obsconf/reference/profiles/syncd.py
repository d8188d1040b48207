"""syncd (seed 001): a sync daemon running sync jobs over local directories, logging to a rotating file
and to PocketBase's ``daemon_logs`` collection.

Routes: ``POST /sync/jobs/{job_name}`` (body, all optional: ``source``, ``destination`` - relative to the
data dir -, ``trigger`` (manual), ``create_files`` (seed N files in the source first), ``file_size``,
``delete_extraneous``); ``POST /logs/emit?n=N&level=INFO&tag=T`` (N numbered lines, field ``seq``);
``GET /telemetry/status`` (breaker state, buffer size/max, dropped, shipped, send errors, degraded);
``GET /metrics`` guarded by an optional bearer token and a token-bucket rate limit.

Log line (JSON, seed 001): ``timestamp, level, target, message, fields{...}, daemon_id, session_id``
plus ``trace_id``/``span_id`` inside requests. PocketBase records: timestamp, level, message, target,
module_path, file, line, fields, daemon_id, session_id (``fields`` also carries trace_id/span_id).

Metrics: sync_operations_total{job_id,status,trigger}, sync_operations_duration_seconds{job_id},
sync_files_processed_total{operation}, sync_bytes_transferred_total{job_id},
sync_errors_total{job_id,error_type}; daemon_uptime_seconds, daemon_memory_usage_bytes,
daemon_cpu_usage_percent, active_sync_jobs, file_watchers_active; pocketbase_requests_total{method,status},
pocketbase_request_duration_seconds{method}, pocketbase_connection_errors_total; log_entries_total{level,
target}, log_upload_errors_total, log_buffer_size, log_entries_dropped_total{reason}; plus
http_requests_total{method,endpoint,status_code}, http_request_duration_seconds{method,endpoint}.

Env (``[telemetry]`` keys of seed 001, prefixed ``SYNCD_``): SYNCD_LOG_LEVEL (info), SYNCD_JSON_LOGGING
(true), SYNCD_CONSOLE_LOGGING (true), SYNCD_LOG_FILE_PATH (default ``$OBSCONF_LOG_DIR/daemon.log``, no file
when neither is set), SYNCD_LOG_ROTATION_ENABLED (true), SYNCD_LOG_ROTATION_FREQUENCY (daily|hourly),
SYNCD_LOG_ROTATION_KEEP_FILES (7), SYNCD_LOG_ROTATION_MAX_SIZE_MB (100), SYNCD_LOG_ROTATION_COMPRESS (true),
SYNCD_POCKETBASE_LOGGING_ENABLED (true; needs OBSCONF_POCKETBASE_URL), SYNCD_POCKETBASE_COLLECTION
(daemon_logs), SYNCD_POCKETBASE_BATCH_SIZE (100), SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS (30; fractions ok),
SYNCD_POCKETBASE_MAX_RETRIES (3), SYNCD_POCKETBASE_RETRY_BASE_MS (100), SYNCD_LOG_BUFFER_MAX_ENTRIES (10000), SYNCD_BREAKER_FAILURE_THRESHOLD (5),
SYNCD_BREAKER_RESET_SECS (30), SYNCD_METRICS_ENABLED (true), SYNCD_METRICS_AUTH_TOKEN (unset = no auth),
SYNCD_METRICS_RATE_LIMIT_PER_SEC (50; 0 = unlimited), SYNCD_METRICS_RATE_LIMIT_BURST (100),
SYNCD_DAEMON_ID / SYNCD_SESSION_ID (default: fresh UUIDs), SYNCD_DATA_DIR (default: a temp dir).
"""

from __future__ import annotations

import hmac
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
from fastapi import APIRouter, Query, Request, Response
from opentelemetry.trace import Status, StatusCode
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from obsconf.reference.backoff import Backoff
from obsconf.reference.breaker import CircuitBreaker
from obsconf.reference.config import env_bool, env_float, env_int
from obsconf.reference.filesink import FileSink
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import LEVELS, LogEvent, iso_utc, parse_level
from obsconf.reference.pbship import PocketBaseShipper, PocketBaseSink
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, json_response
from obsconf.reference.ratelimit import TokenBucket
from obsconf.reference.rotation import RotatingFile
from obsconf.reference.telemetry import TelemetrySpec

DAEMON_TARGET = "sync_daemon::daemon"
SYNC_TARGET = "sync_daemon::sync"
TELEMETRY_TARGET = "sync_daemon::telemetry"
MAX_EMIT = 100_000
MAX_CREATE = 10_000
MAX_SEED_BYTES = 64 << 20  # create_files * file_size: a request may not fill the disk
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SyncError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


class _LogPipelineCollector(Collector):
    """log_upload_errors_total, log_buffer_size and log_entries_dropped_total, read from the shipper."""

    def __init__(self, profile: SyncdProfile) -> None:
        self.profile = profile

    def collect(self) -> Iterable[Any]:
        ship = self.profile.pb
        upload = CounterMetricFamily("log_upload_errors", "Failed log upload attempts to PocketBase")
        upload.add_metric([], ship.send_errors if ship is not None else 0)
        buf = GaugeMetricFamily("log_buffer_size", "Log entries buffered for upload to PocketBase")
        buf.add_metric([], len(ship) if ship is not None else 0)
        dropped = CounterMetricFamily("log_entries_dropped", "Log entries never uploaded, by reason",
                                      labels=["reason"])
        dropped.add_metric(["overflow"], ship.dropped_overflow if ship is not None else 0)
        dropped.add_metric(["rejected"], ship.dropped_rejected if ship is not None else 0)
        dropped.add_metric(["shutdown"], ship.dropped_shutdown if ship is not None else 0)
        yield from (upload, buf, dropped)


# The seed's migration (l.182-245, pb_migrations/sync_daemon_logs.js) in PocketBase 0.23+'s collection format:
# the daemon creates its log collection, fields and indexes itself when it is missing.
DAEMON_LOGS_MIGRATION: dict[str, Any] = {
    "type": "base",
    "fields": [
        {"name": "timestamp", "type": "date", "required": True},
        {"name": "level", "type": "select", "values": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], "maxSelect": 1,
         "required": True},
        {"name": "message", "type": "text", "required": True},
        {"name": "target", "type": "text"},
        {"name": "module_path", "type": "text"},
        {"name": "file", "type": "text"},
        {"name": "line", "type": "number"},
        {"name": "fields", "type": "json"},
        {"name": "daemon_id", "type": "text", "required": True},
        {"name": "session_id", "type": "text", "required": True},
    ],
    "index_columns": ("timestamp", "level", "daemon_id", "session_id"),
}


def migrate_log_collection(url: str, email: str, password: str, name: str, timeout: float = 5.0) -> str:
    """Create collection ``name`` with the seed's fields and indexes unless it exists; returns what happened."""
    import requests

    http = requests.Session()
    auth = http.post(f"{url}/api/collections/_superusers/auth-with-password",
                     json={"identity": email, "password": password}, timeout=timeout)
    if auth.status_code != 200:
        return f"superuser login refused ({auth.status_code})"
    headers = {"Authorization": auth.json()["token"]}
    if http.get(f"{url}/api/collections/{name}", headers=headers, timeout=timeout).status_code == 200:
        return "exists"
    body = {"name": name, "type": DAEMON_LOGS_MIGRATION["type"], "fields": DAEMON_LOGS_MIGRATION["fields"],
            "indexes": [f"CREATE INDEX idx_{name}_{col} ON {name} ({col})"
                        for col in DAEMON_LOGS_MIGRATION["index_columns"]]}
    resp = http.post(f"{url}/api/collections", json=body, headers=headers, timeout=timeout)
    return "created" if resp.status_code < 300 else f"refused ({resp.status_code} {resp.text[:200]})"


class SyncdProfile(ProfileBase):
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
            tel.registry.register(_LogPipelineCollector(self))

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

    def _count_log(self, level: str, target: str) -> None:
        child = self._log_children.get((level, target))
        if child is None:
            child = self._log_children[(level, target)] = self.log_entries.labels(level, target)
        child.inc()

    def _setup_sinks(self) -> None:
        env, tel, cfg = self.env, self.tel, self.config
        self.file_path: Path | None = None
        self.pb: PocketBaseShipper | None = None
        if not tel.enabled:
            return
        path = env.get("SYNCD_LOG_FILE_PATH") or (str(cfg.log_dir / "daemon.log") if cfg.log_dir else "")
        if path:
            rotating = env_bool(env, "SYNCD_LOG_ROTATION_ENABLED", True)
            self.file_path = Path(path)
            rfile = RotatingFile(
                self.file_path,
                frequency=(env.get("SYNCD_LOG_ROTATION_FREQUENCY") or "daily") if rotating else "never",
                keep_files=env_int(env, "SYNCD_LOG_ROTATION_KEEP_FILES", 7),
                max_size_mb=env_float(env, "SYNCD_LOG_ROTATION_MAX_SIZE_MB", 100.0) if rotating else 0.0,
                compress=env_bool(env, "SYNCD_LOG_ROTATION_COMPRESS", True),
            )
            self.file_sink = FileSink(rfile)
            tel.logger.add_sink(self.file_sink)
            tel.closers.append(self.file_sink.close)
        if cfg.pocketbase_url and env_bool(env, "SYNCD_POCKETBASE_LOGGING_ENABLED", True):
            breaker = CircuitBreaker(env_int(env, "SYNCD_BREAKER_FAILURE_THRESHOLD", 5),
                                     env_float(env, "SYNCD_BREAKER_RESET_SECS", 30.0),
                                     on_change=self._breaker_changed)
            self.pb = PocketBaseShipper(
                cfg.pocketbase_url, cfg.pocketbase_admin_email, cfg.pocketbase_admin_password,
                collection=env.get("SYNCD_POCKETBASE_COLLECTION") or "daemon_logs",
                batch_size=env_int(env, "SYNCD_POCKETBASE_BATCH_SIZE", 100),
                flush_interval=max(0.01, env_float(env, "SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS", 30.0)),
                buffer_max=env_int(env, "SYNCD_LOG_BUFFER_MAX_ENTRIES", 10000),
                # seed l.31/l.251 "exponential backoff": 100 ms x 2^(n-1), jitter within 20% of each delay
                backoff=Backoff(base=env_float(env, "SYNCD_POCKETBASE_RETRY_BASE_MS", 100.0) / 1000.0, factor=2.0,
                                max_delay=10.0, max_retries=env_int(env, "SYNCD_POCKETBASE_MAX_RETRIES", 3),
                                jitter=0.2),
                breaker=breaker,
                on_request=self._pb_request,
                on_connection_error=self.pb_conn_errors.inc,
                on_error=self._pb_error,
                on_retry=self._pb_retry,
                read_timeout=cfg.logs_http_timeout,
            )
            tel.add_shipper(self.pb)
            tel.logger.add_sink(PocketBaseSink(self.pb, self.daemon_id, self.session_id))

    def _pb_request(self, method: str, status: str, seconds: float) -> None:
        self.pb_requests.labels(method, status).inc()
        self.pb_duration.labels(method).observe(seconds)

    def _pb_error(self, message: str, fields: dict[str, Any]) -> None:
        # to stdout and the file only: the failing sink must not be fed its own failure reports
        sinks = [s for s in self.tel.logger.sinks if not isinstance(s, PocketBaseSink)]
        self.tel.logger.log("WARN", TELEMETRY_TARGET, message, dict(fields), sinks=sinks)

    def _pb_retry(self, retry: int, max_retries: int, delay: float, exc: Exception) -> None:
        # one WARN line before each retry, like persist's "Retrying S3 operation" (seed 000 l.63-68); not
        # to the PocketBase sink, which is the one failing
        sinks = [s for s in self.tel.logger.sinks if not isinstance(s, PocketBaseSink)]
        self.tel.logger.log("WARN", TELEMETRY_TARGET, "Retrying log upload", {
            "retry_attempt": retry, "max_retries": max_retries, "backoff_ms": round(delay * 1000.0),
            "error": str(exc)[:300], "buffer_size": len(self.pb) if self.pb is not None else 0}, sinks=sinks)

    def _breaker_changed(self, old: str, new: str) -> None:
        sinks = [s for s in self.tel.logger.sinks if not isinstance(s, PocketBaseSink)]
        if new == "open":
            msg = "PocketBase log upload failing; degraded to file-only logging"
        elif new == "closed":
            msg = "PocketBase log upload recovered"
        else:
            msg = "PocketBase log upload probing"
        self.tel.logger.log("WARN" if new == "open" else "INFO", TELEMETRY_TARGET, msg,
                            {"breaker_old": old, "breaker_state": new}, sinks=sinks)

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

    # ---- sync jobs ----
    @staticmethod
    def validate(job: str, body: dict[str, Any]) -> None:
        """Refuse (400) what would otherwise fail deep inside a job as a 500: odd job names, paths the file
        system cannot hold, non-integer counts and seeds that would fill the disk."""
        if not JOB_NAME.fullmatch(job):
            raise SyncError("invalid_request", "job name must be 1-128 characters of A-Z a-z 0-9 . _ - "
                            "starting with a letter or digit", 400)
        for key in ("source", "destination", "trigger"):
            value = body.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or "\x00" in value or len(value) > 1024 \
                    or any(len(part.encode()) > 255 for part in value.split("/")):
                raise SyncError("invalid_request", f"{key} must be a path-like string (no NUL, at most 1024 "
                                "characters, 255 bytes per path component)", 400)
        counts = {}
        for key, default in (("create_files", 0), ("file_size", 1024)):
            value = body.get(key, default)
            if value is None:
                value = default
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SyncError("invalid_request", f"{key} must be a non-negative integer", 400)
            counts[key] = value
        if min(counts["create_files"], MAX_CREATE) * min(counts["file_size"], 1 << 20) > MAX_SEED_BYTES:
            raise SyncError("invalid_request", f"create_files * file_size exceeds {MAX_SEED_BYTES >> 20} MiB", 400)

    def _inside(self, rel: str) -> Path:
        path = (self.data_dir / rel).resolve()
        if path != self.data_dir and self.data_dir not in path.parents:
            raise SyncError("invalid_path", f"{rel!r} is outside the data dir", 400)
        return path

    def _shown(self, path: Path) -> str:
        """A path as logs, spans and answers show it: relative to the data dir (seed l.279, path normalization
        to prevent information leakage: no absolute path of the machine leaves the daemon)."""
        return str(path.relative_to(self.data_dir)) if path != self.data_dir else "."

    def run_job(self, job: str, body: dict[str, Any]) -> dict[str, Any]:
        trigger = str(body.get("trigger") or "manual")
        src = self._inside(str(body.get("source") or f"{job}/source"))
        dst = self._inside(str(body.get("destination") or f"{job}/destination"))
        shown_src, shown_dst = self._shown(src), self._shown(dst)
        tracer = self.tel.tracer
        started = time.perf_counter()
        self.active_jobs.inc()
        counts = {"create": 0, "update": 0, "skip": 0, "delete": 0}
        moved = 0
        status = "success"
        try:
            # span fields named as the job's log fields (seed l.131-136: job_name ...), as Rust's tracing
            # records a span's fields
            with tracer.start_as_current_span("sync_job", attributes={
                    "job_name": job, "trigger": trigger, "source": shown_src,
                    "destination": shown_dst}) as span:
                self.log.info("Sync job started", job_name=job, trigger=trigger, source=shown_src,
                              destination=shown_dst)
                try:
                    if int(body.get("create_files") or 0):
                        self._seed(src, min(int(body["create_files"]), MAX_CREATE), int(body.get("file_size") or 1024))
                    with tracer.start_as_current_span("scan_source", attributes={"sync.source": shown_src}) as scan:
                        if not src.is_dir():
                            raise SyncError("source_not_found", f"source directory {shown_src} does not exist", 404)
                        files = sorted(p for p in src.rglob("*") if p.is_file())
                        scan.set_attribute("files_found", len(files))
                    with tracer.start_as_current_span("copy_files", attributes={"files": len(files)}):
                        moved = self._copy(job, src, dst, files, counts, bool(body.get("delete_extraneous")))
                except SyncError as exc:
                    status = "failure"
                    span.set_status(Status(StatusCode.ERROR, str(exc)))
                    span.set_attribute("error.type", exc.error_type)
                    self.sync_errors.labels(self.job_label(job), exc.error_type).inc()
                    self.log.error("Sync job failed", job_name=job, error_type=exc.error_type, error=str(exc),
                                   duration_ms=round((time.perf_counter() - started) * 1000.0, 3))
                    raise
                except OSError as exc:
                    status = "failure"
                    kind = "permission_denied" if isinstance(exc, PermissionError) else "io_error"
                    span.set_status(Status(StatusCode.ERROR, str(exc)))
                    span.set_attribute("error.type", kind)
                    self.sync_errors.labels(self.job_label(job), kind).inc()
                    self.log.error("Sync job failed", job_name=job, error_type=kind, error=str(exc),
                                   duration_ms=round((time.perf_counter() - started) * 1000.0, 3))
                    raise SyncError(kind, str(exc)) from exc
                processed = counts["create"] + counts["update"] + counts["delete"]
                span.set_attributes({"files_processed": processed, "bytes_transferred": moved})
        finally:
            elapsed = time.perf_counter() - started
            self.active_jobs.dec()
            self.sync_ops.labels(self.job_label(job), status, self.trigger_label(trigger)).inc()
            self.sync_duration.labels(self.job_label(job)).observe(elapsed)
        duration_ms = round(elapsed * 1000.0, 3)
        self.log.info("Sync job completed successfully", job_name=job, duration_ms=duration_ms,
                      files_processed=processed, bytes_transferred=moved,
                      success_rate=100.0)  # every file was copied or skipped: a failure raised above
        return {"job_name": job, "status": status, "trigger": trigger, "duration_ms": duration_ms,
                "files_processed": processed, "bytes_transferred": moved, "operations": counts,
                "source": shown_src, "destination": shown_dst}

    @staticmethod
    def _seed(src: Path, count: int, size: int) -> None:
        src.mkdir(parents=True, exist_ok=True)
        block = os.urandom(max(0, min(size, 1 << 20)))
        for i in range(count):
            (src / f"file_{i:05d}.bin").write_bytes(block)

    def _copy(self, job: str, src: Path, dst: Path, files: list[Path], counts: dict[str, int],
              delete_extraneous: bool) -> int:
        moved = 0
        dst.mkdir(parents=True, exist_ok=True)
        seen = set()
        sync_log = self.tel.logger.bind(SYNC_TARGET)
        for path in files:
            rel = path.relative_to(src)
            seen.add(rel)
            target = dst / rel
            st = path.stat()
            if target.exists():
                tst = target.stat()
                if tst.st_size == st.st_size and tst.st_mtime_ns == st.st_mtime_ns:
                    counts["skip"] += 1
                    self.files_processed.labels("skip").inc()
                    continue
                op = "update"
            else:
                op = "create"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            counts[op] += 1
            moved += st.st_size
            self.files_processed.labels(op).inc()
            self.bytes_transferred.labels(self.job_label(job)).inc(st.st_size)
            sync_log.debug("File synced", job_name=job, path=str(rel), operation=op, bytes=st.st_size)
        if delete_extraneous:
            for extra in sorted(p for p in dst.rglob("*") if p.is_file()):
                if extra.relative_to(dst) not in seen:
                    extra.unlink()
                    counts["delete"] += 1
                    self.files_processed.labels("delete").inc()
        return moved

    def status(self) -> dict[str, Any]:
        base = super().status()
        pb = self.pb.stats() if self.pb is not None else None
        base.update({
            "daemon_id": self.daemon_id,
            "session_id": self.session_id,
            "pocketbase_enabled": self.pb is not None,
            "file_logging": str(self.file_path) if self.file_path else None,
            "breaker_state": pb.breaker_state  if pb is not None else "disabled",
            "buffer_size": pb.buffer_size  if pb is not None else 0,
            "buffer_max": pb.buffer_max  if pb is not None else 0,
            "dropped": (pb.dropped_overflow + pb.dropped_rejected + pb.dropped_shutdown)  if pb is not None else 0,
            "dropped_overflow": pb.dropped_overflow  if pb is not None else 0,
            "shipped": pb.shipped  if pb is not None else 0,
            "send_errors": pb.send_errors  if pb is not None else 0,
            "degraded": bool(pb is not None and pb.breaker_state != "closed"),
        })
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
                self.validate(job_name, body)
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
