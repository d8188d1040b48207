"""syncd's sync jobs: request checks, then scan a source directory and copy what changed to a destination
inside the data dir, with the seed's spans (``sync_job`` -> ``scan_source``, ``copy_files``), metrics and
log events. Paths leave the daemon relative to its data dir."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Status, StatusCode

from obsconf.reference.labels import LabelGuard

if TYPE_CHECKING:
    from obsconf.reference.logs import BoundLogger
    from obsconf.reference.telemetry import Telemetry

SYNC_TARGET = "sync_daemon::sync"
MAX_CREATE = 10_000
MAX_SEED_BYTES = 64 << 20  # create_files * file_size: a request may not fill the disk
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class SyncError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


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


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


class SyncJobs:
    """Mixed into the syncd profile, which sets the attributes below in ``setup_metrics``. The job looks the
    metrics and ``self._shown`` up per call, so a patched instance (the broken target) is used."""

    tel: Telemetry
    log: BoundLogger
    data_dir: Path
    job_label: LabelGuard
    trigger_label: LabelGuard
    active_jobs: Any
    sync_ops: Any
    sync_duration: Any
    files_processed: Any
    bytes_transferred: Any
    sync_errors: Any

    def _inside(self, rel: str) -> Path:
        path = (self.data_dir / rel).resolve()
        if path != self.data_dir and self.data_dir not in path.parents:
            raise SyncError("invalid_path", f"{rel!r} is outside the data dir", 400)
        return path

    def _shown(self, path: Path) -> str:
        """A path as logs, spans and answers show it: relative to the data dir (seed l.279, path normalization
        to prevent information leakage: no absolute path of the machine leaves the daemon)."""
        return str(path.relative_to(self.data_dir)) if path != self.data_dir else "."

    def _job_failed(self, span: Any, job: str, kind: str, exc: BaseException, started: float) -> None:
        span.set_status(Status(StatusCode.ERROR, str(exc)))
        span.set_attribute("error.type", kind)
        self.sync_errors.labels(self.job_label(job), kind).inc()
        self.log.error("Sync job failed", job_name=job, error_type=kind, error=str(exc), duration_ms=_ms_since(started))

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
                        files = sorted(path for path in src.rglob("*") if path.is_file())
                        scan.set_attribute("files_found", len(files))
                    with tracer.start_as_current_span("copy_files", attributes={"files": len(files)}):
                        moved = self._copy(job, src, dst, files, counts, bool(body.get("delete_extraneous")))
                except SyncError as exc:
                    status = "failure"
                    self._job_failed(span, job, exc.error_type, exc, started)
                    raise
                except OSError as exc:
                    status = "failure"
                    kind = "permission_denied" if isinstance(exc, PermissionError) else "io_error"
                    self._job_failed(span, job, kind, exc, started)
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
            source_stat = path.stat()
            if target.exists():
                target_stat = target.stat()
                if target_stat.st_size == source_stat.st_size and target_stat.st_mtime_ns == source_stat.st_mtime_ns:
                    counts["skip"] += 1
                    self.files_processed.labels("skip").inc()
                    continue
                operation = "update"
            else:
                operation = "create"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            counts[operation] += 1
            moved += source_stat.st_size
            self.files_processed.labels(operation).inc()
            self.bytes_transferred.labels(self.job_label(job)).inc(source_stat.st_size)
            sync_log.debug("File synced", job_name=job, path=str(rel), operation=operation, bytes=source_stat.st_size)
        if delete_extraneous:
            for extra in sorted(path for path in dst.rglob("*") if path.is_file()):
                if extra.relative_to(dst) not in seen:
                    extra.unlink()
                    counts["delete"] += 1
                    self.files_processed.labels("delete").inc()
        return moved
