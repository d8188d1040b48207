"""The discarding sink answers OTLP/HTTP exporters and Loki pushes at once and counts what arrived."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from obsconf.ports import LOOPBACK, free_port
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok


@pytest.fixture()
def sink(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    with ManagedProcess("discarding sink", [sys.executable, "-m", "obsconf.overhead.discard", "--port", str(port)],
                        log_path=tmp_path / "sink.log", probe=http_ok(base + "/stats"), ready_timeout=15):
        yield base


def test_an_otlp_exporter_and_a_loki_push_succeed_and_are_counted(sink: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "t"}))
    exporter = OTLPSpanExporter(endpoint=sink + "/v1/traces", timeout=2)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("one"):
        pass
    provider.shutdown()
    push = requests.post(sink + "/insert/loki/api/v1/push", json={"streams": []}, timeout=5)
    chunked = requests.post(sink + "/insert/loki/api/v1/push", data=iter([b"ab", b"cd"]), timeout=5)
    assert push.status_code == chunked.status_code == 200
    stats = requests.get(sink + "/stats", timeout=5).json()
    assert stats["requests"] == {"/v1/traces": 1, "/insert/loki/api/v1/push": 2}
    assert stats["bytes"]["/v1/traces"] > 0
