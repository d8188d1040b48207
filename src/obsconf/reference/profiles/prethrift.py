"""prethrift (seed 003): a web backend with deep health checks, search metrics and error tracking.

Routes: ``GET /health`` (every check), ``GET /health/ready`` (dependency checks; 503 when one is
unhealthy), ``GET /health/live`` (no checks), ``GET /api/search?q=...&type=text|visual&limit=10``,
``GET /api/error`` (every profile: raises, exercises error tracking and the 500 path).

Health JSON (seed 003): ``{"status": "healthy"|"degraded"|"unhealthy", "timestamp", "version",
"environment", "uptime_seconds", "checks": [{"name", "status", "duration_ms", "message", "details"?}]}``;
HTTP 503 when unhealthy. Checks run concurrently, each bounded by HEALTH_CHECK_TIMEOUT seconds (2):
``memory`` (RSS against PRETHRIFT_MEMORY_LIMIT_MB, 1024: degraded above 75%, unhealthy above 90%),
``embedding_model`` (a deterministic 512-d test embedding), ``pgvector`` (the in-process vector index
answers a nearest-neighbour query), and - only when configured - ``database``
(DATABASE_URL: sqlite files are queried, other URLs get a TCP probe, loopback only), ``s3``
(OBSCONF_S3_URL answers HTTP) and ``pocketbase`` (OBSCONF_POCKETBASE_URL ``/api/health``).

Log line (structlog JSON): ``event, level (lowercase), timestamp, logger, request_id, user_id`` (header
X-User-Id) + event fields, ``trace_id``, ``span_id``. Metrics: http_requests_total{method,endpoint,
status_code}, http_request_duration_seconds{method,endpoint}, search_operations_total{search_type,status},
embedding_operations_total{operation_type,status}, db_connection_pool_size, db_connection_pool_checked_out,
health_check_status{check} (1 healthy, 0.5 degraded, 0 unhealthy), error_tracking_events_total{result}.
Env: SERVICE_NAME, SERVICE_VERSION (1.0.0), ENVIRONMENT (production; ``development`` prints console logs),
DEBUG, DATABASE_URL, DB_POOL_SIZE (10), LOG_LEVEL, TRACE_SAMPLE_RATE (1.0), OTLP_ENDPOINT /
JAEGER_ENDPOINT (warned about: export goes to OBSCONF_OTLP_HTTP_URL), OTLP_API_KEY (never logged),
SENTRY_DSN (events POSTed only to a loopback DSN host; otherwise a no-op), AWS_REGION, IMAGES_BUCKET,
HEALTH_CHECK_TIMEOUT, PRETHRIFT_MEMORY_LIMIT_MB.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests
from fastapi import APIRouter, Query, Request, Response

from obsconf.reference.config import env_bool, env_float, env_int
from obsconf.reference.health import (
    DEGRADED,
    HEALTHY,
    UNHEALTHY,
    Check,
    overall,
    run_checks,
    tcp_probe,
)
from obsconf.reference.health import http_probe as _http_probe
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import CURRENT_REQUEST, LogEvent, RequestContext, iso_utc, parse_level
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, json_response
from obsconf.reference.telemetry import TelemetrySpec

_STRUCTLOG_LEVELS = {"TRACE": "debug", "DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error"}
EMBEDDING_DIM = 512
CATALOG = ["blue dress", "red dress", "denim jacket", "leather boots", "wool scarf", "silk blouse",
           "linen shirt", "cotton t-shirt", "summer hat", "canvas sneakers", "black jeans", "green coat"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def structlog_json(ev: LogEvent) -> dict[str, Any]:
    rec: dict[str, Any] = {"event": ev.message, "level": _STRUCTLOG_LEVELS[ev.level],
                           "timestamp": iso_utc(ev.time_ns, 6), "logger": ev.target}
    req = ev.request
    if req is not None:
        rec["request_id"] = req.request_id
        if req.user_id:
            rec["user_id"] = req.user_id
    rec.update(ev.fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    return rec


_SCORE = {HEALTHY: 1.0, DEGRADED: 0.5}


def health_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    """A health answer as JSON, or - for a Prometheus scrape (its Accept names the text exposition) - as gauges,
    with the same status: the seed's DatabaseDown alert (l.329-335) watches ``up`` of a scrape job of the health
    check, which is 0 exactly when the check answers non-2xx."""
    accept = request.headers.get("accept", "")
    if "version=0.0.4" not in accept and "openmetrics-text" not in accept:
        return json_response(body, status)
    lines = ["# HELP health_check_status Health check result (1 healthy, 0.5 degraded, 0 unhealthy)",
             "# TYPE health_check_status gauge"]
    for check in body.get("checks", []):
        lines.append(f'health_check_status{{check="{check["name"]}"}} {_SCORE.get(check["status"], 0.0)}')
    lines.append(f"health_check_status{{check=\"overall\"}} {_SCORE.get(body.get('status', ''), 0.0)}")
    return Response("\n".join(lines) + "\n", status_code=status, media_type="text/plain; version=0.0.4; charset=utf-8")


def embed(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic unit vector for ``text`` (stands in for the CLIP/text model)."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text.lower()}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    norm = math.sqrt(sum(v * v for v in values[:dim])) or 1.0
    return [v / norm for v in values[:dim]]


class SentryHook:
    """Error tracking behind SENTRY_DSN: events go only to a loopback DSN host, else nowhere."""

    def __init__(self, dsn: str, environment: str, release: str) -> None:
        self.endpoint = ""
        self.headers: dict[str, str] = {}
        self.reason = "SENTRY_DSN not set"
        self.environment = environment
        self.release = release
        if not dsn:
            return
        parts = urlsplit(dsn)
        project = parts.path.strip("/").split("/")[-1] if parts.path.strip("/") else ""
        if (parts.hostname or "") not in _LOOPBACK or not project:
            self.reason = "SENTRY_DSN is not a loopback DSN with a project id; error tracking is a no-op"
            return
        port = f":{parts.port}" if parts.port else ""
        self.endpoint = f"{parts.scheme}://{parts.hostname}{port}/api/{project}/store/"
        self.headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={parts.username or ''}",
                        "Content-Type": "application/json"}
        self.reason = ""

    @property
    def active(self) -> bool:
        return bool(self.endpoint)

    def capture(self, error: BaseException, ctx: RequestContext | None, on_result: Any) -> None:
        if not self.active:
            return
        event = {"event_id": uuid.uuid4().hex, "timestamp": time.time(), "level": "error", "platform": "python",
                 "environment": self.environment, "release": self.release,
                 "exception": {"values": [{"type": type(error).__name__, "value": str(error)[:500]}]},
                 "tags": {"trace_id": ctx.trace_id if ctx else "", "request_id": ctx.request_id if ctx else ""}}

        def send() -> None:
            try:
                resp = requests.post(self.endpoint, json=event, headers=self.headers, timeout=1.0)
                on_result("sent" if resp.status_code < 300 else "rejected")
            except requests.RequestException:
                on_result("failed")

        threading.Thread(target=send, name="obsconf-sentry", daemon=True).start()


class PrethriftProfile(ProfileBase):
    name = "prethrift"
    default_target = "app.main"

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        self.environment = env.get("ENVIRONMENT") or "production"
        return TelemetrySpec(
            formatter=structlog_json,
            log_level=parse_level(env.get("LOG_LEVEL"), "INFO"),
            console_pretty=self.environment == "development",
            sample_rate=env_float(env, "TRACE_SAMPLE_RATE", 1.0),
            redact_keys=("otlp_api_key",),
            service_version=env.get("SERVICE_VERSION") or "1.0.0",  # seed l.67: SERVICE_VERSION=1.0.0
        )

    def access_target(self) -> str:
        return "app.middleware"

    def access_log(self, method: str, route: str, status: int, duration_ms: float, ctx: RequestContext,
                   error: BaseException | None) -> None:
        super().access_log(method, route, status, duration_ms, ctx, error)
        if error is not None:
            self.sentry.capture(error, ctx, lambda result: self.sentry_events.labels(result).inc())

    def setup_metrics(self) -> None:
        tel, env = self.tel, self.env
        self.version = env.get("SERVICE_VERSION") or "1.0.0"
        self.started = time.time()
        self.proc = psutil.Process()
        self.timeout = env_float(env, "HEALTH_CHECK_TIMEOUT", 2.0)
        self.memory_limit = env_float(env, "PRETHRIFT_MEMORY_LIMIT_MB", 1024.0) * 1024 * 1024
        self.red = RedMetrics(tel, "http_requests_total", "http_request_duration_seconds")
        self.search_ops = tel.counter("search_operations_total", "Search operations by type and status",
                                      ["search_type", "status"])
        self.embedding_ops = tel.counter("embedding_operations_total", "Embedding operations by type and status",
                                         ["operation_type", "status"])
        tel.gauge("db_connection_pool_size", "Database connection pool size").set(env_int(env, "DB_POOL_SIZE", 10))
        self.pool_out = tel.gauge("db_connection_pool_checked_out", "Database connections in use")
        self.health_gauge = tel.gauge("health_check_status", "Last health check result (1 ok, 0.5 degraded, 0 down)",
                                      ["check"])
        self.sentry_events = tel.counter("error_tracking_events_total", "Error events sent to error tracking",
                                         ["result"])
        self.sentry = SentryHook(env.get("SENTRY_DSN", ""), self.environment, self.version)
        self.debug = env_bool(env, "DEBUG", False)
        self.search_type_label = LabelGuard(tel.redactor, max_values=20, max_len=20)

    async def startup(self) -> None:
        await super().startup()
        for name in ("OTLP_ENDPOINT", "JAEGER_ENDPOINT"):
            if self.env.get(name) and not self.config.otlp_http_url:
                self.log.warn(
                    f"{name} is set but spans are exported to OBSCONF_OTLP_HTTP_URL only", endpoint=self.env[name])
        if self.env.get("SENTRY_DSN") and not self.sentry.active:
            self.log.warn(self.sentry.reason)

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: Any) -> None:
        self.red.observe((method, route, str(status)), (method, route), seconds)

    # ---- health ----
    def _memory(self, timeout: float) -> tuple[str, str, dict[str, Any]]:
        rss = self.proc.memory_info().rss
        share = rss / self.memory_limit if self.memory_limit else 0.0
        status = UNHEALTHY if share > 0.9 else DEGRADED if share > 0.75 else HEALTHY
        return status, f"Memory usage {rss / 1048576:.1f} MiB ({share:.0%} of limit)", {
            "rss_bytes": rss, "limit_bytes": int(self.memory_limit),
            "system_percent": psutil.virtual_memory().percent}

    @staticmethod
    def _embedding(timeout: float) -> tuple[str, str, dict[str, Any]]:
        vec = embed("health check")
        ok = len(vec) == EMBEDDING_DIM and abs(sum(v * v for v in vec) - 1.0) < 1e-6
        return (HEALTHY if ok else UNHEALTHY), f"Embedding model functional, vector size: {len(vec)}", {
            "embedding_dimension": len(vec)}

    @staticmethod
    def _vector_index(timeout: float) -> tuple[str, str, dict[str, Any]]:
        """The seed's pgvector check (l.47, l.187-190). The reference keeps its vectors in process, so the
        check proves that index works: every catalog item must be its own nearest neighbour."""
        vectors = {item: embed(item) for item in CATALOG[:3]}
        ok = all(max(CATALOG, key=lambda other, v=v: sum(a * b for a, b in zip(v, embed(other), strict=True))) == item
                 for item, v in vectors.items())
        return (HEALTHY if ok else UNHEALTHY), (
            "Vector search functional (in-process index standing in for pgvector)" if ok
            else "Vector search returned the wrong nearest neighbour"), {"backend": "in-process",
                                                                        "dimension": EMBEDDING_DIM}

    def _database(self, timeout: float) -> tuple[str, str, dict[str, Any]]:
        url = self.env.get("DATABASE_URL", "")
        if url.startswith("sqlite:///"):
            conn = sqlite3.connect(url.removeprefix("sqlite:///") or ":memory:", timeout=timeout)
            try:
                conn.execute("SELECT 1").fetchone()
            finally:
                conn.close()
            return HEALTHY, "Database connection successful", {"driver": "sqlite"}
        host = urlsplit(url).hostname or ""
        if host not in _LOOPBACK:
            return UNHEALTHY, f"DATABASE_URL host {host!r} is not loopback; not probed", {}
        status, _, details = tcp_probe(url, timeout)
        return status, "Database port accepts connections", details

    def checks(self, ready_only: bool) -> dict[str, Check]:
        out: dict[str, Check] = {}
        if not ready_only:
            out["memory"] = self._memory
        out["embedding_model"] = self._embedding
        out["pgvector"] = self._vector_index
        if self.env.get("DATABASE_URL"):
            out["database"] = self._database
        if self.config.s3_url:
            url = self.config.s3_url
            out["s3"] = lambda t: _http_probe(url, t)
        if self.config.pocketbase_url:
            pb = self.config.pocketbase_url + "/api/health"
            out["pocketbase"] = lambda t: _http_probe(pb, t, healthy_below=300)
        return out

    async def health_body(self, ready_only: bool, live: bool = False) -> tuple[int, dict[str, Any]]:
        results = [] if live else await run_checks(self.checks(ready_only), self.timeout)
        status = overall(results)
        for r in results:
            self.health_gauge.labels(r.name).set({HEALTHY: 1.0, DEGRADED: 0.5}.get(r.status, 0.0))
        if status == UNHEALTHY:
            self.log.error("Health check failed", failing=[r.name for r in results if r.status == UNHEALTHY])
        body = {"status": status, "timestamp": iso_utc(time.time_ns())[:-5] + "Z", "version": self.version,
                "environment": self.environment, "uptime_seconds": round(time.time() - self.started, 1),
                "checks": [r.as_dict() for r in results]}
        return (503 if status == UNHEALTHY else 200), body

    # ---- search ----
    def search(self, query: str, search_type: str, limit: int) -> list[dict[str, Any]]:
        tracer = self.tel.tracer
        op = "clip" if search_type == "visual" else "text"
        # seed l.101 track_search_operation("text_search"): one span per search operation, named after it
        with tracer.start_as_current_span(f"{search_type}_search", attributes={
                "search.type": search_type, "search.query_length": len(query), "search.limit": limit}) as span:
            self.pool_out.inc()
            try:
                with tracer.start_as_current_span(f"embedding.{op}", attributes={"embedding.model": op,
                                                                                 "embedding.dimension": EMBEDDING_DIM}):
                    qvec = embed(query)
                    self.embedding_ops.labels(op, "success").inc()
                # current semantic-convention names (db.system and db.operation are deprecated)
                with tracer.start_as_current_span("vector_search", attributes={"db.system.name": "postgresql",
                                                                               "db.operation.name": "select"}):
                    scored = sorted(((sum(a * b for a, b in zip(qvec, embed(item), strict=True)), item)
                                     for item in CATALOG), reverse=True)[:limit]
            finally:
                self.pool_out.dec()
            span.set_attribute("search.result_count", len(scored))
        return [{"item": item, "score": round(score, 4)} for score, item in scored]

    def add_routes(self, router: APIRouter) -> None:
        @router.get("/health")
        async def health(request: Request) -> Response:
            status, body = await self.health_body(ready_only=False)
            return health_response(request, status, body)

        @router.get("/health/ready")
        async def ready(request: Request) -> Response:
            status, body = await self.health_body(ready_only=True)
            return health_response(request, status, body)

        @router.get("/health/live")
        async def live(request: Request) -> Response:
            status, body = await self.health_body(ready_only=True, live=True)
            return health_response(request, status, body)

        @router.get("/api/search")
        def search(q: str = Query(""), type: str = Query("text"), limit: int = Query(10, ge=1, le=100)) -> Response:
            if type not in ("text", "visual"):
                self.search_ops.labels(self.search_type_label(type), "error").inc()
                return json_response({"error": f"type {type!r}: use text or visual"}, 400)
            if not q.strip():
                self.search_ops.labels(type, "error").inc()
                self.log.warn("Search rejected: empty query", search_type=type)
                return json_response({"error": "query parameter q is required"}, 400)
            started = time.perf_counter()
            ctx = CURRENT_REQUEST.get()
            # seed l.98 logs user_id with every search; a request naming no user (no X-User-Id) searches as
            # "anonymous" (the assistant profile's default too), so the field is always a string
            self.log.info("User search started", user_id=(ctx.user_id if ctx else None) or "anonymous", query=q,
                          search_type=type)
            results = self.search(q, type, limit)
            self.search_ops.labels(type, "success").inc()
            self.log.info("Search completed", search_type=type, result_count=len(results),
                          duration_ms=round((time.perf_counter() - started) * 1000.0, 3))
            return json_response({"query": q, "type": type, "results": results})

