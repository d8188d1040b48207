"""The aurum profile: its telemetry settings, metrics, access log, bearer-token rule, SLO state and the
reports the observability API answers (routes in :mod:`.routes`, scenario operations in :mod:`.scenarios`)."""

from __future__ import annotations

import time
from typing import Any

import psutil
from fastapi import APIRouter

from obsconf.reference.auth import AuthRule
from obsconf.reference.config import env_float, env_int
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import RequestContext
from obsconf.reference.profiles.aurum import routes
from obsconf.reference.profiles.aurum.dashboard import grafana_dashboard
from obsconf.reference.profiles.aurum.logline import aurum_json
from obsconf.reference.profiles.aurum.scenarios import ScenarioOps
from obsconf.reference.profiles.aurum.slo import SliState, SloCollector, build_slos, percentile, slo_report
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, SeedSwitches, stack_trace
from obsconf.reference.spanstore import SpanStore
from obsconf.reference.telemetry import TelemetrySpec

SWITCHES = SeedSwitches("AURUM_LOG_LEVEL", "AURUM_LOG_FORMAT", "AURUM_TRACING_ENABLED", "AURUM_METRICS_ENABLED",
                        "AURUM_TRACING_SAMPLE_RATE")
ENV_OBSERVABILITY_TOKEN = "AURUM_OBSERVABILITY_TOKEN"  # set: /v1/observability/* and /metrics need it as bearer


