"""Jaeger v2 (an OpenTelemetry Collector distribution): OTLP receivers in, in-memory store, query API out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obsconf.ports import LOOPBACK
from obsconf.stack.process import ManagedProcess, backend_process
from obsconf.stack.readiness import http_ok


@dataclass(frozen=True)
class JaegerPorts:
    otlp_grpc: int
    otlp_http: int
    query_http: int
    query_grpc: int
    health: int


def jaeger_config(ports: JaegerPorts, host: str = LOOPBACK) -> str:
    """The collector config: only OTLP receivers, memory storage and the query extension, all on ``host``.

    The batch timeout is short so that spans are queryable a fraction of a second after export.
    Internal telemetry is off: its default Prometheus port (8888) would clash between sessions.
    """
    return f"""\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: "{host}:{ports.health}"
  jaeger_query:
    # self-tracing off: its exporter dials 127.0.0.1:4317 and stalls shutdown for 5 s when nothing listens there
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: "{host}:{ports.query_http}"
    grpc:
      endpoint: "{host}:{ports.query_grpc}"
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "{host}:{ports.otlp_grpc}"
      http:
        endpoint: "{host}:{ports.otlp_http}"
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def jaeger_process(binary: Path, ports: JaegerPorts, workdir: Path, *, timeout: float, registry: Path) -> ManagedProcess:
    config = workdir / "jaeger.yaml"
    config.write_text(jaeger_config(ports))
    return backend_process("jaeger", [str(binary), "--config", str(config)], workdir,
                           probe=http_ok(f"http://{LOOPBACK}:{ports.query_http}/api/services"), timeout=timeout,
                           registry=registry)
