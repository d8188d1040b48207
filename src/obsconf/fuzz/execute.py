"""Send a :class:`~obsconf.fuzz.inputs.Request` in process (an ASGI app through a TestClient) or over HTTP to
a running service on loopback, and record what came back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from obsconf.fuzz.inputs import Request
from obsconf.workload.run import ensure_loopback


@dataclass(frozen=True)
class Outcome:
    """What one request got: a status (0 when no answer came) and how long it took."""

    method: str
    route: str
    target: str
    status: int
    seconds: float
    designed_failure: bool
    error: str = ""

    @property
    def server_error(self) -> bool:
        """A 5xx (or no answer at all) that no route promises on purpose."""
        return (self.status >= 500 or self.status == 0) and not self.designed_failure


def send_asgi(client: Any, req: Request) -> Outcome:
    """Through a ``fastapi.testclient.TestClient`` (no sockets; the app's own middleware applies)."""
    began = time.perf_counter()
    resp = client.request(req.method, req.target, headers=list(req.headers), content=req.body)
    return Outcome(req.method, req.route, req.target[:200], resp.status_code, time.perf_counter() - began,
                   req.designed_failure)


def send_http(session: requests.Session, base_url: str, req: Request, *, timeout: float = 10.0) -> Outcome:
    """Over HTTP to ``base_url`` (loopback only)."""
    ensure_loopback(base_url)
    began = time.perf_counter()
    try:
        resp = session.request(req.method, base_url.rstrip("/") + req.target, headers=dict(_merge(req.headers)),
                               data=req.body, timeout=timeout, allow_redirects=False)
        status, error = resp.status_code, ""
    except requests.RequestException as exc:
        status, error = 0, f"{type(exc).__name__}: {str(exc)[:200]}"
    return Outcome(req.method, req.route, req.target[:200], status, time.perf_counter() - began,
                   req.designed_failure, error)


def _merge(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """requests takes one value per name: repeated names are joined as HTTP allows (``, ``)."""
    merged: dict[str, str] = {}
    for k, v in headers:
        merged[k] = f"{merged[k]}, {v}" if k in merged else v
    return list(merged.items())
