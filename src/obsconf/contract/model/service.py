"""The ``service`` section and the workload: how obsconf starts and calls the service, its dependencies,
listeners and bearer token, and the steps of a workload."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.contract.model.located import Located

#: What a dependency of the service may be: a backend of obsconf's stack, or a URL of the user's own.
DEPENDENCY_BACKENDS = ("s3", "pocketbase", "logs", "otlp")


@dataclass(frozen=True)
class DependencySpec(Located):
    """Something the service calls that obsconf puts behind a Toxiproxy proxy, so faults can be injected.

    ``upstream`` is one of :data:`DEPENDENCY_BACKENDS` (a backend of the session's stack) or a URL; the
    service reads the proxied address from the environment variable ``env``."""

    name: str
    env: str
    upstream: str

    @property
    def backend(self) -> str | None:
        """The stack backend this dependency is, or None for a URL of the user's own."""
        return self.upstream if self.upstream in DEPENDENCY_BACKENDS else None


@dataclass(frozen=True)
class ListenerSpec(Located):
    """Another port the service listens on: obsconf picks a free loopback port and gives it in ``env``."""

    name: str
    env: str


@dataclass(frozen=True)
class AuthSpec(Located):
    """Endpoints that need ``Authorization: Bearer <token>``. obsconf generates the token and hands it to the
    service in the environment variable ``env``; ``paths`` are exact paths or prefixes ending in ``/*``."""

    env: str
    paths: tuple[str, ...]
    scheme: str = "bearer"

    def covers(self, path: str) -> bool:
        """Whether a request to ``path`` (query string ignored) needs the token."""
        path = path.split("?", 1)[0]
        for p in self.paths:
            if p.endswith("/*"):
                if path == p[:-2] or path.startswith(p[:-1]):
                    return True
            elif path == p:
                return True
        return False


@dataclass(frozen=True)
class ServiceSpec(Located):
    """Which service the contract is about and how obsconf starts it.

    With ``command`` obsconf starts the user's service; with only ``profile`` it starts the reference
    service in that profile; with neither, the service must be given with ``--obsconf-target`` or
    ``--obsconf-target-cmd``."""

    name: str  # OTEL_SERVICE_NAME given to the service; Jaeger service name
    profile: str | None = None  # reference-service profile (persist, syncd, aurum, prethrift, assistant)
    command: tuple[str, ...] = ()  # argv; "{port}" is replaced by a free loopback port
    cwd: Path | None = None  # working directory of ``command`` (default: the contract's directory)
    metrics_path: str = "/metrics"
    ready_path: str | None = None  # readiness probe path (default: ``metrics_path``)
    ready_timeout: float = 30.0
    slo_path: str | None = None  # where the service reports its SLOs as JSON (seed 002's /v1/observability/slos)
    env: dict[str, str] = field(default_factory=dict)  # set when starting the service, after the standard ones
    dependencies: tuple[DependencySpec, ...] = ()
    listeners: tuple[ListenerSpec, ...] = ()
    auth: AuthSpec | None = None  # endpoints behind a bearer token

    @property
    def probe_path(self) -> str:
        return self.ready_path or self.metrics_path

    def dependency(self, name: str) -> DependencySpec | None:
        return next((d for d in self.dependencies if d.name == name), None)

    def listener(self, name: str) -> ListenerSpec | None:
        return next((x for x in self.listeners if x.name == name), None)


@dataclass(frozen=True)
class RequestStep(Located):
    """One HTTP request of the workload, sent ``repeat`` times; ``{run_id}`` in path/body is substituted."""

    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 1
    expect_status: tuple[int, ...] = (200,)
    name: str = ""


@dataclass(frozen=True)
class EmitStep(Located):
    """Ask the service to emit ``n`` numbered log lines (``POST {path}?n=N&level=L``, field ``seq``)."""

    n: int
    level: str = "INFO"
    path: str = "/logs/emit"
    expect_status: tuple[int, ...] = (200,)
    name: str = ""


Step = RequestStep | EmitStep


@dataclass(frozen=True)
class FieldMatch:
    """Selects log lines: the field at dotted ``field`` path is present and matches regex ``pattern``."""

    field: str
    pattern: str = ".*"
