"""Starting a user's service: the command, its placeholders, readiness, and what a failure shows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from obsconf.contract.command import expand, parse_command
from obsconf.errors import TargetStartFailed, UsageError
from obsconf.ports import free_port
from obsconf.target.launch import start_service


def test_command_is_shell_words_or_a_list_with_port_as_the_only_placeholder() -> None:
    assert parse_command("python app.py --port {port}") == ("python", "app.py", "--port", "{port}")
    assert parse_command(["go", "run", ".", "-addr=127.0.0.1:{port}"])[-1] == "-addr=127.0.0.1:{port}"
    assert expand(("x", "--port={port}"), 8123) == ["x", "--port=8123"]
    with pytest.raises(UsageError, match=r"unknown placeholder \{host\}.*the only placeholder is \{port\}"):
        parse_command("python app.py --bind {host}:{port}")
    with pytest.raises(UsageError, match="cannot split the command"):
        parse_command("python 'app.py")
    with pytest.raises(UsageError, match="empty"):
        parse_command("")


def _start(tmp_path: Path, code: str, timeout: float = 3.0):  # noqa: ANN202
    port = free_port()
    return start_service("service 'demo'", [sys.executable, "-c", code, "{port}"], port=port,
                         ready_url=f"http://127.0.0.1:{port}/metrics", env={"PATH": "/usr/bin:/bin"},
                         cwd=tmp_path, log_dir=tmp_path / "out", ready_timeout=timeout)


def test_a_command_that_exits_at_start_shows_its_own_output(tmp_path: Path) -> None:
    code = "import sys; print('loading config'); print('KeyError: DATABASE_URL', file=sys.stderr); sys.exit(3)"
    with pytest.raises(TargetStartFailed) as info:
        _start(tmp_path, code)
    text = str(info.value)
    assert "exited before it was ready: exit code 3" in text
    assert "loading config" in text and "KeyError: DATABASE_URL" in text
    assert f"command:   {sys.executable} -c" in text and "readiness: GET http://127.0.0.1:" in text


def test_a_port_that_never_opens_names_the_command_and_the_url(tmp_path: Path) -> None:
    with pytest.raises(TargetStartFailed) as info:
        _start(tmp_path, "import time; print('listening on the wrong port', flush=True); time.sleep(30)", timeout=1.5)
    text = str(info.value)
    assert "was not ready after" in text and "/metrics must answer" in text and "listening on the wrong port" in text
    assert f"cwd:       {tmp_path}" in text


def test_a_missing_executable_says_what_to_check(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(TargetStartFailed, match="check service.command"):
        start_service("service 'demo'", ["no-such-binary-obsconf", "{port}"], port=port,
                      ready_url=f"http://127.0.0.1:{port}/", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
                      log_dir=tmp_path / "out", ready_timeout=2)


def test_a_service_that_answers_is_ready_and_stops(tmp_path: Path) -> None:
    code = ("import http.server, sys\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n        self.send_response(404); self.end_headers()\n"
            "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()")
    proc = _start(tmp_path, code, timeout=10)
    try:
        assert proc.running()  # a 404 on the metrics path still means the service is up
    finally:
        proc.stop()
    assert not proc.running()
