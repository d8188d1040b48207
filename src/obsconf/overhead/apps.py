"""The two small apps an overhead run measures beside the service: ``bare`` and ``stock``.

* ``bare``: an empty ASGI app (one fixed JSON answer, no framework) served by the same server as the
  reference (uvicorn with the same settings). Its CPU per request is the run's *calibration*: every
  figure can be read in bare-request units, which hold from machine to machine where microseconds do not.
* ``stock``: a FastAPI service instrumented the stock OpenTelemetry way, as its users write it:
  ``opentelemetry-instrumentation-fastapi``, a ``BatchSpanProcessor`` and the OTLP/HTTP exporter, all
  configured by the standard ``OTEL_*`` variables (``OTEL_SDK_DISABLED=true`` turns it off). It serves the
  reference's route shape (``GET /api/ok``) and ``GET /items/{item_id}``, so it is also a ready-made
  target for ``obsconf overhead --target-cmd``.

Run: ``python -m obsconf.overhead.apps bare|stock --port N`` (binds 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

_BARE_BODY = b'{"status":"ok"}'
_BARE_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BARE_BODY)).encode())]


async def bare_app(scope: Scope, receive: Callable[[], Awaitable[Message]],
                   send: Callable[[Message], Awaitable[None]]) -> None:
    """Answer every HTTP request with 200 and a fixed 15-byte JSON body; nothing else."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": _BARE_HEADERS})
        await send({"type": "http.response.body", "body": _BARE_BODY})
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def stock_app() -> Any:
    """The stock-OpenTelemetry FastAPI service (see the module docstring)."""
    from fastapi import FastAPI
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # everything from the standard variables: OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG),
    # OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, OTEL_BSP_SCHEDULE_DELAY, OTEL_SDK_DISABLED
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    service = os.environ.get("OTEL_SERVICE_NAME", "obsconf-stock")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        provider.shutdown()

    app = FastAPI(title="stock OpenTelemetry FastAPI service", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/api/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": f"item {item_id}"}

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


APPS: dict[str, Callable[[], Any]] = {"bare": lambda: bare_app, "stock": stock_app}


def serve(app: Any, port: int) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` with the reference's uvicorn settings (``obsconf.reference.serve``)."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=2, server_header=False,
    )).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m obsconf.overhead.apps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=sorted(APPS), help="which app to serve")
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    args = parser.parse_args(argv)
    serve(APPS[args.app](), args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
