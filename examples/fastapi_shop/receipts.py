"""Receipts in an S3 bucket, written with an explicit retry loop and exponential backoff.

boto3's own retries are turned off (total_max_attempts=1) so that this loop is the only one: each attempt
is one PutObject call, traced as an `S3.PutObject` client span under the `store_receipt` span. The client
spans are made here rather than by opentelemetry-instrumentation-botocore, which still writes the
deprecated `rpc.system`, `rpc.service` and `http.status_code` names that a semantic-conventions check flags. Every retry is logged (WARNING), counted (shop_store_retries_total) and recorded on
the span (shop.store.retries).

SHOP_BUG=no-backoff retries at once, without the backoff: the one bug this example can switch on.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from opentelemetry import trace
from prometheus_client import Counter

log = logging.getLogger("shop.receipts")
tracer = trace.get_tracer("shop.receipts")

STORE_RETRIES = Counter(
    "shop_store_retries_total", "Retries of receipt store operations, by operation.", ["operation"]
)
# Prometheus' advice: export known label values from the start, so a dashboard sees 0 rather than nothing.
STORE_RETRIES.labels(operation="put_object")
_RETRYABLE_CODES = {"500", "502", "503", "504", "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"}


class StoreUnavailable(Exception):
    """The receipt store did not accept the receipt within the retry budget."""


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 4  # one try and three retries
    base_s: float = 0.1
    factor: float = 2.0
    jitter: float = 0.1  # +-10 %
    enabled: bool = True

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        if not self.enabled:
            return 0.0
        return self.base_s * self.factor ** (retry - 1) * random.uniform(1 - self.jitter, 1 + self.jitter)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return err.get("Code") in _RETRYABLE_CODES or status.startswith("5")
    return isinstance(exc, BotoCoreError)  # connection refused, reset, timed out


@contextmanager
def s3_call(operation: str, bucket: str, key: str) -> Iterator[trace.Span]:
    """A client span for one S3 call, with the current semantic-convention names."""
    with tracer.start_as_current_span(f"S3.{operation}", kind=trace.SpanKind.CLIENT, attributes={
            "rpc.system.name": "aws-api", "rpc.method": f"S3/{operation}",
            "aws.s3.bucket": bucket, "aws.s3.key": key}) as span:
        try:
            yield span
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status:
                span.set_attribute("http.response.status_code", int(status))
            raise


class ReceiptStore:
    def __init__(self, endpoint_url: str, bucket: str, backoff: Backoff) -> None:
        self.bucket = bucket
        self.backoff = backoff
        self._s3 = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=1,
                read_timeout=2,
                s3={"addressing_style": "path"},
            ),
        )

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing; a store that is down now is retried on each order."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._s3.create_bucket(Bucket=self.bucket)
            log.info("created receipts bucket", extra={"bucket": self.bucket})

    def put_receipt(self, order_id: str, receipt: dict) -> None:
        key = f"receipts/{order_id}.json"
        body = json.dumps(receipt).encode()
        with tracer.start_as_current_span("store_receipt") as span:
            span.set_attribute("shop.order.id", order_id)
            span.set_attribute("aws.s3.bucket", self.bucket)
            span.set_attribute("aws.s3.key", key)
            for attempt in range(1, self.backoff.max_attempts + 1):
                try:
                    with s3_call("PutObject", self.bucket, key):
                        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
                except (BotoCoreError, ClientError) as exc:
                    span.set_attribute("shop.store.retries", attempt - 1)
                    if attempt == self.backoff.max_attempts or not _retryable(exc):
                        log.error("receipt upload failed", extra={
                            "order_id": order_id, "attempts": attempt, "error": type(exc).__name__})
                        raise StoreUnavailable(f"receipt store failed after {attempt} attempts") from exc
                    delay = self.backoff.delay(attempt)
                    STORE_RETRIES.labels(operation="put_object").inc()
                    log.warning("retrying receipt upload", extra={
                        "order_id": order_id, "retry_attempt": attempt, "max_retries": self.backoff.max_attempts - 1,
                        "delay_ms": round(delay * 1000, 1), "error": type(exc).__name__})
                    time.sleep(delay)
                else:
                    span.set_attribute("shop.store.retries", attempt - 1)
                    return

    def get_receipt(self, order_id: str) -> dict | None:
        """The stored receipt, or None when there is none. One attempt: a read can be retried by the caller."""
        key = f"receipts/{order_id}.json"
        try:
            with s3_call("GetObject", self.bucket, key):
                got = self._s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StoreUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return json.loads(got["Body"].read())
