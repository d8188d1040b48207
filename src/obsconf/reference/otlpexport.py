"""The OTLP/HTTP span exporter with the lean encoder of :mod:`obsconf.reference.otlpencode`.

Everything but the encoding is the SDK's exporter (endpoint, headers, compression, retries, timeouts,
the size limit, its own metrics). The SDK keeps that HTTP client in a private attribute (``_client``,
opentelemetry-exporter-otlp-proto-http >= 1.40); with another layout this class falls back to the
SDK's own encoder, and then ``redacts_attributes`` is False so the caller redacts as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from obsconf.reference.otlpencode import SpanEncoder
from obsconf.reference.redact import Redactor

_logger = logging.getLogger(__name__)


class LeanOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter(endpoint=..., timeout=...)`` that encodes with :class:`SpanEncoder` (and redacts)."""

    def __init__(self, *, redactor: Redactor | None = None, **kwargs: Any) -> None:
        if "session" not in kwargs:
            # the collector is on loopback: no proxy, netrc or CA-bundle lookups from the environment on
            # every POST (a third of requests' per-call CPU)
            session = requests.Session()
            session.trust_env = False
            kwargs["session"] = session
        super().__init__(**kwargs)
        self.encoder = SpanEncoder(redactor)
        client = getattr(self, "_client", None)
        self.lean = callable(getattr(client, "export", None)) and hasattr(self, "_metrics") \
            and hasattr(self, "_max_request_size")
        #: True when span attributes leave here redacted (callers then skip their own copy-and-redact)
        self.redacts_attributes = self.lean and redactor is not None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.lean or getattr(self, "_shutdown", False):
            return super().export(spans)
        # the SDK's export with its encoder swapped: same metrics, size limit and client
        with self._metrics.export_operation(len(spans)) as result:
            try:
                data = self.encoder.encode(spans)
            except Exception as error:  # noqa: BLE001 - as the SDK: a bad batch fails, the thread lives
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if 0 < self._max_request_size < len(data):
                _logger.warning("Dropping span batch: serialized size %d bytes exceeds max_request_size %d bytes.",
                                len(data), self._max_request_size)
                result.error = ValueError(f"span batch of {len(data)} bytes exceeds {self._max_request_size}")
                return SpanExportResult.FAILURE
            outcome = self._client.export(data)
            if not outcome.success:
                result.error = outcome.error
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
