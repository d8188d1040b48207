"""persist (seed 000): agent snapshots saved to, loaded from and verified against an S3 object store.

Routes: ``POST /snapshots/{key}`` (save; JSON body = agent state; ``agent_id``/``session_id`` from the
query or the body), ``GET /snapshots/{key}`` (load), ``POST /snapshots/{key}/verify``. Keys may contain
``/`` (``agent/snapshot_001.json.gz``). Storage is S3 over HTTP (boto3, ``endpoint_url`` =
``OBSCONF_S3_URL``, path-style, bucket ``PERSIST_S3_BUCKET``); with no S3 URL a local directory is used
and the storage spans are ``local_file_write`` / ``local_file_read``.

Span trees (seed 000)::

    save_snapshot -> serialize_agent_state, compress_data, s3_upload -> put_object_request (one per
                     attempt), verify_upload -> head_object_request
    load_snapshot -> s3_download -> get_object_request; decompress_data
    verify_snapshot -> s3_download -> get_object_request; decompress_data, calculate_hash

Attributes: bucket, key, size_bytes, operation_type, agent_id, session_id, retry_count.
Metrics: persist_s3_requests_total / persist_s3_errors_total / persist_s3_retries_total {operation},
persist_s3_latency_seconds{operation}, persist_state_size_bytes, persist_error_rate; plus
http_requests_total{method,endpoint,status_code} and http_request_duration_seconds{method,endpoint}.
Logs (Rust ``tracing`` JSON, fields flattened): timestamp, level, target, message, the event's fields,
trace_id, span_id. Events: INFO "S3 operation completed successfully" (bucket, key, operation,
duration_ms), WARN "Retrying S3 operation due to transient error" (bucket, key, operation, retry_attempt,
max_retries, error), ERROR "S3 upload failed" / "S3 download failed" (bucket, key, operation, error,
retry_count). Errors map like the Python binding: missing key -> 404 (FileNotFoundError), access denied
-> 403 (PermissionError), anything else -> 500 (PersistError).

Env: RUST_LOG, PERSIST_LOG_FORMAT (json|pretty), PERSIST_TRACING_ENABLED, PERSIST_JAEGER_ENDPOINT
(only warned about: export is OTLP to OBSCONF_OTLP_HTTP_URL), PERSIST_METRICS_ENABLED,
PERSIST_METRICS_PORT (extra /metrics server on 127.0.0.1), PERSIST_TRACE_SAMPLE_RATE, PERSIST_S3_BUCKET,
PERSIST_MAX_RETRIES (3), PERSIST_RETRY_BASE_MS (100), PERSIST_S3_TIMEOUT_SECS (5), PERSIST_LOCAL_DIR.
"""

from __future__ import annotations

import gzip
import hashlib
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request, Response
from opentelemetry.trace import Status, StatusCode

from obsconf.reference.backoff import Backoff
from obsconf.reference.config import env_bool, env_float, env_int
from obsconf.reference.logs import LogEvent, iso_utc, parse_level
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, json_response
from obsconf.reference.retry import run_with_retries
from obsconf.reference.telemetry import TelemetrySpec

S3_TARGET = "persist_core::storage::s3"
LOCAL_TARGET = "persist_core::storage::local"
SNAPSHOT_TARGET = "persist_core::snapshot"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = tuple(float(1024 * 4**k) for k in range(10))  # 1 KiB .. 256 MiB
TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
                   "InternalError", "ServiceUnavailable", "503", "500", "502", "504"}
DENIED_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "403", "AllAccessDisabled"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_META_SAFE = " !#$&'()*+,-./:;=?@[]^_`{|}~"  # printable ASCII stays as it is in S3 metadata


_DEFAULT_MESSAGES = {
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
    "AccessDenied": "Access Denied",
}


