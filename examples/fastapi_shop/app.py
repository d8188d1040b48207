"""A small shop API: products, orders, and order receipts kept in an S3 bucket.

Run: python app.py --port 8000  (binds 127.0.0.1; SIGTERM shuts down cleanly, flushing spans and logs)

Environment: the OTEL_* variables of the OpenTelemetry SDK, LOKI_PUSH_URL, S3_ENDPOINT_URL with
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION, SHOP_RECEIPTS_BUCKET, and SHOP_BUG=no-backoff.
"""

from __future__ import annotations

import argparse
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# The HTTP instrumentations emit the stable semantic conventions (http.request.method, http.route,
# http.response.status_code, url.path) only when asked; this service is new, so it asks.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

import uvicorn  # noqa: E402
from fastapi import FastAPI, HTTPException, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: E402
from prometheus_client import Counter  # noqa: E402
from prometheus_fastapi_instrumentator import Instrumentator  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from receipts import Backoff, ReceiptStore, StoreUnavailable  # noqa: E402
from telemetry import setup_logging, setup_tracing, stop_logging, telemetry_disabled  # noqa: E402

SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "shop")
log = logging.getLogger("shop")
tracer = trace.get_tracer("shop")

ORDERS = Counter("shop_orders_total", "Orders placed, by outcome.", ["outcome"])
for _outcome in ("placed", "store_unavailable"):
    ORDERS.labels(outcome=_outcome)

CATALOG: dict[str, dict] = {
    "sku-mug": {"name": "Mug", "price_cents": 1200, "stock": 500},
    "sku-tee": {"name": "T-shirt", "price_cents": 2500, "stock": 300},
    # imported from the old shop without a price: reading it is a server error until someone fixes the data
    "sku-legacy-poster": {"name": "Poster", "price_cents": None, "stock": 3},
}


class CatalogError(Exception):
    """A catalog record is unusable (data problem, answered with 500)."""


class Payment(BaseModel):
    method: str = "card"
    card_token: str = Field(min_length=1)


class OrderIn(BaseModel):
    product_id: str
    quantity: int = Field(ge=1, le=100)
    customer_email: str
    payment: Payment


def price_of(product_id: str) -> int:
    item = CATALOG.get(product_id)
    if item is None:
        log.info("product not found", extra={"product_id": product_id})
        raise HTTPException(404, f"no product {product_id}")
    if item["price_cents"] is None:
        raise CatalogError(f"product {product_id} has no price")
    return int(item["price_cents"])


def create_app() -> FastAPI:
    provider = None if telemetry_disabled() else setup_tracing()
    loki = setup_logging(SERVICE_NAME)
    store = ReceiptStore(
        os.environ.get("S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
        os.environ.get("SHOP_RECEIPTS_BUCKET", "shop-receipts"),
        Backoff(enabled=os.environ.get("SHOP_BUG", "") != "no-backoff"),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            store.ensure_bucket()
        except Exception as exc:  # noqa: BLE001 - the store may be down at start; orders retry it
            log.warning("receipt store not reachable at start", extra={"error": type(exc).__name__})
        log.info("shop started", extra={"receipts_bucket": store.bucket})
        yield
        log.info("shop stopping")
        stop_logging(loki)
        if provider is not None:
            provider.shutdown()

    app = FastAPI(title="shop", lifespan=lifespan)

    @app.exception_handler(CatalogError)
    async def catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
        log.error("catalog record is broken", extra={"path": request.url.path, "error": str(exc)})
        return JSONResponse({"detail": "catalog record is broken"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/products/{product_id}")
    def get_product(product_id: str) -> dict:
        price = price_of(product_id)
        item = CATALOG[product_id]
        log.info("product viewed", extra={"product_id": product_id})
        return {"id": product_id, "name": item["name"], "price_cents": price, "in_stock": item["stock"] > 0}

    @app.post("/orders", status_code=201)
    def place_order(order: OrderIn) -> dict:
        order_id = f"ord-{uuid.uuid4().hex[:12]}"
        with tracer.start_as_current_span("place_order") as span:
            span.set_attribute("shop.order.id", order_id)
            span.set_attribute("shop.product.id", order.product_id)
            span.set_attribute("shop.order.quantity", order.quantity)
            span.set_attribute("shop.payment.method", order.payment.method)
            total = price_of(order.product_id) * order.quantity
            span.set_attribute("shop.order.total_cents", total)
            # the receipt never holds the card token; the payment provider has it
            receipt = {"order_id": order_id, "product_id": order.product_id, "quantity": order.quantity,
                       "total_cents": total, "payment_method": order.payment.method}
            try:
                store.put_receipt(order_id, receipt)
            except StoreUnavailable:
                ORDERS.labels(outcome="store_unavailable").inc()
                raise HTTPException(503, "receipt store unavailable, try again later") from None
        ORDERS.labels(outcome="placed").inc()
        log.info("order placed", extra={"order_id": order_id, "product_id": order.product_id,
                                        "quantity": order.quantity, "total_cents": total})
        return {"order_id": order_id, "total_cents": total}

    @app.get("/orders/{order_id}/receipt")
    def get_receipt(order_id: str) -> dict:
        try:
            receipt = store.get_receipt(order_id)
        except StoreUnavailable:
            raise HTTPException(503, "receipt store unavailable, try again later") from None
        if receipt is None:
            log.info("receipt not found", extra={"order_id": order_id})
            raise HTTPException(404, f"no receipt for {order_id}")
        return receipt

    if not telemetry_disabled():
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,metrics", exclude_spans=["receive", "send"])
        Instrumentator(excluded_handlers=["/metrics", "/healthz"]).instrument(app).expose(app, include_in_schema=False)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    # log_config=None keeps the JSON logging set up above; the access log is off because it is written
    # after the request's span ended (no trace id); the app logs what matters inside the span.
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
