"""persist's snapshot operations: save (serialise, compress, upload with retries, verify), load and
verify, with the seed's span trees, S3 metrics and log events (store calls in :mod:`.store`)."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from opentelemetry.trace import Status, StatusCode

from obsconf.reference.profiles.persist.store import LocalStore, S3Store, StoredObject, StoreError
from obsconf.reference.retry import run_with_retries

if TYPE_CHECKING:
    from obsconf.reference.backoff import Backoff
    from obsconf.reference.logs import BoundLogger
    from obsconf.reference.telemetry import Telemetry

_META_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"  # printable ASCII stays as it is in S3 metadata


class ErrorTotals:
    """S3 requests and errors since start, for the derived ``persist_error_rate`` gauge."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def rate(self) -> float:
        requests, errors = self.requests, self.errors
        return errors / requests if requests else 0.0


class SnapshotOps:
    """Mixed into the persist profile, which sets the attributes below in ``setup_metrics``. The operations
    look the metrics, loggers and backoff up per call, so a patched instance (the broken target) is used."""

    tel: Telemetry
    log: BoundLogger
    s3_log: BoundLogger
    local_log: BoundLogger
    bucket: str
    backoff: Backoff
    store: S3Store | LocalStore
    s3_requests: Any
    s3_errors: Any
    s3_retries: Any
    s3_latency: Any
    state_size: Any
    error_totals: ErrorTotals

    # ---- storage with retries, spans, metrics and the seed's log events ----
    def _storage_call(self, operation: str, key: str, fn: Any) -> tuple[Any, int]:
        """Run one S3 operation (``put_object``/``get_object``/``head_object``) with retries."""
        tracer = self.tel.tracer
        log = self.s3_log if self.store.kind == "s3" else self.local_log
        span_name = f"{operation}_request"

        def attempt(n: int) -> Any:
            start = time.perf_counter()
            self.s3_requests.labels(operation).inc()
            self.error_totals.count_request()
            with tracer.start_as_current_span(span_name, record_exception=False, set_status_on_exception=False,
                                              attributes={"bucket": self.bucket, "key": key,
                                                          "operation": operation, "retry_attempt": n}) as span:
                try:
                    result = fn()
                except StoreError as exc:
                    self.s3_errors.labels(operation).inc()
                    self.error_totals.count_error()
                    self.s3_latency.labels(operation).observe(time.perf_counter() - start)
                    span.set_attribute("error.type", exc.code)
                    span.set_status(Status(StatusCode.ERROR, str(exc)))
                    raise
                elapsed = time.perf_counter() - start
                self.s3_latency.labels(operation).observe(elapsed)
                log.info("S3 operation completed successfully", bucket=self.bucket, key=key,
                         operation=operation, duration_ms=round(elapsed * 1000.0))
                return result

        def on_retry(retry: int, exc: BaseException, delay: float) -> None:
            self.s3_retries.labels(operation).inc()
            log.warn("Retrying S3 operation due to transient error", bucket=self.bucket, key=key,
                     operation=operation, retry_attempt=retry, max_retries=self.backoff.max_retries,
                     error=str(exc), backoff_ms=round(delay * 1000))

        outcome = run_with_retries(attempt, backoff=self.backoff,
                                   transient=lambda exc: isinstance(exc, StoreError) and exc.transient,
                                   on_retry=on_retry, catch=(StoreError,))
        if outcome.error is not None:
            what = {"put_object": "S3 upload failed", "get_object": "S3 download failed"}.get(
                operation, "S3 operation failed")
            log.error(what, bucket=self.bucket, key=key, operation=operation, error=str(outcome.error),
                      retry_count=outcome.retries)
            if isinstance(outcome.error, StoreError):
                outcome.error.retries = outcome.retries
            raise outcome.error
        return outcome.value, outcome.retries

    def _transfer_span(self, upload: bool) -> str:
        if self.store.kind == "s3":
            return "s3_upload" if upload else "s3_download"
        return "local_file_write" if upload else "local_file_read"

    def _download(self, key: str, op_type: str) -> tuple[StoredObject, int]:
        with self.tel.tracer.start_as_current_span(self._transfer_span(False), attributes={
                "bucket": self.bucket, "key": key, "operation_type": op_type}) as span:
            try:
                obj, retries = self._storage_call("get_object", key, lambda: self.store.get(key))
            except StoreError as exc:
                # seed l.154: retry_count on the S3 span, failed downloads included (as s3_upload does)
                span.set_attribute("retry_count", exc.retries)
                raise
            span.set_attribute("size_bytes", len(obj.data))
            span.set_attribute("retry_count", retries)
            return obj, retries

    def save(self, key: str, state: Any, agent_id: str, session_id: str) -> dict[str, Any]:
        """Serialise, compress, upload (with retries) and verify one snapshot.

        The object is gzip(JSON envelope): ``{"format": 1, "metadata": {agent_id, session_id, saved_at,
        content_sha256, size_bytes}, "agent_json": "<the state as JSON text>"}``. Keeping the metadata
        inside the object works on stores that drop S3 user metadata (rclone's local backend does).
        """
        tracer = self.tel.tracer
        started = time.perf_counter()
        base = {"bucket": self.bucket, "key": key, "operation_type": "save", "agent_id": agent_id,
                "session_id": session_id}
        with tracer.start_as_current_span("save_snapshot", attributes=base) as root:
            with tracer.start_as_current_span("serialize_agent_state", attributes={"key": key}) as span:
                raw = orjson.dumps(state)
                digest = hashlib.sha256(raw).hexdigest()
                envelope = orjson.dumps({"format": 1, "metadata": {
                    "agent_id": agent_id, "session_id": session_id, "saved_at": time.time(),
                    "content_sha256": digest, "size_bytes": len(raw)}, "agent_json": raw.decode()})
                span.set_attribute("size_bytes", len(raw))
            self.state_size.observe(len(raw))
            with tracer.start_as_current_span("compress_data", attributes={
                    "key": key, "original_size_bytes": len(envelope)}) as span:
                data = gzip.compress(envelope, compresslevel=6)
                span.set_attribute("size_bytes", len(data))
            # S3 user metadata travels as HTTP headers (US-ASCII): ids are percent-encoded there; the envelope
            # inside the object keeps them as they are
            meta = {"agent_id": quote(agent_id, safe=_META_SAFE), "session_id": quote(session_id, safe=_META_SAFE),
                    "content_sha256": digest}
            with tracer.start_as_current_span(self._transfer_span(True), attributes={
                    **base, "size_bytes": len(data)}) as upload_span:
                try:
                    _, retries = self._storage_call("put_object", key, lambda: self.store.put(key, data, meta))
                except StoreError as exc:
                    upload_span.set_attribute("retry_count", exc.retries)
                    root.set_attribute("retry_count", exc.retries)
                    raise
                upload_span.set_attribute("retry_count", retries)
                with tracer.start_as_current_span("verify_upload", attributes={
                        "bucket": self.bucket, "key": key, "size_bytes": len(data)}) as verify_span:
                    head, _ = self._storage_call("head_object", key, lambda: self.store.head(key))
                    ok = head["size"] == len(data)
                    verify_span.set_attribute("verified", ok)
                    if not ok:
                        verify_span.set_status(Status(StatusCode.ERROR, "uploaded object differs"))
                        raise StoreError("VerifyFailed", f"uploaded object {key} has size {head['size']}, "
                                         f"expected {len(data)}", False)
            root.set_attribute("size_bytes", len(raw))
            root.set_attribute("retry_count", retries)
        duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        self.log.info("Snapshot saved", bucket=self.bucket, key=key, agent_id=agent_id, session_id=session_id,
                      size_bytes=len(raw), compressed_bytes=len(data), duration_ms=duration_ms)
        return {"key": key, "bucket": self.bucket, "agent_id": agent_id, "session_id": session_id,
                "size_bytes": len(raw), "compressed_bytes": len(data), "sha256": digest, "retry_count": retries,
                "storage": self.store.kind}

    @staticmethod
    def _open(data: bytes) -> dict[str, Any]:
        """Decompress and parse an envelope; raises StoreError("CorruptSnapshot") when it is not one."""
        try:
            envelope = orjson.loads(gzip.decompress(data))
        except (OSError, EOFError, orjson.JSONDecodeError) as exc:
            raise StoreError("CorruptSnapshot", f"not a gzip'd snapshot envelope: {exc}", False) from None
        if not isinstance(envelope, dict) or "agent_json" not in envelope \
                or not isinstance(envelope.get("metadata"), dict):
            raise StoreError("CorruptSnapshot", "snapshot envelope lacks agent_json/metadata", False)
        return envelope

    def _fetch(self, key: str, operation: str) -> tuple[bytes, dict[str, Any], int]:
        """Download (with retries) and unpack a snapshot inside the caller's span: the agent JSON bytes, its
        metadata and how many retries the download took."""
        obj, retries = self._download(key, operation)
        with self.tel.tracer.start_as_current_span("decompress_data", attributes={"key": key,
                                                                                 "size_bytes": len(obj.data)}):
            envelope = self._open(obj.data)
        return envelope["agent_json"].encode(), envelope["metadata"], retries

    def load(self, key: str) -> dict[str, Any]:
        tracer = self.tel.tracer
        with tracer.start_as_current_span("load_snapshot", attributes={
                "bucket": self.bucket, "key": key, "operation_type": "load"}) as root:
            raw, meta, retries = self._fetch(key, "load")
            agent_id, session_id = str(meta.get("agent_id", "")), str(meta.get("session_id", ""))
            root.set_attributes({"size_bytes": len(raw), "agent_id": agent_id, "session_id": session_id,
                                 "retry_count": retries})
        self.state_size.observe(len(raw))
        self.log.info("Snapshot loaded", bucket=self.bucket, key=key, agent_id=agent_id, session_id=session_id,
                      size_bytes=len(raw))
        return {"key": key, "bucket": self.bucket, "agent_id": agent_id, "session_id": session_id,
                "size_bytes": len(raw), "retry_count": retries, "state": orjson.loads(raw)}

    def verify(self, key: str) -> dict[str, Any]:
        tracer = self.tel.tracer
        with tracer.start_as_current_span("verify_snapshot", attributes={
                "bucket": self.bucket, "key": key, "operation_type": "verify"}) as root:
            raw, meta, retries = self._fetch(key, "verify")
            with tracer.start_as_current_span("calculate_hash", attributes={"key": key, "size_bytes": len(raw)}):
                actual = hashlib.sha256(raw).hexdigest()
            expected = str(meta.get("content_sha256", ""))
            valid = bool(expected) and expected == actual
            root.set_attributes({"size_bytes": len(raw), "retry_count": retries, "valid": valid,
                                 "agent_id": str(meta.get("agent_id", "")),
                                 "session_id": str(meta.get("session_id", ""))})
            if not valid:
                root.set_status(Status(StatusCode.ERROR, "hash mismatch"))
        (self.log.info if valid else self.log.error)(
            "Snapshot verified" if valid else "Snapshot integrity check failed", bucket=self.bucket, key=key,
            valid=valid, expected_sha256=expected, actual_sha256=actual)
        return {"key": key, "bucket": self.bucket, "valid": valid, "sha256_expected": expected,
                "sha256_actual": actual, "size_bytes": len(raw), "retry_count": retries}
