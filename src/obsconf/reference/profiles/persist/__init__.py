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

from obsconf.reference.profiles.persist.profile import PersistProfile

__all__ = ["PersistProfile"]
