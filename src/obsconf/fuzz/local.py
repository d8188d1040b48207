"""The reference service in process with every sink captured: what each sink would have stored, as text.

Used by the fast fuzz tests (no backends): the sinks are the reference's own code paths up to the last
byte before the network. Log lines go through the real stdout sink, a rotating file (small, so it rotates
and compresses during a run), the Loki shipper's push encoding and the PocketBase shipper's records; spans
go through the real OTLP encoder (with its redaction); metrics are read from ``/metrics``; aurum's span
store is read through its API. :meth:`LocalService.sink_texts` returns them all.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from obsconf.reference import ReferenceConfig, create_app
from obsconf.reference.filesink import FileSink
from obsconf.reference.logs import StreamSink
from obsconf.reference.otlpencode import SpanEncoder
from obsconf.reference.pbship import PocketBaseShipper, PocketBaseSink
from obsconf.reference.rotation import RotatingFile
from obsconf.reference.shipping import LokiShipper, LokiSink

_UNUSED = "http://127.0.0.1:9"  # the capturing shippers never connect


class _CapturingLoki(LokiShipper):
    """The Loki shipper's batching and push encoding, with the POST replaced by keeping the body."""

    def __init__(self) -> None:
        super().__init__(_UNUSED + "/insert/loki/api/v1/push", {"service": "fuzz"}, buffer_max=1_000_000)
        self.bodies: list[bytes] = []

    def send(self, batch: list[tuple[int, bytes]], timeout: float) -> None:
        self.bodies.append(orjson.dumps({"streams": [{"stream": self.labels, "values": [
            [str(ts), line.decode("utf-8", "replace")] for ts, line in batch]}]}))


class _CapturingPocketBase(PocketBaseShipper):
    """The PocketBase shipper's records (validated, batched), kept instead of posted."""

    def __init__(self) -> None:
        super().__init__(_UNUSED, "fuzz@example.com", "unused-password", buffer_max=1_000_000)
        self.bodies: list[bytes] = []

    def send(self, batch: list[dict[str, Any]], timeout: float) -> None:
        self.bodies.append(orjson.dumps({"requests": [{"method": "POST", "body": rec} for rec in batch]}))


class _EncodedSpans(SpanProcessor):
    """Each finished span as the OTLP exporter would put it on the wire (redaction included)."""

    def __init__(self, encoder: SpanEncoder) -> None:
        self.encoder = encoder
        self.chunks: list[bytes] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.chunks.append(self.encoder.encode([span]))


class LocalService:
    """``with LocalService("assistant", tmp_path) as svc: svc.client.get(...); svc.sink_texts()``."""

    def __init__(self, profile: str, workdir: Path, *, env: Mapping[str, str] | None = None,
                 rotate_mb: float = 0.05, **config: Any) -> None:
        self.profile = profile
        self.workdir = Path(workdir)
        base_env = {"PERSIST_LOCAL_DIR": str(self.workdir / "store"), "SYNCD_DATA_DIR": str(self.workdir / "data"),
                    "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0", "ASSISTANT_TRACING_SAMPLE_RATE": "1.0"}
        cfg = ReferenceConfig.for_tests(profile, env={**base_env, **(env or {})}, **config)
        self.app = create_app(profile, cfg)
        prof = self.app.state.profile
        self.prof = prof
        tel = prof.tel
        self.stdout = io.BytesIO()
        tel.logger.add_sink(StreamSink(self.stdout))
        self.file = RotatingFile(self.workdir / "service.log", max_size_mb=rotate_mb, keep_files=10_000)
        tel.logger.add_sink(FileSink(self.file))
        self.loki = _CapturingLoki()
        tel.logger.add_sink(LokiSink(self.loki))
        self.pocketbase = _CapturingPocketBase()
        tel.logger.add_sink(PocketBaseSink(self.pocketbase, "fuzz-daemon", "fuzz-session"))
        self.spans = _EncodedSpans(SpanEncoder(tel.redactor))
        if tel.provider is not None:
            tel.provider.add_span_processor(self.spans)
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.metrics_headers: dict[str, str] = {}
        if cfg.metrics_token:
            self.metrics_headers["Authorization"] = f"Bearer {cfg.metrics_token}"

    def __enter__(self) -> LocalService:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(None, None, None)
        self.file.close()

    def _files(self) -> Iterator[tuple[str, str]]:
        self.file.flush()
        yield "file", self.file.path.read_text("utf-8", "replace")
        for rotated in self.file.rotated_files():
            raw = rotated.read_bytes()
            text = gzip.decompress(raw) if rotated.name.endswith(".gz") else raw
            yield f"file {rotated.name}", text.decode("utf-8", "replace")

    def sink_texts(self) -> list[tuple[str, str]]:
        """(sink, everything it holds) for every sink; flushes the shippers first."""
        self.loki.drain(deadline=None)
        self.pocketbase.drain(deadline=None)
        out = [("stdout", self.stdout.getvalue().decode("utf-8", "replace"))]
        out += list(self._files())
        out.append(("loki push", b"\n".join(self.loki.bodies).decode("utf-8", "replace")))
        out.append(("pocketbase", b"\n".join(self.pocketbase.bodies).decode("utf-8", "replace")))
        out.append(("otlp spans", b"".join(self.spans.chunks).decode("utf-8", "replace")))
        out.append(("metrics", self.client.get("/metrics", headers=self.metrics_headers).text))
        if self.profile == "aurum":
            listing = self.client.get("/v1/observability/traces?limit=1000", headers=self.metrics_headers)
            texts = [listing.text]
            for trace in listing.json().get("traces", []) if listing.status_code == 200 else []:
                texts.append(self.client.get(f"/v1/observability/traces/{trace['trace_id']}",
                                             headers=self.metrics_headers).text)
            out.append(("trace api", "\n".join(texts)))
        return out

    def stdout_lines(self) -> list[bytes]:
        return self.stdout.getvalue().split(b"\n")[:-1]
