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

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import psutil
from fastapi import APIRouter, Query, Request, Response
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from obsconf.reference.auth import AuthRule
from obsconf.reference.config import env_bool, env_float, env_int
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import LogEvent, RequestContext, iso_utc, parse_level
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, json_response
from obsconf.reference.spanstore import SpanStore, otlp_json
from obsconf.reference.telemetry import TelemetrySpec

ENV_OBSERVABILITY_TOKEN = "AURUM_OBSERVABILITY_TOKEN"  # set: /v1/observability/* and /metrics need it as bearer
_PY_LEVELS = {"TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING", "ERROR": "ERROR"}


def aurum_json(ev: LogEvent) -> dict[str, Any]:
    fields = dict(ev.fields)
    req = ev.request
    rec: dict[str, Any] = {
        "timestamp": iso_utc(ev.time_ns),
        "level": _PY_LEVELS[ev.level],
        "message": ev.message,
        "logger": ev.target,
        "request_id": req.request_id if req else None,
        "tenant_id": req.tenant_id if req else None,
        "component": fields.pop("component", None),
        "operation": fields.pop("operation", None),
    }
    if "duration_ms" in fields:
        rec["duration_ms"] = fields.pop("duration_ms")
    rec.update(fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    return rec


LOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "aurum structured log line",
    "type": "object",
    "required": ["timestamp", "level", "message", "request_id", "tenant_id", "component", "operation"],
    "properties": {
        "timestamp": {"type": "string", "format": "date-time"},
        "level": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]},
        "message": {"type": "string"},
        "logger": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "tenant_id": {"type": ["string", "null"]},
        "component": {"type": ["string", "null"]},
        "operation": {"type": ["string", "null"]},
        "duration_ms": {"type": "number", "minimum": 0},
        "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "span_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    },
    "additionalProperties": True,
}


@dataclass(frozen=True)
class Slo:
    name: str
    description: str
    objective: str
    target: float
    comparison: str  # ">=" (ratio must reach target) or "<=" (value must stay under target)
    unit: str
    promql: str


def slo_status(current: float | None, target: float, comparison: str) -> str:
    """``met`` / ``violated`` / ``no_data`` for one SLO."""
    if current is None:
        return "no_data"
    ok = current >= target if comparison == ">=" else current <= target
    return "met" if ok else "violated"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


class _SloCollector(Collector):
    def __init__(self, profile: AurumProfile) -> None:
        self.profile = profile

    def collect(self) -> Iterable[Any]:
        p = self.profile.prefix
        target = GaugeMetricFamily(f"{p}slo_target", "SLO target", labels=["slo"])
        current = GaugeMetricFamily(f"{p}slo_current", "Current SLI value", labels=["slo"])
        compliant = GaugeMetricFamily(f"{p}slo_compliant", "1 when the SLO is met, 0 when violated",
                                      labels=["slo"])
        for item in self.profile.slo_report():
            target.add_metric([item["name"]], item["target"])
            if item["current"] is not None:
                current.add_metric([item["name"]], item["current"])
                compliant.add_metric([item["name"]], 1.0 if item["status"] == "met" else 0.0)
        yield from (target, current, compliant)


