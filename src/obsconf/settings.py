"""One typed settings object, built once: explicit argument, then ``OBSCONF_*`` env var, then default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from obsconf.envvars import env_choice, env_float

#: Where provisioned binaries, built images' inputs and the run registry live.
ENV_CACHE = "OBSCONF_CACHE"
#: How the backend stack is run: auto | process | container | attach | external.
ENV_STACK = "OBSCONF_STACK"
#: Seconds to wait for each backend to become ready.
ENV_READY_TIMEOUT = "OBSCONF_READY_TIMEOUT"
#: External backends (``--obsconf-stack=external``): base URLs of running servers.
ENV_JAEGER_URL = "OBSCONF_JAEGER_URL"  # Jaeger query, e.g. http://127.0.0.1:16686
ENV_OTLP_HTTP_URL = "OBSCONF_OTLP_HTTP_URL"  # e.g. http://127.0.0.1:4318
ENV_OTLP_GRPC_ENDPOINT = "OBSCONF_OTLP_GRPC_ENDPOINT"  # e.g. 127.0.0.1:4317
ENV_PROMETHEUS_URL = "OBSCONF_PROMETHEUS_URL"
ENV_LOKI_URL = "OBSCONF_LOKI_URL"  # a Grafana Loki base URL (push and LogQL query)
ENV_POCKETBASE_URL = "OBSCONF_POCKETBASE_URL"
ENV_POCKETBASE_ADMIN = "OBSCONF_POCKETBASE_ADMIN"  # "email:password" of a superuser
ENV_TOXIPROXY_URL = "OBSCONF_TOXIPROXY_URL"
ENV_LOKI_DIALECT = "OBSCONF_LOKI_DIALECT"  # logql (Grafana Loki, default) | logsql (VictoriaLogs)
#: Container stack: which images to run. ``auto`` (default) prefers local ``localhost/obsconf/*`` images
#: (``obsconf images build``) when present, else the official ones; ``local`` or ``official`` force one.
ENV_IMAGES = "OBSCONF_IMAGES"
#: Container stack: one image per backend, e.g. OBSCONF_IMAGE_JAEGER=jaegertracing/jaeger:2.13.0 (wins over
#: OBSCONF_IMAGES). Backends: jaeger, prometheus, victoria-logs, pocketbase, toxiproxy, rclone.
ENV_IMAGE_PREFIX = "OBSCONF_IMAGE_"
IMAGE_BACKENDS = ("jaeger", "prometheus", "victoria-logs", "pocketbase", "toxiproxy", "rclone")
IMAGE_SOURCES = ("auto", "local", "official")

STACK_MODES = ("auto", "process", "container", "attach", "external")

#: Which Prometheus (server and promtool) the stack and the promtool checks run: ``3.16`` (default: what
#: users run today, built with Go by ``obsconf provision``) or ``2.42`` (Debian's, 2023; the fallback).
ENV_PROMETHEUS_VERSION = "OBSCONF_PROMETHEUS_VERSION"
PROMETHEUS_VERSIONS = ("3.16", "2.42")
DEFAULT_PROMETHEUS_VERSION = PROMETHEUS_VERSIONS[0]
LOKI_DIALECTS = ("logql", "logsql")


def image_env_var(backend: str) -> str:
    """``victoria-logs`` -> ``OBSCONF_IMAGE_VICTORIA_LOGS``."""
    return ENV_IMAGE_PREFIX + backend.upper().replace("-", "_")


def default_cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "obsconf")


@dataclass(frozen=True)
class Settings:
    """Settings of one obsconf session. Build with :meth:`from_env` and override what the user passed."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    stack: str = "auto"
    ready_timeout: float = 30.0
    external: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # backend -> image reference (overrides)
    image_source: str = "auto"  # auto | local | official
    prometheus_version: str = DEFAULT_PROMETHEUS_VERSION  # one of PROMETHEUS_VERSIONS

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Explicit ``overrides`` (None = not given), then ``OBSCONF_*`` variables, then defaults. A variable
        with a bad value is a :class:`~obsconf.errors.UsageError` naming it and showing a valid example; one
        that an override replaces is not read at all."""
        env = os.environ
        given = {k for k, v in overrides.items() if v is not None}
        external = {
            key: env[var]
            for key, var in (
                ("jaeger", ENV_JAEGER_URL),
                ("otlp_http", ENV_OTLP_HTTP_URL),
                ("otlp_grpc", ENV_OTLP_GRPC_ENDPOINT),
                ("prometheus", ENV_PROMETHEUS_URL),
                ("loki", ENV_LOKI_URL),
                ("pocketbase", ENV_POCKETBASE_URL),
                ("pocketbase_admin", ENV_POCKETBASE_ADMIN),
                ("toxiproxy", ENV_TOXIPROXY_URL),
                ("loki_dialect", ENV_LOKI_DIALECT),
            )
            if env.get(var)
        }
        if "loki_dialect" in external and "external" not in given:
            external["loki_dialect"] = env_choice(env, ENV_LOKI_DIALECT, "logql", LOKI_DIALECTS)
        values: dict[str, object] = {
            "cache_dir": default_cache_dir(),
            "stack": "auto" if "stack" in given else env_choice(env, ENV_STACK, "auto", STACK_MODES),
            "ready_timeout": 30.0 if "ready_timeout" in given
            else env_float(env, ENV_READY_TIMEOUT, 30.0, minimum=0.1),
            "external": external,
            "images": {name: env[image_env_var(name)] for name in IMAGE_BACKENDS if env.get(image_env_var(name))},
            "image_source": "auto" if "image_source" in given else env_choice(env, ENV_IMAGES, "auto", IMAGE_SOURCES),
            "prometheus_version": DEFAULT_PROMETHEUS_VERSION if "prometheus_version" in given
            else env_choice(env, ENV_PROMETHEUS_VERSION, DEFAULT_PROMETHEUS_VERSION, PROMETHEUS_VERSIONS),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def bin_dir(self) -> Path:
        return self.cache_dir / "bin"

    @property
    def run_dir(self) -> Path:
        """Registry of running sessions' process groups, read by the reaper."""
        return self.cache_dir / "run"
