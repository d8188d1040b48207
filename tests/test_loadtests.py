"""The Locust load tests in ``loadtests/``: the loopback guard and profile selection (pure, imported without
Locust, which would monkey-patch this process with gevent), then real headless Locust runs (slow) against a
stub server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import pytest

LOADTESTS = Path(__file__).resolve().parents[1] / "loadtests"
LOCUST = str(Path(sys.executable).with_name("locust"))
USERS = ["AssistantUser", "AurumUser", "CommonUser", "PersistUser", "PrethriftUser", "SyncdUser"]


def _guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_obsconf_guard_under_test", LOADTESTS / "_obsconf_guard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


guard = _guard()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://127.3.4.5", "http://localhost:1", "localhost:9",
                                 "http://LOCALHOST.", "http://[::1]:8000", "127.0.0.1:8000"])
def test_loopback_hosts_are_accepted(url: str) -> None:
    assert guard.is_loopback_host(url)
    guard.check_host(url, env={})


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://192.168.1.1", "https://example.com",
                                 "http://localhost.example.com", "http://0.0.0.0:8000", "http://[::2]", "",
                                 "http://127.0.0.1.nip.io"])
def test_other_hosts_are_refused_with_the_way_out(url: str) -> None:
    assert not guard.is_loopback_host(url)
    with pytest.raises(guard.RemoteHostRefused, match="OBSCONF_ALLOW_REMOTE_HOST=1"):
        guard.check_host(url, env={})


def test_remote_hosts_only_with_the_explicit_variable() -> None:
    guard.check_host("http://10.0.0.5", env={"OBSCONF_ALLOW_REMOTE_HOST": "1"})
    with pytest.raises(guard.RemoteHostRefused):
        guard.check_host("http://10.0.0.5", env={"OBSCONF_ALLOW_REMOTE_HOST": "yes"})


def test_select_profile_by_attribute() -> None:
    class A:
        profile = "persist"

    class B:
        profile = "common"

    assert guard.select_profile([A, B], "common") == [B]
    assert guard.select_profile([A, B], "aurum") == []


# --- real Locust runs (each a subprocess: Locust must not patch this process) ------------------------------

class _Stub(BaseHTTPRequestHandler):
    """Answers like the reference service's common routes; counts requests."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        status = 200
        if url.path == "/api/fail":
            status = int(query.get("status", ["500"])[0])
        elif url.path == "/api/slow":
            time.sleep(int(query.get("ms", ["300"])[0]) / 1000)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"status":"ok"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        del format, args


@pytest.fixture()
def stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Stub.hits = 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _locust(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCUST, "-f", str(LOADTESTS), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=LOADTESTS.parent)


@pytest.mark.slow
def test_locust_lists_one_user_class_per_profile() -> None:
    proc = _locust("--list")
    assert proc.returncode == 0, proc.stderr
    assert sorted(line.strip() for line in proc.stdout.splitlines()[1:] if line.strip()) == USERS


@pytest.mark.slow
def test_headless_run_of_the_default_profile(stub: str) -> None:
    proc = _locust("--headless", "-u", "5", "-r", "5", "-t", "2s", "--host", stub)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "GET      /api/ok" in proc.stderr and "/api/fail?status=" in proc.stderr
    assert "/snapshots" not in proc.stderr  # only the common profile ran
    assert _Stub.hits > 5


@pytest.mark.slow
def test_class_selection_and_tags(stub: str) -> None:
    # class names go before --tags, which takes every word after it
    proc = _locust("--headless", "-u", "2", "-r", "2", "-t", "2s", "--host", stub, "PrethriftUser", "--tags",
                   "critical")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "/api/search?q=[q]" in proc.stderr
    assert "/api/ok" not in proc.stderr  # tag filter removed the normal requests


@pytest.mark.slow
def test_remote_host_is_refused_before_any_request(stub: str) -> None:
    proc = _locust("--headless", "-u", "1", "-r", "1", "-t", "2s", "--host", "http://192.0.2.10:8000")
    assert proc.returncode == 1
    assert "refusing to send load to 'http://192.0.2.10:8000'" in proc.stderr
    assert "Aggregated" not in proc.stderr  # no run started


@pytest.mark.slow
def test_two_processes_share_the_same_loadtests(stub: str) -> None:
    proc = _locust("--headless", "--processes", "2", "-u", "4", "-r", "4", "-t", "3s", "--host", stub)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 workers connected" in proc.stderr
    assert _Stub.hits > 5