def rust_json(ev: LogEvent) -> dict[str, Any]:
    """tracing-subscriber's JSON layer with flattened event fields."""
    rec: dict[str, Any] = {"timestamp": iso_utc(ev.time_ns, 6), "level": ev.level, "target": ev.target,
                           "message": ev.message}
    rec.update(ev.fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    return rec


class StoreError(Exception):
    """A storage call failed; ``code`` is the S3 error code (or an errno-like name for local files)."""

    def __init__(self, code: str, message: str, transient: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.transient = transient
        self.retries = 0  # retries made before giving up (set by the retry loop)


def http_status_for(code: str) -> tuple[int, str]:
    """HTTP status and Python exception name that the persist binding would raise for ``code``."""
    if code in MISSING_CODES or code == "FileNotFoundError":
        return 404, "FileNotFoundError"
    if code in DENIED_CODES or code == "PermissionError":
        return 403, "PermissionError"
    return 500, "PersistError"


def _store_error(exc: Exception) -> StoreError:
    """Translate botocore's exceptions into :class:`StoreError` (transient or not)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(err.get("Message") or _DEFAULT_MESSAGES.get(code) or exc)
        if code in ("404", "NotFound"):
            code = "NoSuchKey"
            message = _DEFAULT_MESSAGES[code]
        return StoreError(code, message, code in TRANSIENT_CODES or status >= 500 or status == 429)
    if isinstance(exc, BotoCoreError):
        # connection refused/reset, timeouts, truncated bodies: worth a retry
        return StoreError(type(exc).__name__, str(exc), True)
    return StoreError(type(exc).__name__, str(exc), False)


@dataclass
class StoredObject:
    data: bytes
    metadata: dict[str, str]


class S3Store:
    """The object store over HTTP: boto3 with ``endpoint_url`` and path-style addressing."""

    kind = "s3"

    def __init__(self, url: str, access_key: str, secret_key: str, bucket: str, timeout: float) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.url = url
        session = boto3.session.Session()  # never the process-wide default session
        self.client = session.client(
            "s3", endpoint_url=url, aws_access_key_id=access_key or "obsconf",
            aws_secret_access_key=secret_key or "obsconf", region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                          retries={"total_max_attempts": 1, "mode": "standard"},  # our loop retries
                          connect_timeout=min(2.0, timeout), read_timeout=timeout,
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - translated; anything else means "create it"
            err = _store_error(exc)
            if err.transient or err.code in DENIED_CODES:
                raise err from None
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except Exception as exc2:  # noqa: BLE001 - translated
                raise _store_error(exc2) from None

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=metadata,
                                   ContentType="application/gzip")
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise _store_error(exc) from None

    def get(self, key: str) -> StoredObject:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key)
            return StoredObject(resp["Body"].read(), dict(resp.get("Metadata") or {}))
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise _store_error(exc) from None

    def head(self, key: str) -> dict[str, Any]:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key)
            return {"size": int(resp.get("ContentLength", 0)), "metadata": dict(resp.get("Metadata") or {})}
        except Exception as exc:  # noqa: BLE001 - translated into StoreError
            raise _store_error(exc) from None

    def close(self) -> None:
        self.client.close()


class LocalStore:
    """A directory standing in for the bucket when no object store is configured."""

    kind = "local"

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = root / bucket
        self.bucket = bucket
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StoreError("AccessDenied", f"key {key!r} escapes the store", False)
        return path

    def ensure_bucket(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(path.name + ".meta").write_bytes(orjson.dumps(metadata))

    def get(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            data = path.read_bytes()
            meta = orjson.loads(path.with_name(path.name + ".meta").read_bytes())
        except FileNotFoundError:
            raise StoreError("NoSuchKey", f"no snapshot at {key}", False) from None
        except PermissionError as exc:
            raise StoreError("AccessDenied", str(exc), False) from None
        return StoredObject(data, meta)

    def head(self, key: str) -> dict[str, Any]:
        obj = self.get(key)
        return {"size": len(obj.data), "metadata": obj.metadata}

    def close(self) -> None:
        pass


class PersistProfile(ProfileBase):
    name = "persist"
    default_target = SNAPSHOT_TARGET

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        return TelemetrySpec(
            formatter=rust_json,
            log_level=parse_level(env.get("RUST_LOG"), "INFO"),
            console_pretty=(env.get("PERSIST_LOG_FORMAT") or "json").lower() == "pretty",
            tracing=env_bool(env, "PERSIST_TRACING_ENABLED", True),
            metrics=env_bool(env, "PERSIST_METRICS_ENABLED", True),
            sample_rate=env_float(env, "PERSIST_TRACE_SAMPLE_RATE", 1.0),
        )

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
        self._totals = [0, 0]  # requests, errors (for the derived error rate)
        self._totals_lock = threading.Lock()
        self.error_rate.set_function(self._error_rate)
        self.s3_log = self.tel.logger.bind(S3_TARGET)
        self.local_log = self.tel.logger.bind(LOCAL_TARGET)
        self.store: S3Store | LocalStore
        if self.config.s3_url:
            self.store = S3Store(self.config.s3_url, self.config.s3_access_key, self.config.s3_secret_key,
                                 self.bucket, self.timeout)
        else:
            root = Path(self.env.get("PERSIST_LOCAL_DIR") or tempfile.mkdtemp(prefix="obsconf-persist-"))
            self.store = LocalStore(root, self.bucket)
        self._metrics_server: Any = None

    def _error_rate(self) -> float:
        requests, errors = self._totals
        return errors / requests if requests else 0.0

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

            self._metrics_server, _ = start_http_server(port, addr="127.0.0.1", registry=self.tel.registry)
        try:
            import asyncio

            await asyncio.wait_for(asyncio.to_thread(self.store.ensure_bucket), timeout=self.timeout + 1)
        except (StoreError, TimeoutError) as exc:
            self.log.warn("object store not ready at start; snapshots will fail until it is",
                          bucket=self.bucket, error=str(exc))

    async def shutdown(self) -> None:
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.store.close()
        await super().shutdown()

    # ---- storage with retries, spans, metrics and the seed's log events ----
    def _storage_call(self, operation: str, key: str, fn: Any) -> tuple[Any, int]:
        """Run one S3 operation (``put_object``/``get_object``/``head_object``) with retries."""
        tracer = self.tel.tracer
        log = self.s3_log if self.store.kind == "s3" else self.local_log
        span_name = f"{operation}_request"

        def attempt(n: int) -> Any:
            start = time.perf_counter()
            self.s3_requests.labels(operation).inc()
            with self._totals_lock:
                self._totals[0] += 1
            with tracer.start_as_current_span(span_name, record_exception=False, set_status_on_exception=False,
                                              attributes={"bucket": self.bucket, "key": key,
                                                          "operation": operation, "retry_attempt": n}) as span:
                try:
                    result = fn()
                except StoreError as exc:
                    self.s3_errors.labels(operation).inc()
                    with self._totals_lock:
                        self._totals[1] += 1
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
                                   transient=lambda e: isinstance(e, StoreError) and e.transient,
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
                    **base, "size_bytes": len(data)}) as up:
                try:
                    _, retries = self._storage_call("put_object", key, lambda: self.store.put(key, data, meta))
                except StoreError as exc:
                    up.set_attribute("retry_count", exc.retries)
                    root.set_attribute("retry_count", exc.retries)
                    raise
                up.set_attribute("retry_count", retries)
                with tracer.start_as_current_span("verify_upload", attributes={
                        "bucket": self.bucket, "key": key, "size_bytes": len(data)}) as vspan:
                    head, _ = self._storage_call("head_object", key, lambda: self.store.head(key))
                    ok = head["size"] == len(data)
                    vspan.set_attribute("verified", ok)
                    if not ok:
                        vspan.set_status(Status(StatusCode.ERROR, "uploaded object differs"))
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
            env = orjson.loads(gzip.decompress(data))
        except (OSError, EOFError, orjson.JSONDecodeError) as exc:
            raise StoreError("CorruptSnapshot", f"not a gzip'd snapshot envelope: {exc}", False) from None
        if not isinstance(env, dict) or "agent_json" not in env or not isinstance(env.get("metadata"), dict):
            raise StoreError("CorruptSnapshot", "snapshot envelope lacks agent_json/metadata", False)
        return env

    def _fetch(self, key: str, operation: str) -> tuple[bytes, dict[str, Any], int]:
        """Download (with retries) and unpack a snapshot inside the caller's span: the agent JSON bytes, its
        metadata and how many retries the download took."""
        obj, retries = self._download(key, operation)
        with self.tel.tracer.start_as_current_span("decompress_data", attributes={"key": key,
                                                                                 "size_bytes": len(obj.data)}):
            env = self._open(obj.data)
        return env["agent_json"].encode(), env["metadata"], retries

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

    @staticmethod
    def key_problem(key: str) -> str | None:
        """Why ``key`` cannot name a snapshot (S3 keys are at most 1024 bytes; a file system takes no NUL,
        no control characters, no ``.``/``..`` component and at most 255 bytes per component), or None."""
        if not key or len(key.encode()) > 1024:
            return "a snapshot key is 1 to 1024 bytes"
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
            return "a snapshot key holds no control characters"
        parts = key.split("/")
        if any(p in ("", ".", "..") or len(p.encode()) > 255 for p in parts):
            return "a snapshot key has no empty, '.' or '..' segment and at most 255 bytes per segment"
        return None

    def _bad_key(self, key: str) -> Response | None:
        problem = self.key_problem(key)
        if problem is None:
            return None
        return json_response({"error": problem, "error_type": "ValueError"}, 400)

    def _error_response(self, exc: StoreError) -> Response:
        status, kind = http_status_for(exc.code)
        return json_response({"error": str(exc), "error_type": kind, "code": exc.code}, status=status)

    def add_routes(self, router: APIRouter) -> None:
        # verify first: "/snapshots/a/b/verify" must not be taken for a save of key "a/b/verify"
        @router.post("/snapshots/{key:path}/verify")
        def verify(key: str) -> Response:
            bad = self._bad_key(key)
            if bad is not None:
                return bad
            try:
                return json_response(self.verify(key))
            except StoreError as exc:
                return self._error_response(exc)

        @router.post("/snapshots/{key:path}")
        async def save(key: str, request: Request, agent_id: str | None = Query(None),
                       session_id: str | None = Query(None)) -> Response:
            bad = self._bad_key(key)
            if bad is not None:
                return bad
            body = await request.body()
            try:
                state = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError as exc:
                return json_response({"error": f"body is not JSON: {exc}", "error_type": "ValueError"}, 400)
            meta = state.get("metadata") if isinstance(state, dict) and isinstance(state.get("metadata"), dict) else {}
            from_body = state if isinstance(state, dict) else {}
            aid = agent_id or from_body.get("agent_id") or meta.get("agent_id") or "unknown"
            sid = session_id or from_body.get("session_id") or meta.get("session_id") or "unknown"
            if not isinstance(aid, str) or not isinstance(sid, str):  # str() would log an object's repr
                return json_response({"error": "agent_id and session_id must be strings", "error_type": "ValueError"},
                                     400)
            if any(len(v) > 256 or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v) for v in (aid, sid)):
                return json_response({"error": "agent_id and session_id are at most 256 characters, without control "
                                               "characters", "error_type": "ValueError"}, 400)
            import anyio.to_thread

            try:
                result = await anyio.to_thread.run_sync(self.save, key, state, str(aid), str(sid))
            except StoreError as exc:
                return self._error_response(exc)
            return json_response(result, status=201)

        @router.get("/snapshots/{key:path}")
        def load(key: str) -> Response:
            bad = self._bad_key(key)
            if bad is not None:
                return bad
            try:
                return json_response(self.load(key))
            except StoreError as exc:
                return self._error_response(exc)
