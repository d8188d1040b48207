"""Loopback port allocation. Every server obsconf starts listens on 127.0.0.1."""

from __future__ import annotations

import socket

from obsconf.errors import PortInUse

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports, all held open together so none is handed out twice."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def ensure_free(port: int, what: str) -> int:
    """Return ``port`` if nothing listens on it, else raise :class:`PortInUse` naming ``what``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            raise PortInUse(
                f"{what}: port {LOOPBACK}:{port} is already in use ({exc.strerror}). "
                f"Stop whatever listens there (`ss -ltnp 'sport = :{port}'` shows it) or pass 0 to pick a free port."
            ) from exc
    return port
