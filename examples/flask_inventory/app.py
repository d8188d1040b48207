"""Inventory service: items, stock levels and reservations (Flask on waitress).

Run: python app.py --port 8001  (binds 127.0.0.1; SIGTERM stops it after in-flight requests, flushing spans)

Environment: the OTEL_* variables of the OpenTelemetry SDK, and INVENTORY_BUG=secret-in-log.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import uuid
from types import FrameType

# The HTTP instrumentation emits the stable semantic conventions (http.request.method, http.route,
# http.response.status_code, url.path) only when asked; this service is new, so it asks.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

import structlog  # noqa: E402
from flask import Flask, Response, g, jsonify, request  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware  # noqa: E402
from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app  # noqa: E402
from telemetry import setup_logging, setup_tracing, telemetry_disabled  # noqa: E402
from waitress import serve  # noqa: E402
from werkzeug.middleware.dispatcher import DispatcherMiddleware  # noqa: E402

log = structlog.get_logger("inventory")
tracer = trace.get_tracer("inventory")

REQUESTS = Counter("inventory_http_requests_total", "HTTP requests served.", ["method", "route", "status"])
LATENCY = Histogram("inventory_http_request_duration_seconds", "Time to serve an HTTP request.", ["method", "route"])
RESERVATIONS = Counter("inventory_reservations_total", "Reservation attempts, by outcome.", ["outcome"])
STOCK = Gauge("inventory_stock_units", "Units in stock, by SKU.", ["sku"])

ITEMS = {
    "sku-mug": {"name": "Mug", "stock": 500},
    "sku-tee": {"name": "T-shirt", "stock": 300},
    "sku-poster": {"name": "Poster", "stock": 1},
}
_stock_lock = threading.Lock()


def create_app() -> Flask:
    app = Flask("inventory")
    leak_body = os.environ.get("INVENTORY_BUG", "") == "secret-in-log"
    metrics_on = not telemetry_disabled()
    for sku, item in ITEMS.items():
        STOCK.labels(sku=sku).set(item["stock"])
    for outcome in ("reserved", "insufficient_stock"):
        RESERVATIONS.labels(outcome=outcome)

    @app.before_request
    def name_the_span() -> None:
        g.started = time.perf_counter()
        # the WSGI middleware does not know Flask's routes: name the server span "{method} {route}"
        if request.url_rule is not None:
            span = trace.get_current_span()
            span.update_name(f"{request.method} {request.url_rule.rule}")
            span.set_attribute("http.route", request.url_rule.rule)

    @app.after_request
    def count(response: Response) -> Response:
        if metrics_on:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUESTS.labels(method=request.method, route=route, status=str(response.status_code)).inc()
            LATENCY.labels(method=request.method, route=route).observe(time.perf_counter() - g.started)
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/items/<sku>")
    def get_item(sku: str) -> tuple[Response, int]:
        item = ITEMS.get(sku)
        if item is None:
            log.info("item not found", sku=sku)
            return jsonify(error=f"no item {sku}"), 404
        log.info("item looked up", sku=sku, stock=item["stock"])
        return jsonify(sku=sku, name=item["name"], stock=item["stock"]), 200

    @app.get("/items/<sku>/forecast")
    def forecast(sku: str) -> tuple[Response, int]:
        log.error("forecast requested but not implemented", sku=sku)
        return jsonify(error="demand forecasting is not implemented yet"), 501

    @app.post("/items/<sku>/reservations")
    def reserve(sku: str) -> tuple[Response, int]:
        body = request.get_json(force=True)
        if leak_body:
            log.info("reservation requested", sku=sku, body=body)  # the bug: the customer's API token too
        else:
            log.info("reservation requested", sku=sku, quantity=body.get("quantity"),
                     customer_id=body.get("customer", {}).get("id"))
        quantity = int(body.get("quantity", 0))
        if sku not in ITEMS:
            log.info("item not found", sku=sku)
            return jsonify(error=f"no item {sku}"), 404
        if quantity < 1:
            log.info("reservation refused", sku=sku, reason="quantity must be at least 1")
            return jsonify(error="quantity must be at least 1"), 400
        with tracer.start_as_current_span("reserve_stock") as span:
            span.set_attribute("inventory.sku", sku)
            span.set_attribute("inventory.quantity", quantity)
            with _stock_lock:
                with tracer.start_as_current_span("check_availability") as check:
                    available = ITEMS[sku]["stock"]
                    check.set_attribute("inventory.available", available)
                if available < quantity:
                    span.set_attribute("inventory.outcome", "insufficient_stock")
                    RESERVATIONS.labels(outcome="insufficient_stock").inc()
                    log.warning("insufficient stock", sku=sku, requested=quantity, available=available)
                    return jsonify(error="insufficient stock", available=available), 409
                ITEMS[sku]["stock"] = remaining = available - quantity
            STOCK.labels(sku=sku).set(remaining)
            span.set_attribute("inventory.outcome", "reserved")
            RESERVATIONS.labels(outcome="reserved").inc()
            reservation_id = f"res-{uuid.uuid4().hex[:12]}"
            log.info("stock reserved", sku=sku, quantity=quantity, remaining=remaining, reservation_id=reservation_id)
            return jsonify(reservation_id=reservation_id, remaining=remaining), 201

    # /metrics is served beside the app, outside the traced part: scrapes make no spans
    app.wsgi_app = DispatcherMiddleware(OpenTelemetryMiddleware(app.wsgi_app), {"/metrics": make_wsgi_app()})
    return app


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)  # waitress ends its loop on SystemExit and finishes the requests in flight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8001")))
    args = parser.parse_args()
    setup_logging()
    provider = None if telemetry_disabled() else setup_tracing()
    signal.signal(signal.SIGTERM, _stop)
    log.info("inventory starting", port=args.port)
    try:
        serve(create_app(), host="127.0.0.1", port=args.port, threads=8)
    finally:
        if provider is not None:
            provider.shutdown()  # exports the spans still queued
        log.info("inventory stopped")


if __name__ == "__main__":
    main()
