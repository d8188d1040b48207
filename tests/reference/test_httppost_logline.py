"""HttpPoster (the Loki shipper's keep-alive client) and the logger's request-line fast path."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from obsconf.reference.httppost import HttpPoster
from obsconf.reference.logs import CURRENT_REQUEST, Logger, RequestContext, StreamSink
from obsconf.reference.profiles.persist.profile import rust_json
from obsconf.reference.redact import Redactor
from obsconf.reference.shipping import LokiShipper, ShipError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 204
    close_after = False

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.bodies.append(body)
        self.server.peers.add(self.client_address)
        self.send_response(self.status)
        self.send_header("content-length", "0")
        self.end_headers()
        if self.close_after:  # drop the keep-alive connection without saying so (an idle timeout)
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    def start(status=204, close_after=False):
        handler = type("H", (_Handler,), {"status": status, "close_after": close_after})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.bodies, srv.peers = [], set()
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        started.append(srv)
        return srv

    started = []
    yield start
    for srv in started:
        srv.shutdown()
        srv.server_close()


def test_posts_reuse_one_connection(server):
    srv = server()
    poster = HttpPoster(f"http://127.0.0.1:{srv.server_port}/insert/loki/api/v1/push?x=1")
    for i in range(3):
        assert poster.post(b"%d" % i, 2.0, {"Content-Type": "application/json"}).status == 204
    poster.close()
    assert srv.bodies == [b"0", b"1", b"2"] and len(srv.peers) == 1


def test_connection_closed_by_the_server_is_replaced(server):
    srv = server(close_after=True)
    poster = HttpPoster(f"http://127.0.0.1:{srv.server_port}/push")
    for i in range(3):
        assert poster.post(b"%d" % i, 2.0, {}).status == 204
    assert srv.bodies == [b"0", b"1", b"2"]


def test_refused_connection_raises_oserror():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_port
    srv.server_close()
    with pytest.raises(OSError):
        HttpPoster(f"http://127.0.0.1:{port}/push").post(b"x", 1.0, {})


def test_rejects_non_http_urls():
    with pytest.raises(ValueError, match="http"):
        HttpPoster("ftp://127.0.0.1/push")


def test_loki_shipper_classifies_answers(server):
    ok = server()
    bad = server(status=400)
    down = server(status=503)
    line = orjson.dumps({"message": "hi"})
    LokiShipper(f"http://127.0.0.1:{ok.server_port}/push", {"service": "persist"}).send([(5, line)], 2.0)
    assert orjson.loads(ok.bodies[0]) == {"streams": [{"stream": {"service": "persist"},
                                                       "values": [["5", '{"message":"hi"}']]}]}
    with pytest.raises(ShipError) as rejected:
        LokiShipper(f"http://127.0.0.1:{bad.server_port}/push", {}).send([(5, line)], 2.0)
    assert not rejected.value.retryable and "400" in str(rejected.value)
    with pytest.raises(ShipError) as unavailable:
        LokiShipper(f"http://127.0.0.1:{down.server_port}/push", {}).send([(5, line)], 2.0)
    assert unavailable.value.retryable


def test_request_line_equals_the_general_path():
    def logger():
        buf = io.BytesIO()
        log = Logger(rust_json, redactor=Redactor())
        log.add_sink(StreamSink(buf))
        return log, buf

    ctx = RequestContext("a" * 32, "b" * 16, "req-1", method="GET", path="/api/ok")
    fields = {"method": "GET", "path": "/api/ok", "status_code": 200, "duration_ms": 0.5}
    token = CURRENT_REQUEST.set(ctx)
    try:
        general, general_buf = logger()
        general.bind("persist_server::http").log("INFO", "request completed", **fields)
        fast, fast_buf = logger()
        fast.bind("persist_server::http").request_line("INFO", "request completed", dict(fields), ctx)
    finally:
        CURRENT_REQUEST.reset(token)
    a, b = orjson.loads(general_buf.getvalue()), orjson.loads(fast_buf.getvalue())
    a.pop("timestamp"), b.pop("timestamp")
    assert a == b and b["trace_id"] == "a" * 32 and b["span_id"] == "b" * 16
