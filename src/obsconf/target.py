"""The service under test: the reference service started per contract, or a user's running service.

The reference service's outbound traffic (object store, PocketBase, log push, OTLP) goes through Toxiproxy
proxies, so a test can cut, slow or reset any dependency with real network faults.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import requests

from obsconf.contract.model import AuthSpec, Contract
from obsconf.errors import TargetUnreachable
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack import Stack
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess
from obsconf.stack.toxiproxy import Proxy


@dataclass
class Target:
    """A running service under test and the proxies in front of its dependencies (name -> Proxy)."""

    base_url: str
    job: str  # the Prometheus job that scrapes it
    proxies: dict[str, Proxy] = field(default_factory=dict)
    process: ManagedProcess | None = None
    auth: AuthSpec | None = None  # endpoints behind a bearer token (contract service.auth)
    token: str = field(default="", repr=False)  # the token the service was given (or the user's, for a foreign one)

    def auth_headers(self, path: str) -> dict[str, str]:
        """``Authorization`` for a request to ``path`` when the contract puts it behind the token."""
        if self.auth is None or not self.token or not self.auth.covers(path):
            return {}
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def address(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.hostname}:{parts.port or 80}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def _hostport(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return f"{parts.hostname}:{parts.port}"


def _swap(url: str, proxy: Proxy) -> str:
    """``url`` with its host:port replaced by the proxy's listen address."""
    parts = urlsplit(url)
    return parts._replace(netloc=proxy.listen).geturl()


def proxied_endpoints(stack: Stack, prefix: str) -> tuple[Endpoints, dict[str, Proxy]]:
    """Endpoints whose dependencies are reached through fresh Toxiproxy proxies named ``<prefix>-<dep>``."""
    e = stack.endpoints
    client = stack.toxiproxy
    if client is None:
        return e, {}
    existing = client.proxies()
    proxies: dict[str, Proxy] = {}
    upstreams = {"s3": e.s3_url, "pocketbase": e.pocketbase_url, "logs": e.logs_push_url, "otlp": e.otlp_http_url}
    for dep, url in upstreams.items():
        if not url:
            continue
        name = f"{prefix}-{dep}"
        if name in existing:
            client.delete_proxy(name)
        proxies[dep] = client.create_proxy(name, _hostport(url))
    swapped = replace(
        e,
        s3_url=_swap(e.s3_url, proxies["s3"]) if "s3" in proxies else e.s3_url,
        pocketbase_url=_swap(e.pocketbase_url, proxies["pocketbase"]) if "pocketbase" in proxies else e.pocketbase_url,
        logs_push_url=_swap(e.logs_push_url, proxies["logs"]) if "logs" in proxies else e.logs_push_url,
        otlp_http_url=_swap(e.otlp_http_url, proxies["otlp"]) if "otlp" in proxies else e.otlp_http_url,
    )
    return swapped, proxies


def start_target(contract: Contract, stack: Stack, *, log_dir: Path, target_url: str | None = None,
                 env: dict[str, str] | None = None) -> Target:
    """Start the reference service for ``contract`` (or reach ``target_url``) and have Prometheus scrape it."""
    job = contract.service.name
    auth = contract.service.auth
    if target_url:
        base = target_url.rstrip("/")
        # a service obsconf did not start has its own token: the user exports it under the same name
        token = os.environ.get(auth.env, "") if auth is not None else ""
        try:
            requests.get(base + contract.service.metrics_path, timeout=5)
        except requests.RequestException as exc:
            raise TargetUnreachable(
                f"--obsconf-target {base} does not answer ({type(exc).__name__}: {exc}); start your service "
                f"there, or drop --obsconf-target to check the reference service") from None
        target = Target(base, job, auth=auth, token=token)
    else:
        from obsconf.reference.launch import start_reference

        endpoints, proxies = proxied_endpoints(stack, contract.service.profile)
        port = free_port()
        # a fresh token per run, handed over in the variable the contract names, never written anywhere
        token = secrets.token_urlsafe(32) if auth is not None else ""
        extra = {auth.env: token} if auth is not None else {}
        process = start_reference(contract.service.profile, port, endpoints, log_dir=log_dir,
                                  env={**contract.service.env, **extra, **(env or {})})
        target = Target(f"http://{LOOPBACK}:{port}", job, proxies, process, auth=auth, token=token)
    if stack.mode == "external":
        # obsconf cannot change an external Prometheus: it must already scrape the target as `job`;
        # the metric checks say so plainly when it does not
        return target
    try:
        scrape_token = target.token if auth is not None and auth.covers(contract.service.metrics_path) else None
        if scrape_token:
            stack.add_scrape_target(job, target.address, contract.service.metrics_path, bearer_token=scrape_token)
        else:
            stack.add_scrape_target(job, target.address, contract.service.metrics_path)
    except BaseException:
        target.stop()
        raise
    return target
