"""aurum (seed 002): an API platform with an observability API, SLOs and structured request logs.

Routes (JSON shapes):

* ``GET /v1/observability/metrics`` - Prometheus text (same registry as ``/metrics``).
* ``GET /v1/observability/metrics/json`` - ``{"metrics": [{"name", "type", "help", "samples": [{"name",
  "labels", "value"}]}]}``.
* ``GET /v1/observability/performance`` - ``{"process": {"cpu_percent", "memory_rss_bytes", "threads",
  "open_fds", "uptime_seconds"}, "requests": {"count", "errors", "p50_ms", "p95_ms", "p99_ms"},
  "slow_query_threshold_ms"}`` (request figures over the last 10,000 requests).
* ``GET /v1/observability/traces?limit=50`` - ``{"traces": [{"trace_id", "root_span", "span_count",
  "start_time_unix_nano", "duration_ms", "status", "service"}], "total"}`` - traces this process recorded.
* ``GET /v1/observability/traces/{id}`` - ``{"trace_id", "spans": [{"trace_id", "span_id",
  "parent_span_id", "name", "kind", "start_time_unix_nano", "end_time_unix_nano", "duration_ms",
  "status", "status_message", "attributes", "events"}]}``; 404 ``{"error"}`` if unknown.
* ``POST /v1/observability/traces/{id}/export`` - body ``{"format": "otlp_json"|"json"}`` (default
  otlp_json): ``{"trace_id", "format", "data"}`` with ``data`` an OTLP/JSON ExportTraceServiceRequest.
* ``POST /v1/observability/cleanup?max_age_seconds=3600`` - ``{"removed_traces", "remaining_traces"}``.
* ``GET /v1/observability/slos`` - ``{"overall_status", "slos": [SLO]}``; ``GET .../slos/{name}`` - one SLO:
  ``{"name", "description", "objective", "target", "comparison" (">="|"<="), "unit", "current",
  "status" ("met"|"violated"|"no_data"), "error_budget_remaining", "promql"}``.
* ``GET /v1/observability/dashboard`` - a Grafana dashboard model (importable as is;
  ``?wrap=api`` gives ``{"dashboard": ..., "overwrite": true}`` for ``POST /api/dashboards/db``).
* ``GET /v1/observability/health`` - ``{"status", "components": {"metrics", "tracing", "logging", "slos",
  "performance"}, "uptime_seconds"}``; each component is ``{"status", ...details}`` ("slos" carries
  ``compliance``: {name: met|violated|no_data}).
* ``GET /v1/observability/logs/schema`` - JSON Schema (draft 2020-12) of the log line.
* ``POST /api/scenarios`` - body ``{"name", "scenario_id"?, "fail"?}``; logs component=scenario
  operation=create; spans ``scenario.create`` {scenario_id, tenant_id} -> ``db.insert`` {table=scenario,
  tenant_id, db.*}, ``cache.set`` {cache_type=scenario, key} (the seed's argument names, l.164-170).
  ``GET /api/scenarios/{id}`` (cache
  hit/miss), ``POST /api/scenarios/{id}/runs`` (body ``{"fail"?}``: scenario run success/failure).

The six SLOs: api_availability (AURUM_SLO_API_AVAILABILITY_TARGET 0.999), api_latency_p95 (ms,
AURUM_SLO_API_LATENCY_TARGET 500), scenario_creation (AURUM_SLO_SCENARIO_CREATION_TARGET 0.995),
scenario_runs (AURUM_SLO_SCENARIO_SUCCESS_TARGET 0.95), data_freshness (seconds,
AURUM_SLO_DATA_FRESHNESS_TARGET 3600), cache_hit_rate (AURUM_SLO_CACHE_HIT_RATE_TARGET 0.90).

Log line: ``timestamp, level, message, logger, request_id, tenant_id (header X-Tenant-Id),
component, operation, duration_ms`` (+ event fields, ``trace_id``, ``span_id``). Request id: header
X-Request-Id or ``req-<16 hex of the trace id>``, echoed in the response.
Metrics (prefix AURUM_METRICS_PREFIX, default ``aurum_``): requests_total{method,path,status_code,
tenant_id}, request_latency_seconds{method,path}, business_transactions_total{transaction_type,
component,status}, cache_hits_total{cache_type}, cache_misses_total{cache_type},
db_query_duration_seconds{operation,table}, db_pool_connections_in_use, db_pool_size,
data_freshness_seconds, slo_target{slo}, slo_current{slo}, slo_compliant{slo}.
Env: AURUM_LOG_LEVEL, AURUM_LOG_FORMAT (json|text), AURUM_TRACING_ENABLED, AURUM_TRACING_SAMPLE_RATE (1.0),
AURUM_TRACING_MAX_SPANS_PER_TRACE (1000), AURUM_METRICS_ENABLED, AURUM_METRICS_PREFIX, AURUM_SLO_*,
AURUM_SLOW_QUERY_THRESHOLD_MS (1000), AURUM_OBSERVABILITY_TOKEN (unset: open; set: ``/v1/observability/*`` and
``/metrics`` answer 401 without ``Authorization: Bearer <token>``, seed l.414 "Secure observability endpoints").
"""

from obsconf.reference.profiles.aurum.profile import AurumProfile

__all__ = ["AurumProfile"]
