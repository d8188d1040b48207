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

from obsconf.reference.profiles.syncd.profile import SyncdProfile

__all__ = ["SyncdProfile"]
