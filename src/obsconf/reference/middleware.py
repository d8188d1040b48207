"""Pure ASGI middleware: one server span, RED metrics, one access-log line and ``X-Trace-Id`` per request.

Not Starlette's ``BaseHTTPMiddleware`` (it costs ~160 us per request here). Per request it parses the
headers once, honours a W3C ``traceparent`` (the server span becomes its child), puts the span and a
:class:`~obsconf.reference.logs.RequestContext` in context for handlers and log lines, adds
``X-Trace-Id`` and ``X-Request-Id`` to the response, and after the response asks the profile to
record its metrics and access log. An exception escaping the app becomes a 500 answered here, so that
response carries ``X-Trace-Id`` too. With instrumentation off only the headers are produced.
"""

from __future__ import annotations

import random
import re
import time
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from obsconf.reference.logs import CURRENT_REQUEST, RequestContext

if TYPE_CHECKING:
    from obsconf.reference.profiles.base import ProfileBase

Scope = dict[str, Any]


def parse_traceparent(value: str) -> SpanContext | None:
    """The remote parent from a W3C ``traceparent`` header, or None when it is malformed."""
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        version = int(parts[0], 16)
        trace_id = int(parts[1], 16)
        span_id = int(parts[2], 16)
        flags = int(parts[3][:2], 16)
    except ValueError:
        return None
    if trace_id == 0 or span_id == 0 or (version == 0 and len(parts) != 4):
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags & 1))


def _read_headers(headers: Any) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None]:
    """traceparent, X-Request-Id, X-Tenant-Id, X-User-Id (the ids cut at 128 characters), User-Agent and Host
    from the ASGI headers, in one pass; None for each one absent."""
    traceparent = request_id = tenant = user = agent = host = None
    for key, val in headers:
        if key == b"traceparent":
            traceparent = val.decode("latin-1")
        elif key == b"x-request-id":
            request_id = val.decode("latin-1")[:128]
        elif key == b"x-tenant-id":
            tenant = val.decode("latin-1")[:128]
        elif key == b"x-user-id":
            user = val.decode("latin-1")[:128]
        elif key == b"user-agent":
            agent = val.decode("latin-1")
        elif key == b"host":
            host = val.decode("latin-1")
    return traceparent, request_id, tenant, user, agent, host


_CONVERTER = re.compile(r"\{(\w+):\w+\}")
_INTERNAL_ERROR = orjson.dumps({"detail": "Internal Server Error"})
_INTERNAL_ERROR_LENGTH = str(len(_INTERNAL_ERROR)).encode()


