"""A tiny HTTP service instrumented the usual way, used to prove that obsconf checks a service it did not write:
the OpenTelemetry SDK configured from the standard OTEL_* variables, prometheus_client, JSON log lines on
stdout. ``TINY_BUG=secret-in-log`` puts the request's api key into its log line; ``TINY_BUG=hang-on-sigterm``
makes it ignore SIGTERM, as a service stuck in its shutdown does.

    python app.py PORT
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

provider = TracerProvider()  # service.name from OTEL_SERVICE_NAME
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint from OTEL_EXPORTER_OTLP_*
tracer = provider.get_tracer("tiny")
registry = CollectorRegistry()
requests_total = Counter("tiny_requests", "Requests served", ["route", "status"], registry=registry)


def log(level: str, message: str, **fields: object) -> None:
    ctx = trace.get_current_span().get_span_context()
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "message": message,
              "trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}", **fields}
    print(json.dumps(record), flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path == "/metrics":
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.end_headers()
            self.wfile.write(body)
            return
        with tracer.start_as_current_span(f"GET {url.path}", context=propagate.extract(dict(self.headers)),
                                          kind=trace.SpanKind.SERVER) as span:
            status = 200 if url.path == "/hello" else 404
            span.set_attribute("http.response.status_code", status)
            key = parse_qs(url.query).get("api_key", [""])[0]
            extra = {"api_key": key} if os.environ.get("TINY_BUG") == "secret-in-log" else {}
            log("INFO", "said hello" if status == 200 else "not found", route=url.path, **extra)
            requests_total.labels(route=url.path, status=str(status)).inc()
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"hello\n")

    def log_message(self, *args: object) -> None:  # the JSON lines above are the access log
        pass


def main() -> None:
    import threading

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    if os.environ.get("TINY_BUG") == "hang-on-sigterm":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        # shutdown() waits for serve_forever() to return, so it runs in another thread than the loop
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    provider.shutdown()


if __name__ == "__main__":
    main()
