"""A service's dependencies behind Toxiproxy: one proxy per ``service.dependencies`` entry.

The service reads each proxy's address from the variable its contract names, so a test can cut, slow,
reset or hang that dependency with real network faults while the service runs. Whether the service used a
proxy at all is read from Toxiproxy's own log ("Accepted client"), or where that log is out of reach from
the kernel's socket table: a variable the service ignores leaves no connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from obsconf.contract.model import DependencySpec
from obsconf.errors import ObsconfError, UsageError
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.toxiproxy import Proxy, ToxiproxyClient
from obsconf.target.env import loki_base, loki_env, otlp_env


@dataclass(frozen=True)
class ProxiedDependency:
    """One dependency, its proxy and the variables that point the service at the proxy."""

    spec: DependencySpec
    proxy: Proxy
    upstream_url: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.proxy.listen.rsplit(":", 1)[1])


def upstream_url(dep: DependencySpec, endpoints: Endpoints) -> str:
    """Where the dependency really is: a backend of the stack, or the URL the contract gives."""
    backend = dep.backend
    if backend is None:
        return dep.upstream
    url = {"s3": endpoints.s3_url, "pocketbase": endpoints.pocketbase_url, "logs": endpoints.logs_push_url,
           "otlp": endpoints.otlp_http_url}[backend]
    if not url:
        raise UsageError(f"{dep.loc or dep.name}: dependency {dep.name!r} is the stack's {backend}, which this "
                         f"stack does not run; start the stack with it (process or container mode), or give its "
                         f"URL as upstream")
    return url


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise UsageError(f"dependency upstream {url!r} has no host; use e.g. http://127.0.0.1:9000")
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _swap(url: str, listen: str) -> str:
    return urlsplit(url)._replace(netloc=listen).geturl()


def dependency_env(dep: DependencySpec, proxied_url: str, endpoints: Endpoints) -> dict[str, str]:
    """The variables that point a service at ``proxied_url``: the dependency's own variable and the
    standard ones of its kind (so an SDK that reads either goes through the proxy)."""
    env: dict[str, str] = {}
    value = proxied_url
    if dep.backend == "logs":
        env.update(loki_env(proxied_url))
        value = loki_base(proxied_url) if dep.env == "LOKI_URL" else proxied_url
    elif dep.backend == "otlp":
        env.update(otlp_env(proxied_url))
        value = f"{proxied_url.rstrip('/')}/v1/traces" if dep.env == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" else proxied_url
    elif dep.backend == "s3":
        env.update({"AWS_ENDPOINT_URL_S3": proxied_url, "AWS_ACCESS_KEY_ID": endpoints.s3_access_key,
                    "AWS_SECRET_ACCESS_KEY": endpoints.s3_secret_key, "AWS_REGION": "us-east-1"})
    elif dep.backend == "pocketbase":
        env.update({"POCKETBASE_URL": proxied_url, "POCKETBASE_ADMIN_EMAIL": endpoints.pocketbase_admin_email,
                    "POCKETBASE_ADMIN_PASSWORD": endpoints.pocketbase_admin_password})
    env[dep.env] = value
    return env


def proxy_dependencies(deps: Sequence[DependencySpec], endpoints: Endpoints, client: ToxiproxyClient | None,
                       prefix: str) -> dict[str, ProxiedDependency]:
    """A fresh proxy ``<prefix>-<name>`` for each dependency; on any failure, none is left behind."""
    if not deps:
        return {}
    if client is None:
        raise UsageError(f"service.dependencies ({', '.join(d.name for d in deps)}) need Toxiproxy in the stack; "
                         "use --obsconf-stack=process or container, or give --obsconf-toxiproxy-url")
    made: dict[str, ProxiedDependency] = {}
    try:
        existing = client.proxies()
        for dep in deps:
            url = upstream_url(dep, endpoints)
            name = f"{prefix}-{dep.name}"
            if name in existing:
                client.delete_proxy(name)
            proxy = client.create_proxy(name, _hostport(url))
            proxied = _swap(url, proxy.listen)
            made[dep.name] = ProxiedDependency(dep, proxy, url, dependency_env(dep, proxied, endpoints))
    except BaseException:
        remove_proxies(client, made.values())
        raise
    return made


def remove_proxies(client: ToxiproxyClient | None, deps: Sequence[ProxiedDependency] | object) -> None:
    if client is None:
        return
    for dep in list(deps):  # type: ignore[call-overload]
        # cleanup must not hide the error that brought us here
        with suppress(ObsconfError, requests.RequestException):
            client.delete_proxy(dep.proxy.name)


def accepted_clients(toxiproxy_log: str, proxy: str) -> int:
    """Connections Toxiproxy accepted on ``proxy``, from its JSON log ("Accepted client" lines)."""
    count = 0
    for line in toxiproxy_log.splitlines():
        if '"Accepted client"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("name") == proxy:
            count += 1
    return count


_TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN = "0A"


def connections_seen(port: int) -> int:
    """Sockets (not listening ones) with ``port`` at either end: established, closing or in TIME_WAIT
    (which the kernel keeps for a minute), so a recent connection through a proxy is still seen."""
    count = 0
    for table in _TCP_TABLES:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 4 or cols[3] == _LISTEN:
                continue
            local, remote = cols[1], cols[2]
            if int(local.rsplit(":", 1)[1], 16) == port or int(remote.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