async def _answer_500(send_wrapper: Any, send: Any) -> None:
    """Answer an exception that escaped the app before its response began (through ``send_wrapper``, so the
    answer carries the trace headers too)."""
    await send_wrapper({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", _INTERNAL_ERROR_LENGTH)]})
    await send({"type": "http.response.body", "body": _INTERNAL_ERROR})


class TelemetryMiddleware:
    """Wrap the app: ``app.add_middleware(TelemetryMiddleware, profile=profile)``."""

    def __init__(self, app: Any, profile: ProfileBase) -> None:
        self.app = app
        self.profile = profile
        tel = profile.tel
        self.enabled = tel.enabled
        self.tracing = tel.tracing_on
        self.tracer = tel.tracer
        self.server_spans = tel.server_spans  # the cheap server span, when the setup allows it
        self.legacy = profile.legacy_http_attributes
        self.error_from = profile.error_status_from
        self.scrape_paths = profile.scrape_paths
        self._rand = random.Random()
        self._templates: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        traceparent, request_id, tenant, user, agent, host = _read_headers(scope["headers"])
        parent = parse_traceparent(traceparent) if traceparent else None
        scrape = path in self.scrape_paths
        span = token = None
        if self.tracing and not scrape:
            span, token = self._start_server_span(scope, method, path, parent, host, agent)
            span_ctx = span.get_span_context()
            trace_id = f"{span_ctx.trace_id:032x}"
            span_id = f"{span_ctx.span_id:016x}"
        else:
            trace_id = f"{parent.trace_id:032x}" if parent else f"{self._rand.getrandbits(128):032x}"
            span_id = f"{self._rand.getrandbits(64):016x}"
        rid = request_id or f"req-{trace_id[:16]}"
        rctx = RequestContext(trace_id, span_id, rid, tenant, user, method, path)
        rtoken = CURRENT_REQUEST.set(rctx)
        extra_headers = [(b"x-trace-id", trace_id.encode()), (b"x-request-id", rid.encode("latin-1"))]
        state = [500, False]  # status, response started

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state[0] = message["status"]
                state[1] = True
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        if self.enabled:
            self.profile.request_started()
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - answered as 500 here; re-raised if the answer had begun
            error = exc
            if state[1]:
                raise
            await _answer_500(send_wrapper, send)
        finally:
            if self.enabled:
                self._finish(scope, span, state[0], time.perf_counter() - start, rctx, error, scrape)
            CURRENT_REQUEST.reset(rtoken)
            if token is not None:
                otel_context.detach(token)

    def _start_server_span(self, scope: Scope, method: str, path: str, parent: SpanContext | None,
                           host: str | None, agent: str | None) -> tuple[Any, object]:
        """The server span (a child of ``parent`` when the request carried one), made the current span; and
        the token that detaches it."""
        # Required semconv attributes only: each attribute costs ~2 us to encode for OTLP export, and
        # the per-request budget is 100 us for span + metrics + log + export together.
        attrs: dict[str, Any] = {
            "http.request.method": method,
            "url.path": path,
            "url.scheme": scope.get("scheme", "http"),
        }
        if scope.get("query_string"):
            attrs["url.query"] = scope["query_string"].decode("latin-1")
        if self.legacy:  # seed 004 sets the older semconv names, host and user agent
            attrs.update({"http.method": method, "http.route": path, "http.scheme": attrs["url.scheme"],
                          "http.host": host or "", "user_agent.original": agent or "",
                          "operation.name": path})
        if self.server_spans is not None:
            span = self.server_spans.start(f"{method} {path}", parent, attrs)
            parent_ctx = Context()
        else:
            parent_ctx = set_span_in_context(NonRecordingSpan(parent), Context()) if parent else Context()
            span = self.tracer.start_span(f"{method} {path}", context=parent_ctx, kind=SpanKind.SERVER,
                                          attributes=attrs)
        return span, otel_context.attach(set_span_in_context(span, parent_ctx))

    def _finish(self, scope: Scope, span: Any, status: int, duration: float, rctx: RequestContext,
                error: BaseException | None, scrape: bool) -> None:
        method, path = rctx.method, rctx.path
        route_obj = scope.get("route")
        route = None
        if route_obj is not None:
            template = route_obj.path
            route = self._templates.get(template)
            if route is None:
                # "/snapshots/{key:path}" -> "/snapshots/{key}": converters are not part of the endpoint name
                route = self._templates[template] = _CONVERTER.sub(r"{\1}", template)
        self.profile.request_finished(method, route or "unmatched", status, duration, rctx)
        if span is not None:
            # one set_attributes call (each attribute write takes the span's lock), no rename when the
            # route is the path (fixed routes like /api/ok)
            if route:
                if route != path:
                    span.update_name(f"{method} {route}")
                attrs: dict[str, Any] = {"http.route": route, "http.response.status_code": status}
            else:
                span.update_name(method)
                attrs = {"http.response.status_code": status}
            if self.legacy:
                attrs["http.status_code"] = status
            span.set_attributes(attrs)
            if error is not None:
                span.record_exception(error)
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:200]))
            elif status >= self.error_from:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
        if not scrape:
            self.profile.access_log(method, route or path, status, duration * 1000.0, rctx, error)
        if span is not None:
            span.end()
