"""Concurrent health checks with per-check timeouts (seeds 003 and 004), and loopback-only probes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"


@dataclass
class CheckResult:
    name: str
    status: str
    message: str
    duration_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status, "duration_ms": self.duration_ms,
                               "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


Check = Callable[[float], tuple[str, str, dict[str, Any]]]  # timeout -> (status, message, details)


async def run_checks(checks: Mapping[str, Check], timeout: float) -> list[CheckResult]:
    """Run every check at once in worker threads; a check slower than ``timeout`` is unhealthy."""

    async def one(name: str, check: Check) -> CheckResult:
        start = time.perf_counter()
        try:
            status, message, details = await asyncio.wait_for(asyncio.to_thread(check, timeout), timeout)
        except TimeoutError:
            status, message, details = UNHEALTHY, f"check timed out after {timeout:g} s", {}
        except Exception as exc:  # noqa: BLE001 - a failing check is a result, not a crash
            status, message, details = UNHEALTHY, f"{type(exc).__name__}: {exc}", {}
        return CheckResult(name, status, message, round((time.perf_counter() - start) * 1000.0, 2), details)

    return list(await asyncio.gather(*(one(n, c) for n, c in checks.items())))


def overall(results: list[CheckResult]) -> str:
    statuses = {r.status for r in results}
    if UNHEALTHY in statuses:
        return UNHEALTHY
    if DEGRADED in statuses:
        return DEGRADED
    return HEALTHY


def tcp_probe(url: str, timeout: float) -> tuple[str, str, dict[str, Any]]:
    """Healthy if a TCP connection to the URL's host:port opens within ``timeout``."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((host, port), timeout=timeout):
        pass
    return HEALTHY, f"{host}:{port} accepts connections", {"address": f"{host}:{port}"}


def http_probe(url: str, timeout: float, healthy_below: int = 500) -> tuple[str, str, dict[str, Any]]:
    """Healthy if GET ``url`` answers with a status below ``healthy_below`` within ``timeout``."""
    resp = requests.get(url, timeout=timeout)
    status = HEALTHY if resp.status_code < healthy_below else UNHEALTHY
    return status, f"GET {url} -> {resp.status_code}", {"status_code": resp.status_code}
