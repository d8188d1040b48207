"""assistant (seed 004): a Go-style assistant service with slog JSON logs, Loki batching, RED metrics,
intelligent sampling and concurrent health checks.

Routes: ``POST /api/chat`` (body ``{"message", "user_id"?, "conversation_id"?, "model"?, "fail"?}``;
``user_id`` also from header X-User-Id; empty message -> 400, ``fail`` -> 500), ``GET /api/agents``,
``GET /api/memory?user_id=``, ``GET /health``: what the seed's ``RunChecks`` returns (l.506), the map
``{name: {"healthy", "message", "details", "timestamp", "duration" (ns)}}``, 503 when a check is unhealthy;
checks run concurrently, each bounded by ASSISTANT_HEALTH_TIMEOUT (default 5s). With ASSISTANT_HEALTH_PORT
set, ``GET /health`` is served on that port too (seed l.693-697: health on its own port, 8081).

Log line (Go ``slog`` JSON handler, AddSource): ``time, level, source{function,file,line}, msg`` + attrs,
with ``trace_id``, ``span_id``, ``request_id``, ``user_id`` from the request context; ``password`` and
``api_key`` (and every other secret key) become ``[REDACTED]``. Shipped to Loki in batches of
ASSISTANT_LOKI_BATCH_SIZE (100) or every ASSISTANT_LOKI_FLUSH_INTERVAL (1s), labels service, profile,
environment (ASSISTANT_ENVIRONMENT, production).

Metrics (namespace ``assistant``): assistant_requests_total{method,endpoint,status_code} (status_code
"error" when the handler raised), assistant_request_duration_seconds{method,endpoint} (buckets
0.001 * 2^k, k = 0..9), assistant_active_connections, assistant_errors_total{method,endpoint,error_type},
assistant_ai_tokens_total{provider,model,token_type}, assistant_ai_model_latency_seconds{provider,model},
assistant_ai_provider_health{provider}, assistant_ai_cost_total{provider,model}; process_* and python_*
collectors (the Go/process collectors' counterparts).

Tracing: server spans carry the old HTTP semconv names the seed uses (http.method, http.route,
http.scheme, http.host, http.status_code, user_agent.original) beside the current ones; status error for
responses >= 400. Sampling: base rate ASSISTANT_TRACING_SAMPLE_RATE (0.01; OBSCONF_TRACE_SAMPLE_RATE
overrides), always keeping errors, requests slower than OBSCONF_SLOW_REQUEST_MS (250) and the critical
paths /api/chat, /api/agents, /api/memory.
Env: ASSISTANT_LOG_LEVEL, ASSISTANT_LOG_FORMAT (json|text), ASSISTANT_TRACING_ENABLED,
ASSISTANT_TRACING_SAMPLE_RATE, ASSISTANT_METRICS_ENABLED, ASSISTANT_LOKI_BATCH_SIZE,
ASSISTANT_LOKI_FLUSH_INTERVAL, ASSISTANT_ENVIRONMENT, ASSISTANT_HEALTH_TIMEOUT, ASSISTANT_HEALTH_PORT.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

import orjson
import psutil
from fastapi import APIRouter, Query, Request, Response
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

from obsconf.reference.config import env_duration, env_int
from obsconf.reference.health import HEALTHY, UNHEALTHY, Check, overall, run_checks, tcp_probe
from obsconf.reference.labels import LabelGuard
from obsconf.reference.logs import CURRENT_REQUEST, LogEvent, RequestContext, iso_utc
from obsconf.reference.profiles.base import ProfileBase, RedMetrics, SeedSwitches, json_call, json_response
from obsconf.reference.telemetry import TelemetrySpec

SWITCHES = SeedSwitches("ASSISTANT_LOG_LEVEL", "ASSISTANT_LOG_FORMAT", "ASSISTANT_TRACING_ENABLED",
                        "ASSISTANT_METRICS_ENABLED", "ASSISTANT_TRACING_SAMPLE_RATE", pretty_format="text")
CRITICAL_PATHS = ("/api/chat", "/api/agents", "/api/memory")
MAX_MEMORY_USERS = 1000  # conversation memory is bounded: users beyond this evict the oldest
MAX_MEMORY_TEXT = 4096  # characters kept per remembered message
BUCKETS = tuple(0.001 * 2**k for k in range(10))
AGENTS = [
    {"id": "coder", "name": "Code Assistant", "capabilities": ["code", "review"]},
    {"id": "planner", "name": "Task Planner", "capabilities": ["plan", "schedule"]},
    {"id": "researcher", "name": "Researcher", "capabilities": ["search", "summarise"]},
]
_SRC_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _slog_duration(start: float) -> int:
    """Elapsed time since ``start`` (perf_counter) as slog's JSON handler writes a time.Duration: integer ns."""
    return int((time.perf_counter() - start) * 1e9)


