"""Toxiproxy: the server process, and a client to create proxies and toxics for fault injection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import ObsconfError
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack.process import ManagedProcess, backend_process
from obsconf.stack.readiness import http_ok


def toxiproxy_process(binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> ManagedProcess:
    return backend_process("toxiproxy", [str(binary), "-host", LOOPBACK, "-port", str(port)], workdir,
                           probe=http_ok(f"http://{LOOPBACK}:{port}/version"), timeout=timeout, registry=registry)


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str  # host:port that clients connect to
    upstream: str  # host:port of the real server

    @property
    def url(self) -> str:
        return f"http://{self.listen}"


class ToxiproxyClient:
    """Create proxies and toxics. Toxic types: latency, bandwidth, slow_close, timeout, reset_peer,
    slicer, limit_data (see Toxiproxy's README); ``stream`` is ``downstream`` or ``upstream``."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._session.request(method, f"{self.url}{path}", timeout=self.timeout, **kwargs)
        if resp.status_code >= 300:
            raise ObsconfError(f"Toxiproxy {method} {self.url}{path} -> {resp.status_code}: {resp.text.strip()}")
        return resp.json() if resp.content else None

    def version(self) -> str:
        return str(self._session.get(f"{self.url}/version", timeout=self.timeout).text.strip())

    def create_proxy(self, name: str, upstream: str, listen: str | None = None) -> Proxy:
        """Proxy ``upstream`` (host:port) on ``listen`` (default: a free loopback port)."""
        listen = listen or f"{LOOPBACK}:{free_port()}"
        body = self._call("POST", "/proxies", json={"name": name, "listen": listen, "upstream": upstream, "enabled": True})
        return Proxy(body["name"], body["listen"], body["upstream"])

    def proxies(self) -> dict[str, Proxy]:
        return {n: Proxy(p["name"], p["listen"], p["upstream"]) for n, p in self._call("GET", "/proxies").items()}

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Disable a proxy to cut the dependency off entirely (connections refused), enable to restore."""
        self._call("POST", f"/proxies/{name}", json={"enabled": enabled})

    def add_toxic(self, proxy: str, type: str, attributes: dict[str, Any], *, stream: str = "downstream",
                  toxicity: float = 1.0, name: str | None = None) -> str:
        name = name or f"{type}_{stream}"
        self._call("POST", f"/proxies/{proxy}/toxics",
                   json={"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes})
        return name

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/proxies/{proxy}/toxics"))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

    @contextmanager
    def toxic(self, proxy: str, type: str, attributes: dict[str, Any], **kwargs: Any) -> Iterator[str]:
        """A toxic for the duration of a ``with`` block; removed even if the block fails."""
        name = self.add_toxic(proxy, type, attributes, **kwargs)
        try:
            yield name
        finally:
            self.remove_toxic(proxy, name)

    @contextmanager
    def outage(self, proxy: str) -> Iterator[None]:
        """The dependency behind ``proxy`` is unreachable for the duration of a ``with`` block."""
        self.set_enabled(proxy, False)
        try:
            yield
        finally:
            self.set_enabled(proxy, True)
