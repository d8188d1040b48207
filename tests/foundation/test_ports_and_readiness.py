from __future__ import annotations

import socket

import pytest

from obsconf.errors import BackendNotReady, PortInUse
from obsconf.ports import LOOPBACK, ensure_free, free_port, free_ports
from obsconf.stack.readiness import NotReadyYet, wait_ready


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(10)
    assert len(set(ports)) == 10
    for port in ports:
        assert ensure_free(port, "test") == port


def test_port_in_use_names_the_port_and_the_fix() -> None:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"prometheus: port 127.0.0.1:{port} is already in use.*ss -ltnp"):
            ensure_free(port, "prometheus")


def test_wait_ready_returns_once_the_probe_passes() -> None:
    calls = iter([NotReadyYet("starting"), ConnectionError("refused"), None])

    def probe() -> None:
        exc = next(calls)
        if exc:
            raise exc

    assert wait_ready("thing", probe, timeout=5, interval=0) >= 0


def test_wait_ready_timeout_names_target_time_and_last_cause() -> None:
    def probe() -> None:
        raise NotReadyYet("GET http://127.0.0.1:1/ready -> 503")

    with pytest.raises(BackendNotReady, match=r"jaeger was not ready after .* s \(timeout 0 s\); last cause: "
                                              r"NotReadyYet: GET http://127.0.0.1:1/ready -> 503"):
        wait_ready("jaeger", probe, timeout=0.05, interval=0.01)


def test_wait_ready_does_not_retry_unexpected_errors() -> None:
    def probe() -> None:
        raise ValueError("a bug, not a transient condition")

    with pytest.raises(ValueError):
        wait_ready("thing", probe, timeout=5)


def test_wait_ready_stops_at_once_when_the_server_died() -> None:
    with pytest.raises(BackendNotReady, match="loki exited before it was ready: exit code 1"):
        wait_ready("loki", lambda: None, timeout=5, still_alive=lambda: "exit code 1")


def test_free_port_is_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind((LOOPBACK, port))