class AurumProfile(ScenarioOps, ProfileBase):
    name = "aurum"
    default_target = "aurum.api"
    # Prometheus scrapes /v1/observability/metrics (seed l.108) every second: scrapes go untraced, like /metrics
    scrape_paths = frozenset({"/metrics", "/v1/observability/metrics"})

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        self.store = SpanStore(self._redactor_for_store(),
                               max_spans_per_trace=env_int(env, "AURUM_TRACING_MAX_SPANS_PER_TRACE", 1000))
        return SWITCHES.spec(env, aurum_json, extra_processors=(self.store,))

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
            fields["error"] = f"{type(error).__name__}: {error}"
            fields["exception"] = stack_trace(error)
        self.access.log(level, "Request completed", **fields)

    def setup_metrics(self) -> None:
        tel, env = self.tel, self.env
        prefix = self.prefix = env.get("AURUM_METRICS_PREFIX", "aurum_")
        self.started = time.time()
        self.proc = psutil.Process()
        self.proc.cpu_percent(None)
        self.slow_query_ms = env_float(env, "AURUM_SLOW_QUERY_THRESHOLD_MS", 1000.0)
        self.tenant_label = LabelGuard(tel.redactor, max_values=100)
        # seed l.354-364: REQUEST_LATENCY.labels(method, path) -> <prefix>request_latency_seconds; l.40 error
        # rates "by endpoint and tenant" -> <prefix>requests_total{method, path, status_code, tenant_id}
        self.red = RedMetrics(tel, f"{prefix}requests_total", f"{prefix}request_latency_seconds",
                              count_labels=("method", "path", "status_code", "tenant_id"),
                              duration_labels=("method", "path"),
                              count_help="API requests by endpoint, status and tenant",
                              duration_help="API request latency in seconds")
        self.business = tel.counter(f"{prefix}business_transactions_total", "Business transactions",
                                    ["transaction_type", "component", "status"])
        self.cache_hits = tel.counter(f"{prefix}cache_hits_total", "Cache hits", ["cache_type"])
        self.cache_misses = tel.counter(f"{prefix}cache_misses_total", "Cache misses", ["cache_type"])
        # series that exist at 0 before their first use, so ratios over them (the SLOs) have data at once
        for counter in (self.cache_hits, self.cache_misses):
            counter.labels("scenario")
        for kind in ("scenario_create", "scenario_run"):
            for outcome in ("success", "failure"):
                self.business.labels(kind, "scenario", outcome)
        self.db_latency = tel.histogram(f"{prefix}db_query_duration_seconds", "Database query latency",
                                        ["operation", "table"])
        self.db_in_use = tel.gauge(f"{prefix}db_pool_connections_in_use", "Database pool connections in use")
        tel.gauge(f"{prefix}db_pool_size", "Database pool size").set(10)
        self.sli_state = SliState()
        tel.gauge(f"{prefix}data_freshness_seconds", "Seconds since scenario data last changed").set_function(
            lambda: time.time() - (self.sli_state.last_data_update or self.started))
        self.scenarios: dict[str, dict[str, Any]] = {}
        self.cache: dict[str, dict[str, Any]] = {}
        self.slos = build_slos(env, prefix)
        if tel.metrics_on:
            tel.registry.register(SloCollector(prefix, self.slo_report))

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: RequestContext) -> None:
        # the tenant comes from a header: redacted, and at most 100 tenants get series of their own
        self.red.observe((method, route, str(status), self.tenant_label(ctx.tenant_id or "none")), (method, route),
                         seconds)
        if route.startswith("/v1/observability") or route in ("/metrics", "unmatched"):
            return  # SLIs describe the API, not its monitoring endpoints
        self.sli_state.record_request(status, seconds)

    # ---- what the observability API reports ----
    def slo_report(self) -> list[dict[str, Any]]:
        return slo_report(self.slos, self.sli_state.sli)

    def dashboard(self) -> dict[str, Any]:
        """A Grafana dashboard model: one stat panel per SLO and the RED panels."""
        return grafana_dashboard(self.slos, self.prefix)

    def performance_report(self) -> dict[str, Any]:
        """Process figures and request figures over the last 10,000 requests."""
        lat, count, errors = self.sli_state.request_figures()
        try:
            fds = self.proc.num_fds()
        except (AttributeError, psutil.Error):
            fds = None
        return {
            "process": {"cpu_percent": self.proc.cpu_percent(None),
                        "memory_rss_bytes": self.proc.memory_info().rss,
                        "threads": self.proc.num_threads(), "open_fds": fds,
                        "uptime_seconds": round(time.time() - self.started, 3)},
            "requests": {"count": count, "errors": errors, "p50_ms": percentile(lat, 50),
                         "p95_ms": percentile(lat, 95), "p99_ms": percentile(lat, 99)},
            "slow_query_threshold_ms": self.slow_query_ms,
        }

    def _tracing_health(self) -> dict[str, Any]:
        tracing: dict[str, Any] = {"status": "healthy" if self.tel.tracing_on else "disabled"}
        exporter = self.tel.exporter
        if exporter is not None:
            tracing.update(spans_exported=exporter.exported, batches_failed=exporter.batches_failed)
            if exporter.batches_failed:
                tracing["status"] = "degraded"
        return tracing

    def health_report(self) -> dict[str, Any]:
        """Seed 002 "Health Checks" (l.283-288): observability status, metrics collection, tracing, SLO
        compliance and performance indicators, one component object each with its own ``status``."""
        report = self.slo_report()
        tracing = self._tracing_health()
        lat, count, errors = self.sli_state.request_figures()
        p95 = percentile(lat, 95)
        latency_target = next((slo.target for slo in self.slos if slo.name == "api_latency_p95"), None)
        slow = p95 is not None and latency_target is not None and p95 > latency_target
        components: dict[str, dict[str, Any]] = {
            "metrics": {"status": "healthy" if self.tel.metrics_on else "disabled"},
            "tracing": tracing,
            "logging": {"status": "healthy" if self.tel.enabled else "disabled"},
            "slos": {"status": "degraded" if any(item["status"] == "violated" for item in report) else "healthy",
                     "compliance": {item["name"]: item["status"] for item in report}},
            "performance": {"status": "degraded" if slow else "healthy", "requests": count, "errors": errors,
                            "p95_ms": p95},
        }
        status = "degraded" if any(part["status"] == "degraded" for part in components.values()) else "healthy"
        return {"status": status, "components": components,
                "uptime_seconds": round(time.time() - self.started, 3)}

    def add_routes(self, router: APIRouter) -> None:
        routes.add_routes(router, self)
