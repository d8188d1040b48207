"""The workload driver against a real loopback HTTP server (no sleeps, no timing assertions)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from obsconf.contract.model import EmitStep, RequestStep
from obsconf.errors import TargetUnreachable, UsageError
from obsconf.workload.run import expand_steps, run_workload


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str], object]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        status = 500 if self.path.startswith("/api/fail") else 200
        if self.path == "/text":
            payload, ctype = b"plain", "text/plain"
        else:
            payload, ctype = json.dumps({"path": self.path, "body": body}).encode(), "application/json"
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("X-Trace-Id", "a" * 32)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_steps_run_in_order_with_repeat_substitution_and_emit(server: str) -> None:
    steps = [
        RequestStep("POST", "/snapshots/s_{run_id}?agent_id=a", json={"session_id": "sess-{run_id}", "n": 1},
                    headers={"X-Request-ID": "req-{run_id}"}, repeat=2),
        EmitStep(n=5, level="WARN"),
        RequestStep("GET", "/api/fail?status=500", expect_status=(500,)),
        RequestStep("GET", "/text"),
    ]
    exchanges = run_workload(server + "/", steps, variables={"run_id": "r1"})
    assert [x.status for x in exchanges] == [200, 200, 200, 500, 200]
    assert exchanges[0].url == f"{server}/snapshots/s_r1?agent_id=a"
    assert exchanges[0].body == {"path": "/snapshots/s_r1?agent_id=a", "body": {"session_id": "sess-r1", "n": 1}}
    assert exchanges[2].method == "POST" and exchanges[2].url.endswith("/logs/emit?n=5&level=WARN")
    assert exchanges[4].body == "plain"
    assert exchanges[0].headers["X-Trace-Id"] == "a" * 32 and exchanges[0].sent_at_ns > 0
    assert _Handler.seen[0][2]["X-Request-ID"] == "req-r1"
    assert len(expand_steps(steps)) == len(exchanges)


def test_unreachable_target_names_the_url() -> None:
    from obsconf.ports import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TargetUnreachable, match=f"{url}/api/ok"):
        run_workload(url, [RequestStep("GET", "/api/ok")])


@pytest.mark.parametrize("url", ["http://10.0.0.1:80", "http://example.com", "http://192.168.1.5:8000", "not a url"])
def test_non_loopback_targets_are_refused_before_any_traffic(url: str) -> None:
    with pytest.raises(UsageError, match="loopback|no host"):
        run_workload(url, [RequestStep("GET", "/api/ok")])


def test_loopback_forms_are_accepted(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    assert run_workload(f"http://localhost:{port}", [RequestStep("GET", "/api/ok")])[0].status == 200


def test_auth_headers_reach_every_step_kind_with_the_trace_context(server: str) -> None:
    # an emit path behind service.auth once lost its token: the traceparent replaced the auth headers
    steps = [EmitStep(n=1, level="INFO"), RequestStep("GET", "/private")]
    run_workload(server, steps, auth=lambda path: {"Authorization": f"Bearer t-{path}"})
    sent = [headers for _, _, headers, _ in _Handler.seen]
    assert [h.get("Authorization") for h in sent] == ["Bearer t-/logs/emit", "Bearer t-/private"]
    assert all("traceparent" in h for h in sent)