class AurumProfile(ProfileBase):
    name = "aurum"
    default_target = "aurum.api"
    # Prometheus scrapes /v1/observability/metrics (seed l.108) every second: scrapes go untraced, like /metrics
    scrape_paths = frozenset({"/metrics", "/v1/observability/metrics"})

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        self.store = SpanStore(self._redactor_for_store(),
                               max_spans_per_trace=env_int(env, "AURUM_TRACING_MAX_SPANS_PER_TRACE", 1000))
        return TelemetrySpec(
            formatter=aurum_json,
            log_level=parse_level(env.get("AURUM_LOG_LEVEL"), "INFO"),
            console_pretty=(env.get("AURUM_LOG_FORMAT") or "json").lower() != "json",
            tracing=env_bool(env, "AURUM_TRACING_ENABLED", True),
            metrics=env_bool(env, "AURUM_METRICS_ENABLED", True),
            sample_rate=env_float(env, "AURUM_TRACING_SAMPLE_RATE", 1.0),
            extra_processors=(self.store,),
        )

    @staticmethod
    def _redactor_for_store() -> Any:
        from obsconf.reference.redact import Redactor

        return Redactor()

    def access_target(self) -> str:
        return "aurum.api.access"

    def auth_rules(self) -> list[AuthRule]:
        # seed 002 l.414 "Access Control: Secure observability endpoints": the observability API and the
        # scrape path it mirrors take AURUM_OBSERVABILITY_TOKEN when it is set
        token = self.env.get(ENV_OBSERVABILITY_TOKEN, "")
        return [*super().auth_rules(), AuthRule(token, ("/v1/observability/", *sorted(self.scrape_paths)))]

    def access_log(self, method: str, route: str, status: int, duration_ms: float, ctx: RequestContext,
                   error: BaseException | None) -> None:
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        fields: dict[str, Any] = {"component": "api", "operation": "request", "duration_ms": round(duration_ms, 3),
                                  "method": method, "path": route, "status_code": status}
        if error is not None:
            from obsconf.reference.profiles.base import stack_trace

            fields["error"] = f"{type(error).__name__}: {error}"
            fields["exception"] = stack_trace(error)
        self.access.log(level, "Request completed", **fields)

    def setup_metrics(self) -> None:
        tel, env = self.tel, self.env
        p = self.prefix = env.get("AURUM_METRICS_PREFIX", "aurum_")
        self.started = time.time()
        self.proc = psutil.Process()
        self.proc.cpu_percent(None)
        self.slow_query_ms = env_float(env, "AURUM_SLOW_QUERY_THRESHOLD_MS", 1000.0)
        self.tenant_label = LabelGuard(tel.redactor, max_values=100)
        # seed l.354-364: REQUEST_LATENCY.labels(method, path) -> <prefix>request_latency_seconds; l.40 error
        # rates "by endpoint and tenant" -> <prefix>requests_total{method, path, status_code, tenant_id}
        self.red = RedMetrics(tel, f"{p}requests_total", f"{p}request_latency_seconds",
                              count_labels=("method", "path", "status_code", "tenant_id"),
                              duration_labels=("method", "path"),
                              count_help="API requests by endpoint, status and tenant",
                              duration_help="API request latency in seconds")
        self.business = tel.counter(f"{p}business_transactions_total", "Business transactions",
                                    ["transaction_type", "component", "status"])
        self.cache_hits = tel.counter(f"{p}cache_hits_total", "Cache hits", ["cache_type"])
        self.cache_misses = tel.counter(f"{p}cache_misses_total", "Cache misses", ["cache_type"])
        # series that exist at 0 before their first use, so ratios over them (the SLOs) have data at once
        for counter in (self.cache_hits, self.cache_misses):
            counter.labels("scenario")
        for kind in ("scenario_create", "scenario_run"):
            for outcome in ("success", "failure"):
                self.business.labels(kind, "scenario", outcome)
        self.db_latency = tel.histogram(f"{p}db_query_duration_seconds", "Database query latency",
                                        ["operation", "table"])
        self.db_in_use = tel.gauge(f"{p}db_pool_connections_in_use", "Database pool connections in use")
        tel.gauge(f"{p}db_pool_size", "Database pool size").set(10)
        tel.gauge(f"{p}data_freshness_seconds", "Seconds since scenario data last changed").set_function(
            lambda: time.time() - (self.last_data_update or self.started))
        # in-process SLI state (not Prometheus: the SLO endpoints must work without a Prometheus server)
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.latencies: deque[float] = deque(maxlen=10_000)
        self.outcomes = {"scenario_create": [0, 0], "scenario_run": [0, 0]}  # success, failure
        self.hits = 0
        self.misses = 0
        self.last_data_update: float | None = None
        self.scenarios: dict[str, dict[str, Any]] = {}
        self.cache: dict[str, dict[str, Any]] = {}
        e = env
        self.slos = [
            Slo("api_availability", "API Availability", "99.9% of requests succeed (non-5xx)",
                env_float(e, "AURUM_SLO_API_AVAILABILITY_TARGET", 0.999), ">=", "ratio",
                f'1 - (sum(rate({p}requests_total{{status_code=~"5.."}}[5m])) / '
                f'sum(rate({p}requests_total[5m])))'),
            Slo("api_latency_p95", "API Latency", "P95 latency below the target",
                env_float(e, "AURUM_SLO_API_LATENCY_TARGET", 500.0), "<=", "ms",
                f"histogram_quantile(0.95, sum by (le) (rate({p}request_latency_seconds_bucket[5m]))) * 1000"),
            Slo("scenario_creation", "Scenario Creation", "99.5% of scenario creations succeed",
                env_float(e, "AURUM_SLO_SCENARIO_CREATION_TARGET", 0.995), ">=", "ratio",
                f'sum(rate({p}business_transactions_total{{transaction_type="scenario_create",status="success"}}[5m]))'
                f' / sum(rate({p}business_transactions_total{{transaction_type="scenario_create"}}[5m]))'),
            Slo("scenario_runs", "Scenario Runs", "95% of scenario runs succeed",
                env_float(e, "AURUM_SLO_SCENARIO_SUCCESS_TARGET", 0.95), ">=", "ratio",
                f'sum(rate({p}business_transactions_total{{transaction_type="scenario_run",status="success"}}[5m]))'
                f' / sum(rate({p}business_transactions_total{{transaction_type="scenario_run"}}[5m]))'),
            Slo("data_freshness", "Data Freshness", "Data is less than an hour stale",
                env_float(e, "AURUM_SLO_DATA_FRESHNESS_TARGET", 3600.0), "<=", "seconds",
                f"{p}data_freshness_seconds"),
            Slo("cache_hit_rate", "Cache Hit Rate", "More than 90% of cache lookups hit",
                env_float(e, "AURUM_SLO_CACHE_HIT_RATE_TARGET", 0.90), ">=", "ratio",
                f"sum(rate({p}cache_hits_total[5m])) / (sum(rate({p}cache_hits_total[5m])) + "
                f"sum(rate({p}cache_misses_total[5m])))"),
        ]
        if tel.metrics_on:
            tel.registry.register(_SloCollector(self))

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: RequestContext) -> None:
        # the tenant comes from a header: redacted, and at most 100 tenants get series of their own
        self.red.observe((method, route, str(status), self.tenant_label(ctx.tenant_id or "none")), (method, route),
                         seconds)
        if route.startswith("/v1/observability") or route in ("/metrics", "unmatched"):
            return  # SLIs describe the API, not its monitoring endpoints
        with self._lock:
            self.requests += 1
            if status >= 500:
                self.errors += 1
            self.latencies.append(seconds * 1000.0)

    # ---- SLOs ----
    def sli(self, name: str) -> float | None:
        with self._lock:
            if name == "api_availability":
                return 1.0 - self.errors / self.requests if self.requests else None
            if name == "api_latency_p95":
                return percentile(list(self.latencies), 95)
            if name in ("scenario_creation", "scenario_runs"):
                ok, bad = self.outcomes["scenario_create" if name == "scenario_creation" else "scenario_run"]
                return ok / (ok + bad) if ok + bad else None
            if name == "data_freshness":
                return None if self.last_data_update is None else time.time() - self.last_data_update
            if name == "cache_hit_rate":
                total = self.hits + self.misses
                return self.hits / total if total else None
        raise KeyError(name)

    def slo_report(self) -> list[dict[str, Any]]:
        out = []
        for slo in self.slos:
            current = self.sli(slo.name)
            status = slo_status(current, slo.target, slo.comparison)
            budget = None
            if current is not None and slo.comparison == ">=" and slo.unit == "ratio" and slo.target < 1:
                budget = round(1.0 - (1.0 - current) / (1.0 - slo.target), 6)
            out.append({"name": slo.name, "description": slo.description, "objective": slo.objective,
                        "target": slo.target, "comparison": slo.comparison, "unit": slo.unit,
                        "current": None if current is None else round(current, 6), "status": status,
                        "error_budget_remaining": budget, "promql": slo.promql})
        return out

    def dashboard(self) -> dict[str, Any]:
        """A Grafana dashboard model: one stat panel per SLO and the RED panels."""
        panels: list[dict[str, Any]] = []
        for i, slo in enumerate(self.slos):
            panels.append({
                "id": i + 1, "type": "stat", "title": f"SLO: {slo.description}",
                "gridPos": {"h": 4, "w": 4, "x": (i % 6) * 4, "y": 0},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"refId": "A", "expr": slo.promql}],
                "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
                    {"color": "red" if slo.comparison == ">=" else "green", "value": None},
                    {"color": "green" if slo.comparison == ">=" else "red", "value": slo.target}]}},
                    "overrides": []},
            })
        p = self.prefix
        for j, (title, expr) in enumerate((
            ("Request rate by path", f"sum by (path) (rate({p}requests_total[5m]))"),
            ("Error rate by path and tenant",
             f'sum by (path, tenant_id) (rate({p}requests_total{{status_code=~"5.."}}[5m]))'),
            ("Latency P50/P95/P99", f"histogram_quantile(0.95, sum by (le) (rate({p}request_latency_seconds_bucket[5m])))"),
            ("Business transactions", f"sum by (transaction_type, status) (rate({p}business_transactions_total[5m]))"),
        )):
            panels.append({"id": 100 + j, "type": "timeseries", "title": title,
                           "gridPos": {"h": 8, "w": 12, "x": (j % 2) * 12, "y": 4 + (j // 2) * 8},
                           "datasource": {"type": "prometheus", "uid": "${datasource}"},
                           "targets": [{"refId": "A", "expr": expr}]})
        return {
            "uid": "aurum-slo-overview", "title": "Aurum SLO Overview", "tags": ["aurum", "slo", "obsconf"],
            "timezone": "utc", "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                     "current": {}, "hide": 0}]},
            "panels": panels,
        }

    def health_report(self) -> dict[str, Any]:
        """Seed 002 "Health Checks" (l.283-288): observability status, metrics collection, tracing, SLO
        compliance and performance indicators, one component object each with its own ``status``."""
        report = self.slo_report()
        tracing: dict[str, Any] = {"status": "healthy" if self.tel.tracing_on else "disabled"}
        if self.tel.exporter is not None:
            tracing.update(spans_exported=self.tel.exporter.exported, batches_failed=self.tel.exporter.batches_failed)
            if self.tel.exporter.batches_failed:
                tracing["status"] = "degraded"
        with self._lock:
            lat = list(self.latencies)
            count, errors = self.requests, self.errors
        p95 = percentile(lat, 95)
        latency_target = next((s.target for s in self.slos if s.name == "api_latency_p95"), None)
        slow = p95 is not None and latency_target is not None and p95 > latency_target
        components: dict[str, dict[str, Any]] = {
            "metrics": {"status": "healthy" if self.tel.metrics_on else "disabled"},
            "tracing": tracing,
            "logging": {"status": "healthy" if self.tel.enabled else "disabled"},
            "slos": {"status": "degraded" if any(r["status"] == "violated" for r in report) else "healthy",
                     "compliance": {r["name"]: r["status"] for r in report}},
            "performance": {"status": "degraded" if slow else "healthy", "requests": count, "errors": errors,
                            "p95_ms": p95},
        }
        status = "degraded" if any(c["status"] == "degraded" for c in components.values()) else "healthy"
        return {"status": status, "components": components,
                "uptime_seconds": round(time.time() - self.started, 3)}

    # ---- scenario operations (the business logic the seed's examples trace) ----
    def _db(self, operation: str, table: str, fn: Any, tenant: str | None = None) -> Any:
        # seed l.166 trace_database_query("insert", table="scenario", tenant_id=...); attribute names follow
        # OpenTelemetry's database conventions as seed l.303 asks, the tenant under the service's tenant.id
        tracer = self.tel.tracer
        start = time.perf_counter()
        self.db_in_use.inc()
        # the seed's argument names (table, tenant_id: l.166) beside OpenTelemetry's database names (l.303)
        attrs = {"table": table, "db.operation.name": operation, "db.collection.name": table,
                 "db.system.name": "memory"}
        if tenant:
            attrs["tenant_id"] = tenant
        try:
            with tracer.start_as_current_span(f"db.{operation}", attributes=attrs):
                return fn()
        finally:
            self.db_in_use.dec()
            elapsed = time.perf_counter() - start
            self.db_latency.labels(operation, table).observe(elapsed)
            if elapsed * 1000.0 >= self.slow_query_ms:
                self.log.warn("Slow query", component="database", operation=operation, table=table,
                              duration_ms=round(elapsed * 1000.0, 3))

    def create_scenario(self, body: dict[str, Any], ctx: RequestContext | None) -> tuple[int, dict[str, Any]]:
        tracer = self.tel.tracer
        started = time.perf_counter()
        tenant = (ctx.tenant_id if ctx else None) or "default"
        # the caller may name the scenario (seed l.164: create_scenario_with_tracing(scenario_id, tenant_id))
        scenario_id = str(body.get("scenario_id") or f"scenario-{uuid.uuid4().hex[:12]}")[:128]
        with tracer.start_as_current_span("scenario.create", attributes={
                "scenario_id": scenario_id, "tenant_id": tenant, "component": "scenario"}) as span:
            if body.get("fail") or not str(body.get("name") or "").strip():
                reason = "requested failure" if body.get("fail") else "name is required"
                span.set_attribute("error.type", "validation_error")
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, reason))
                self._outcome("scenario_create", False)
                self.log.error("Scenario creation failed", component="scenario", operation="create",
                               scenario_id=scenario_id, error=reason,
                               duration_ms=round((time.perf_counter() - started) * 1000.0, 3))
                return 422, {"error": reason}
            record = {"scenario_id": scenario_id, "tenant_id": tenant, "name": str(body["name"]),
                      "created_at": time.time(), "runs": 0}
            self._db("insert", "scenario", lambda: self.scenarios.__setitem__(scenario_id, record), tenant)
            with tracer.start_as_current_span("cache.set", attributes={"cache_type": "scenario",
                                                                       "key": scenario_id}):
                self.cache[scenario_id] = record
        self._outcome("scenario_create", True)
        self.log.info("Scenario creation completed", component="scenario", operation="create",
                      scenario_id=scenario_id, duration_ms=round((time.perf_counter() - started) * 1000.0, 3))
        return 201, record

    def _outcome(self, kind: str, ok: bool) -> None:
        self.business.labels(kind, "scenario", "success" if ok else "failure").inc()
        with self._lock:
            self.outcomes[kind][0 if ok else 1] += 1
            if ok:
                self.last_data_update = time.time()

    def get_scenario(self, scenario_id: str) -> dict[str, Any] | None:
        with self.tel.tracer.start_as_current_span("cache.get", attributes={
                "cache_type": "scenario", "key": scenario_id}) as span:
            hit = self.cache.get(scenario_id)
            span.set_attribute("cache.hit", hit is not None)
        with self._lock:
            if hit is not None:
                self.hits += 1
            else:
                self.misses += 1
        (self.cache_hits if hit is not None else self.cache_misses).labels("scenario").inc()
        if hit is not None:
            return hit
        found = self._db("select", "scenario", lambda: self.scenarios.get(scenario_id))
        if found is not None:
            self.cache[scenario_id] = found
        return found

    def run_scenario(self, scenario_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        scenario = self.scenarios.get(scenario_id)
        if scenario is None:
            return 404, {"error": f"scenario {scenario_id} not found"}
        run_id = f"run-{uuid.uuid4().hex[:12]}"
        with self.tel.tracer.start_as_current_span("scenario.run", attributes={
                "scenario_id": scenario_id, "run_id": run_id, "component": "scenario"}) as span:
            ok = not body.get("fail")
            if not ok:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, "scenario run failed"))
            else:
                self._db("update", "scenario", lambda: scenario.__setitem__("runs", scenario["runs"] + 1))
        self._outcome("scenario_run", ok)
        duration = round((time.perf_counter() - started) * 1000.0, 3)
        if ok:
            self.log.info("Scenario run completed", component="scenario", operation="run", scenario_id=scenario_id,
                          run_id=run_id, duration_ms=duration)
            return 201, {"scenario_id": scenario_id, "run_id": run_id, "status": "success"}
        self.log.error("Scenario run failed", component="scenario", operation="run", scenario_id=scenario_id,
                       run_id=run_id, duration_ms=duration)
        return 500, {"scenario_id": scenario_id, "run_id": run_id, "status": "failure"}

    # ---- routes ----
    def add_routes(self, router: APIRouter) -> None:
        base = "/v1/observability"

        @router.get(f"{base}/metrics")
        async def metrics_text(request: Request) -> Response:
            return self.metrics_response(request)

        @router.get(f"{base}/metrics/json")
        async def metrics_json() -> Response:
            families = [{"name": m.name, "type": m.type, "help": m.documentation,
                         "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in m.samples]}
                        for m in self.tel.registry.collect()]
            return json_response({"metrics": families})

        @router.get(f"{base}/performance")
        async def performance() -> Response:
            with self._lock:
                lat = list(self.latencies)
                count, errors = self.requests, self.errors
            try:
                fds = self.proc.num_fds()
            except (AttributeError, psutil.Error):
                fds = None
            return json_response({
                "process": {"cpu_percent": self.proc.cpu_percent(None),
                            "memory_rss_bytes": self.proc.memory_info().rss,
                            "threads": self.proc.num_threads(), "open_fds": fds,
                            "uptime_seconds": round(time.time() - self.started, 3)},
                "requests": {"count": count, "errors": errors, "p50_ms": percentile(lat, 50),
                             "p95_ms": percentile(lat, 95), "p99_ms": percentile(lat, 99)},
                "slow_query_threshold_ms": self.slow_query_ms,
            })

        @router.get(f"{base}/traces")
        async def traces(limit: int = Query(50, ge=1, le=1000)) -> Response:
            return json_response({"traces": self.store.summaries(limit), "total": self.store.count()})

        @router.get(f"{base}/traces/{{trace_id}}")
        async def trace_detail(trace_id: str) -> Response:
            spans = self.store.get(trace_id)
            if spans is None:
                return json_response({"error": f"trace {trace_id} not found in this process"}, 404)
            return json_response({"trace_id": trace_id.lower(), "spans": spans})

        @router.post(f"{base}/traces/{{trace_id}}/export")
        async def trace_export(trace_id: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                return json_response({"error": "body must be JSON"}, 400)
            fmt = (body.get("format") if isinstance(body, dict) else None) or "otlp_json"
            if fmt not in ("otlp_json", "json"):
                return json_response({"error": f"format {fmt!r}: use otlp_json or json"}, 400)
            spans = self.store.get(trace_id)
            if spans is None:
                return json_response({"error": f"trace {trace_id} not found in this process"}, 404)
            data = otlp_json(spans, self.tel.service_name) if fmt == "otlp_json" else {"spans": spans}
            self.log.info("Trace exported", component="observability", operation="export_trace",
                          exported_trace_id=trace_id, format=fmt, span_count=len(spans))
            return json_response({"trace_id": trace_id.lower(), "format": fmt, "data": data})

        @router.post(f"{base}/cleanup")
        async def cleanup(max_age_seconds: float = Query(3600.0, ge=0, le=10**9)) -> Response:  # inf: 422
            removed = self.store.cleanup(max_age_seconds)
            self.log.info("Old traces cleaned up", component="observability", operation="cleanup",
                          removed_traces=removed, max_age_seconds=max_age_seconds)
            return json_response({"removed_traces": removed, "remaining_traces": self.store.count()})

        @router.get(f"{base}/slos")
        async def slos() -> Response:
            report = self.slo_report()
            statuses = {r["status"] for r in report}
            overall = "violated" if "violated" in statuses else "met" if statuses == {"met"} else "partial_data"
            return json_response({"overall_status": overall, "slos": report})

        @router.get(f"{base}/slos/{{name}}")
        async def slo_detail(name: str) -> Response:
            for item in self.slo_report():
                if item["name"] == name:
                    return json_response(item)
            return json_response({"error": f"unknown SLO {name!r}", "known": [s.name for s in self.slos]}, 404)

        @router.get(f"{base}/dashboard")
        async def dashboard(wrap: str = Query("")) -> Response:
            model = self.dashboard()
            return json_response({"dashboard": model, "overwrite": True} if wrap == "api" else model)

        @router.get(f"{base}/health")
        async def health() -> Response:
            return json_response(self.health_report())

        @router.get(f"{base}/logs/schema")
        async def logs_schema() -> Response:
            return json_response(LOG_SCHEMA)

        @router.post("/api/scenarios")
        async def create(request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                return json_response({"error": "body must be JSON"}, 400)
            from obsconf.reference.logs import CURRENT_REQUEST

            status, payload = self.create_scenario(body if isinstance(body, dict) else {}, CURRENT_REQUEST.get())
            return json_response(payload, status)

        @router.get("/api/scenarios/{scenario_id}")
        async def get_one(scenario_id: str) -> Response:
            found = self.get_scenario(scenario_id)
            if found is None:
                return json_response({"error": f"scenario {scenario_id} not found"}, 404)
            return json_response(found)

        @router.post("/api/scenarios/{scenario_id}/runs")
        async def run(scenario_id: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                return json_response({"error": "body must be JSON"}, 400)
            status, payload = self.run_scenario(scenario_id, body if isinstance(body, dict) else {})
            return json_response(payload, status)
