"""The app factory: common routes + the profile's routes, wrapped in the telemetry middleware."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request, Response

from obsconf.reference.auth import BearerAuth
from obsconf.reference.config import ReferenceConfig
from obsconf.reference.limits import InputLimits
from obsconf.reference.middleware import TelemetryMiddleware
from obsconf.reference.profiles import build_profile
from obsconf.reference.profiles.base import ProfileBase, json_response

MAX_SLOW_MS = 60_000


def _native_telemetry_off() -> dict[str, Any]:
    """FastAPI >= 0.16x ships its own OTel middleware (global providers); ours replaces it, so switch it
    off: two server spans per request would double the overhead and confuse the span-tree checks."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                          "auto_configure": False}}


def common_routes(profile: ProfileBase) -> APIRouter:
    """``/api/ok``, ``/api/slow``, ``/api/fail``, ``/api/error`` and ``/metrics``: present in every profile."""
    router = APIRouter()

    @router.get("/api/ok")
    async def ok() -> Response:
        return json_response({"status": "ok", "service": profile.tel.service_name})

    @router.get("/api/slow")
    async def slow(ms: int = Query(300, ge=0, le=MAX_SLOW_MS)) -> Response:
        await asyncio.sleep(ms / 1000.0)
        return json_response({"status": "ok", "slept_ms": ms})

    @router.get("/api/fail")
    async def fail(status: int = Query(500, ge=400, le=599)) -> Response:
        return json_response({"error": "requested failure", "status": status}, status=status)

    @router.get("/api/error")
    async def error() -> Response:
        # an exception escaping a handler: the middleware answers 500 and logs the stack trace
        raise RuntimeError("deliberate failure for error tracking")

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        return profile.metrics_response(request)

    return router


def create_app(profile: str, config: ReferenceConfig | None = None) -> FastAPI:
    """Build the reference service for ``profile``; ``config`` defaults to :meth:`ReferenceConfig.from_env`.

    Telemetry starts in the app's lifespan and is flushed, with a bounded timeout, when it ends (use
    ``with TestClient(app)`` in tests so both happen).
    """
    config = config if config is not None else ReferenceConfig.from_env(profile)
    if config.profile != profile:
        config = ReferenceConfig(**{**config.__dict__, "profile": profile})
    prof = build_profile(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prof.startup()
        prof.log.info("service started", profile=profile, service=config.service_name,
                      instrumentation="on" if config.instrumentation else "off")
        try:
            yield
        finally:
            prof.log.info("service stopping", profile=profile)
            await prof.shutdown()

    # /docs and /redoc would make browsers fetch JavaScript from a CDN: off, the service stays loopback-only
    app = FastAPI(title=f"obsconf reference service: {profile}", lifespan=lifespan,
                  docs_url=None, redoc_url=None, **_native_telemetry_off())
    app.include_router(common_routes(prof))
    router = APIRouter()
    prof.add_routes(router)
    app.include_router(router)
    # inner to outer: bearer tokens on observability endpoints, input size limits, telemetry (so refused
    # requests are traced, counted and logged like any other)
    rules = [rule for rule in prof.auth_rules() if rule.token]
    prof.active_auth_rules = rules  # the guard reads this list when the app handles its first request
    if rules:  # no layer at all when every endpoint is open (each ASGI layer costs a few us per request)
        app.add_middleware(BearerAuth, rules=rules)
    app.add_middleware(InputLimits, max_header_bytes=config.max_header_bytes, max_url_bytes=config.max_url_bytes,
                       max_body_bytes=config.max_body_bytes)
    app.add_middleware(TelemetryMiddleware, profile=prof)
    app.state.profile = prof
    app.state.telemetry = prof.tel
    return app
