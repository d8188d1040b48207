"""The fixed-rate generator against a tiny loopback server: counts, statuses, chunked bodies, refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from obsconf.errors import UsageError
from obsconf.overhead.loadgen import run_fixed_rate, run_saturated


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
            return
        status = 500 if self.path == "/fail" else 200
        body = b'{"ok":true}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the default stderr log
        del format, args


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_every_due_request_is_sent_and_answered(port: int) -> None:
    result = run_fixed_rate(port, "/ok", rate=400, seconds=0.25, connections=4)
    assert result.ok == 100 and result.errors == 0
    assert len(result.latency_us) == len(result.service_us) == len(result.send_lag_us) == 100
    assert all(lat >= svc > 0 for lat, svc in zip(result.latency_us, result.service_us, strict=True))


def test_error_statuses_are_counted_not_timed(port: int) -> None:
    result = run_fixed_rate(port, "/fail", rate=200, seconds=0.1, connections=2)
    assert result.ok == 0 and result.errors == 20
    assert result.error_samples[0] == "HTTP 500 on GET /fail"
    assert result.latency_us == []


def test_chunked_answers_keep_the_connection_usable(port: int) -> None:
    result = run_fixed_rate(port, "/chunked", rate=200, seconds=0.1, connections=1)
    assert (result.ok, result.errors) == (20, 0)


def test_refuses_non_loopback_targets_and_bad_numbers() -> None:
    with pytest.raises(UsageError, match="not loopback"):
        run_fixed_rate(80, "/", rate=1, seconds=1, host="192.0.2.1")
    with pytest.raises(UsageError, match="positive"):
        run_fixed_rate(80, "/", rate=0, seconds=1)


def test_closed_loop_measures_a_capacity_and_counts_errors(port: int) -> None:
    result = run_saturated(port, "/ok", seconds=0.2, connections=2)
    assert result.ok and result.errors == 0 and result.throughput_rps
    assert len(result.service_us) == result.ok and result.latency_us == []  # a closed loop times service only
    failing = run_saturated(port, "/fail", seconds=0.1, connections=1)
    assert failing.ok == 0 and failing.error_samples[0] == "HTTP 500 on GET /fail"