def slog_json(ev: LogEvent) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "time": iso_utc(ev.time_ns, 9),
        "level": ev.level if ev.level != "TRACE" else "DEBUG",
        "source": {"function": ev.function, "file": os.path.relpath(ev.file, _SRC_ROOT) if ev.file else "",
                   "line": ev.line},
        "msg": ev.message,
    }
    rec.update(ev.fields)
    if ev.trace_id:
        rec["trace_id"] = ev.trace_id
        rec["span_id"] = ev.span_id
    req = ev.request
    if req is not None:
        rec["request_id"] = req.request_id
        if req.user_id:
            rec["user_id"] = req.user_id
    return rec


def _serve_health(profile: AssistantProfile, port: int) -> Any:
    """``GET /health`` on 127.0.0.1:``port`` in a thread (seed l.693-697: the health endpoint's own port)."""
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] != "/health":
                self.send_error(404)
                return
            status, body = asyncio.run(profile.health())
            data = orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass  # the service's own logger writes its lines

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="assistant-health", daemon=True).start()
    return server


class AssistantProfile(ProfileBase):
    name = "assistant"
    default_target = "assistant"
    error_status_from = 400  # seed 004: SetStatus(codes.Error) for every status >= 400
    legacy_http_attributes = True

    def telemetry_spec(self) -> TelemetrySpec:
        env = self.env
        return SWITCHES.spec(
            env, slog_json, sample_rate=0.01,
            critical_paths=CRITICAL_PATHS,
            want_caller=True,
            loki_labels={"environment": env.get("ASSISTANT_ENVIRONMENT") or "production"},
            loki_batch_size=env_int(env, "ASSISTANT_LOKI_BATCH_SIZE", 100),
            loki_flush_interval=env_duration(env, "ASSISTANT_LOKI_FLUSH_INTERVAL", 1.0),
        )

    def setup_metrics(self) -> None:
        tel = self.tel
        self.red = RedMetrics(tel, "assistant_requests_total", "assistant_request_duration_seconds",
                              buckets=BUCKETS, count_help="Total number of requests",
                              duration_help="Request duration in seconds")
        self.active = tel.gauge("assistant_active_connections", "Number of active connections")
        self.errors = tel.counter("assistant_errors_total", "Errors by endpoint and type",
                                  ["method", "endpoint", "error_type"])
        self.tokens = tel.counter("assistant_ai_tokens_total", "AI token usage", ["provider", "model", "token_type"])
        self.model_latency = tel.histogram("assistant_ai_model_latency_seconds", "AI model latency",
                                           ["provider", "model"], buckets=BUCKETS)
        self.provider_health = tel.gauge("assistant_ai_provider_health", "1 when the AI provider is healthy",
                                         ["provider"])
        self.cost = tel.counter("assistant_ai_cost_total", "AI cost in USD", ["provider", "model"])
        self.provider_health.labels("local").set(1)
        if tel.metrics_on:
            ProcessCollector(registry=tel.registry)
            PlatformCollector(registry=tel.registry)
            GCCollector(registry=tel.registry)
        self.memory: dict[str, deque[dict[str, Any]]] = {}
        self.health_timeout = env_duration(self.env, "ASSISTANT_HEALTH_TIMEOUT", 5.0)
        import sqlite3
        import threading

        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db_lock = threading.Lock()
        self.proc = psutil.Process()
        self.model_label = LabelGuard(tel.redactor, max_values=50)

    def access_target(self) -> str:
        return "assistant.http"

    def request_started(self) -> None:
        self.active.inc()

    def request_finished(self, method: str, route: str, status: int, seconds: float, ctx: RequestContext) -> None:
        self.active.dec()
        self.red.observe((method, route, str(status)), (method, route), seconds)

    def access_log(self, method: str, route: str, status: int, duration_ms: float, ctx: RequestContext,
                   error: BaseException | None) -> None:
        if error is not None:
            # seed 004 RecordError: requests_total{status_code="error"} plus a classified error counter
            self.red.count.labels(method, route, "error").inc()
            self.errors.labels(method, route, type(error).__name__).inc()
        super().access_log(method, route, status, duration_ms, ctx, error)

    # ---- chat ----
    def chat(self, body: dict[str, Any], ctx: RequestContext | None) -> tuple[int, dict[str, Any]]:
        start = time.perf_counter()
        wrong = [k for k in ("message", "user_id", "conversation_id", "model")
                 if body.get(k) is not None and not isinstance(body[k], str)]
        if wrong:  # str() of an object would log its repr, secrets and all
            return 400, {"error": f"{', '.join(wrong)} must be a string"}
        user_id = str(body.get("user_id") or (ctx.user_id if ctx else None) or "anonymous")
        if ctx is not None and not ctx.user_id:
            ctx.user_id = user_id
        conversation = str(body.get("conversation_id") or "default")
        model = self.model_label(str(body.get("model") or "local-small"))  # a label value: bounded, redacted
        message = str(body.get("message") or "")
        tracer = self.tel.tracer
        # seed l.758-765: the handler's work runs in a "process_request" span with request.id and request.type
        with tracer.start_as_current_span("process_request", kind=SpanKind.INTERNAL, attributes={
                "request.id": ctx.request_id if ctx else "", "request.type": "chat", "user.id": user_id,
                "conversation.id": conversation, "ai.model": model}) as span:
            extra = {k: body[k] for k in ("api_key", "password") if k in body}  # redacted by the logger
            self.log.info("Processing chat request", operation="handle_chat", user_id=user_id,
                          conversation_id=conversation, message_length=len(message), model=model, **extra)
            if not message or body.get("fail"):
                reason = "message is empty" if not message else "provider error (requested failure)"
                # seed l.768-772: RecordError and SetStatus(codes.Error) on the failed operation's span
                span.set_attribute("error.type", "validation" if not message else "provider")
                span.add_event("exception", {"exception.type": "ChatError", "exception.message": reason})
                span.set_status(Status(StatusCode.ERROR, reason))
                self.errors.labels("POST", "/api/chat", "validation" if not message else "provider").inc()
                self.log.error("Chat processing failed", operation="handle_chat", user_id=user_id,
                               error=reason, duration=_slog_duration(start))
                return (400 if not message else 500), {"error": reason}
            with tracer.start_as_current_span("ai.generate", kind=SpanKind.CLIENT, attributes={
                    "ai.provider": "local", "ai.model": model}) as gen:
                t0 = time.perf_counter()
                reply = f"Echo: {message[::-1]}"
                prompt_tokens, completion_tokens = max(1, len(message) // 4), max(1, len(reply) // 4)
                gen.set_attribute("ai.tokens.prompt", prompt_tokens)
                gen.set_attribute("ai.tokens.completion", completion_tokens)
                self.model_latency.labels("local", model).observe(time.perf_counter() - t0)
            self.tokens.labels("local", model, "prompt").inc(prompt_tokens)
            self.tokens.labels("local", model, "completion").inc(completion_tokens)
            self.cost.labels("local", model).inc((prompt_tokens + completion_tokens) * 1e-6)
            history = self.memory.get(user_id)
            if history is None:
                if len(self.memory) >= MAX_MEMORY_USERS:  # user ids come from clients: forget the oldest
                    self.memory.pop(next(iter(self.memory)))
                history = self.memory[user_id] = deque(maxlen=100)
            history.append({"conversation_id": conversation[:MAX_MEMORY_TEXT],
                            "message": message[:MAX_MEMORY_TEXT], "reply": reply[:MAX_MEMORY_TEXT],
                            "time": iso_utc(time.time_ns())})
        tokens = prompt_tokens + completion_tokens
        self.log.info("Chat request completed", operation="handle_chat", user_id=user_id,
                      conversation_id=conversation, response_length=len(reply), tokens_used=tokens,
                      duration=_slog_duration(start))
        return 200, {"reply": reply, "conversation_id": conversation, "tokens_used": tokens, "model": model}

    # ---- health ----
    def checks(self) -> dict[str, Check]:
        out: dict[str, Check] = {"memory": self._memory_check, "database": self._database_check}
        if self.config.logs_push_url:
            url = self.config.logs_push_url
            out["loki"] = lambda t: tcp_probe(url, t)
        if self.config.otlp_http_url:
            url2 = self.config.otlp_http_url
            out["tracing"] = lambda t: tcp_probe(url2, t)
        return out

    def _database_check(self, timeout: float) -> tuple[str, str, dict[str, Any]]:
        """Seed l.537-567: ping the database, report its connection pool. The reference keeps conversations in
        an in-memory SQLite database with one connection."""
        import sqlite3

        try:
            with self._db_lock:
                self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            return UNHEALTHY, f"Database ping failed: {exc}", {}
        return HEALTHY, "Database is healthy", {"open_connections": "1", "in_use": "0", "idle": "1",
                                                "users": str(len(self.memory))}

    def _memory_check(self, timeout: float) -> tuple[str, str, dict[str, Any]]:
        rss = self.proc.memory_info().rss
        return HEALTHY, "memory usage normal", {"rss_bytes": str(rss), "threads": str(self.proc.num_threads())}

    async def health(self) -> tuple[int, dict[str, Any]]:
        """The seed's ``RunChecks`` result (l.506-531): ``map[name]HealthStatus`` with the JSON tags of l.494-500."""
        results = await run_checks(self.checks(), self.health_timeout)
        now = iso_utc(time.time_ns(), 9)
        checks = {r.name: {"healthy": r.status == HEALTHY, "message": r.message,
                           "details": {k: str(v) for k, v in r.details.items()}, "timestamp": now,
                           "duration": int(r.duration_ms * 1_000_000)}
                  for r in results}
        return (200 if overall(results) == HEALTHY else 503), checks

    async def startup(self) -> None:
        await super().startup()
        port = env_int(self.env, "ASSISTANT_HEALTH_PORT", 0)
        if port:
            self.serve_aside(_serve_health(self, port))

    def add_routes(self, router: APIRouter) -> None:
        @router.post("/api/chat")
        async def chat(request: Request) -> Response:
            return await json_call(request, lambda body: self.chat(body, CURRENT_REQUEST.get()))

        @router.get("/api/agents")
        async def agents() -> Response:
            return json_response({"agents": AGENTS})

        @router.get("/api/memory")
        async def memory(user_id: str = Query("")) -> Response:
            ctx = CURRENT_REQUEST.get()
            uid = user_id or (ctx.user_id if ctx else "") or ""
            entries = list(self.memory.get(uid, ())) if uid else []
            return json_response({"user_id": uid or None, "entries": entries})

        @router.get("/health")
        async def health() -> Response:
            status, body = await self.health()
            return json_response(body, status)
