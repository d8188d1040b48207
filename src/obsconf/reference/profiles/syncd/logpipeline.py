"""syncd's log pipeline: the rotating log file, the PocketBase shipper behind a circuit breaker, the log
and upload metrics, and the WARN lines the pipeline writes about itself (never to the failing sink)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from obsconf.reference.backoff import Backoff
from obsconf.reference.breaker import CircuitBreaker
from obsconf.reference.config import env_bool, env_float, env_int
from obsconf.reference.filesink import FileSink
from obsconf.reference.pbship import PocketBaseShipper, PocketBaseSink
from obsconf.reference.rotation import RotatingFile

if TYPE_CHECKING:
    from collections.abc import Mapping

    from obsconf.reference.config import ReferenceConfig
    from obsconf.reference.logs import Sink
    from obsconf.reference.telemetry import Telemetry

TELEMETRY_TARGET = "sync_daemon::telemetry"
_BREAKER_MESSAGES = {"open": "PocketBase log upload failing; degraded to file-only logging",
                     "closed": "PocketBase log upload recovered"}  # half-open: "probing"


class LogPipelineCollector(Collector):
    """log_upload_errors_total, log_buffer_size and log_entries_dropped_total, read from the shipper."""

    def __init__(self, pipeline: LogPipeline) -> None:
        self.pipeline = pipeline

    def collect(self) -> Iterable[Any]:
        ship = self.pipeline.pb
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


class LogPipeline:
    """Mixed into the syncd profile: ``_setup_sinks`` (called from ``setup_metrics``, after the PocketBase
    metrics exist) adds the file and PocketBase sinks; the callbacks below feed the metrics and the log."""

    tel: Telemetry
    env: Mapping[str, str]
    config: ReferenceConfig
    daemon_id: str
    session_id: str
    log_entries: Any
    pb_requests: Any
    pb_duration: Any
    pb_conn_errors: Any
    _log_children: dict[tuple[str, str], Any]

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

    def _local_sinks(self) -> list[Sink]:
        """Every sink but PocketBase's: the failing sink must not be fed its own failure reports."""
        return [sink for sink in self.tel.logger.sinks if not isinstance(sink, PocketBaseSink)]

    def _pb_request(self, method: str, status: str, seconds: float) -> None:
        self.pb_requests.labels(method, status).inc()
        self.pb_duration.labels(method).observe(seconds)

    def _pb_error(self, message: str, fields: dict[str, Any]) -> None:
        self.tel.logger.log("WARN", TELEMETRY_TARGET, message, dict(fields), sinks=self._local_sinks())

    def _pb_retry(self, retry: int, max_retries: int, delay: float, exc: Exception) -> None:
        # one WARN line before each retry, like persist's "Retrying S3 operation" (seed 000 l.63-68)
        self.tel.logger.log("WARN", TELEMETRY_TARGET, "Retrying log upload", {
            "retry_attempt": retry, "max_retries": max_retries, "backoff_ms": round(delay * 1000.0),
            "error": str(exc)[:300], "buffer_size": len(self.pb) if self.pb is not None else 0}, sinks=self._local_sinks())

    def _breaker_changed(self, old: str, new: str) -> None:
        msg = _BREAKER_MESSAGES.get(new, "PocketBase log upload probing")
        self.tel.logger.log("WARN" if new == "open" else "INFO", TELEMETRY_TARGET, msg,
                            {"breaker_old": old, "breaker_state": new}, sinks=self._local_sinks())
