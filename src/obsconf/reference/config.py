"""Configuration of one reference service instance, read from the environment once at start.

Common variables (``OBSCONF_*``) are fields here; each profile reads its seed's own variables
(``PERSIST_*``, ``SYNCD_*``, ``AURUM_*``, ...) from :attr:`ReferenceConfig.env` in its module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from obsconf.envvars import env_bool, env_duration, env_float, env_int
from obsconf.errors import UsageError

__all__ = ["PROFILES", "ReferenceConfig", "check_loopback", "env_bool", "env_duration", "env_float", "env_int"]

PROFILES = ("persist", "syncd", "aurum", "prethrift", "assistant")

#: Default OTel ``service.name`` / log stream label ``service`` per profile.
SERVICE_NAMES = {
    "persist": "persist",
    "syncd": "sync-daemon",
    "aurum": "aurum-api",
    "prethrift": "prethrift-backend",
    "assistant": "assistant",
}

ENV_SERVICE_NAME = "OBSCONF_SERVICE_NAME"
ENV_INSTRUMENTATION = "OBSCONF_INSTRUMENTATION"  # on | off
ENV_OTLP_HTTP_URL = "OBSCONF_OTLP_HTTP_URL"  # base URL; spans go to <base>/v1/traces
ENV_LOGS_PUSH_URL = "OBSCONF_LOGS_PUSH_URL"  # full Loki push URL
ENV_POCKETBASE_URL = "OBSCONF_POCKETBASE_URL"
ENV_POCKETBASE_ADMIN = "OBSCONF_POCKETBASE_ADMIN"  # "email:password"
ENV_S3_URL = "OBSCONF_S3_URL"
ENV_S3_ACCESS_KEY = "OBSCONF_S3_ACCESS_KEY"
ENV_S3_SECRET_KEY = "OBSCONF_S3_SECRET_KEY"
ENV_LOG_DIR = "OBSCONF_LOG_DIR"  # where file sinks write (syncd's rotating log); unset = no file sink
ENV_LOGS_BATCH_SIZE = "OBSCONF_LOGS_BATCH_SIZE"  # Loki push: lines per push (default 100)
ENV_LOGS_FLUSH_INTERVAL = "OBSCONF_LOGS_FLUSH_INTERVAL"  # Loki push: seconds between pushes (default 1)
ENV_LOGS_BUFFER_MAX = "OBSCONF_LOGS_BUFFER_MAX"  # lines held while the log store is down (default 10000)
ENV_LOGS_MAX_RETRIES = "OBSCONF_LOGS_MAX_RETRIES"  # retries per push (default 3)
ENV_BREAKER_THRESHOLD = "OBSCONF_BREAKER_FAILURE_THRESHOLD"  # failed pushes that open a breaker (5)
ENV_BREAKER_RESET = "OBSCONF_BREAKER_RESET_SECS"  # seconds an open breaker waits before a probe (10)
ENV_SHUTDOWN_TIMEOUT = "OBSCONF_SHUTDOWN_TIMEOUT"  # seconds for the final flush of every sink (3)
ENV_SLOW_REQUEST_MS = "OBSCONF_SLOW_REQUEST_MS"  # a request this slow is always traced (250)
ENV_TRACE_SAMPLE_RATE = "OBSCONF_TRACE_SAMPLE_RATE"  # overrides the profile's own sample-rate variable
ENV_CONSOLE = "OBSCONF_CONSOLE_LOGS"  # on | off: JSON log lines on stdout (default on)
ENV_ALLOW_REMOTE = "OBSCONF_ALLOW_REMOTE_SINKS"  # "1" to allow non-loopback sink URLs
ENV_MAX_BODY = "OBSCONF_MAX_BODY_BYTES"  # larger request bodies are refused with 413 (4 MiB)
ENV_MAX_HEADER = "OBSCONF_MAX_HEADER_BYTES"  # a larger header block is refused with 431 (16 KiB)
ENV_MAX_URL = "OBSCONF_MAX_URL_BYTES"  # a longer path + query is refused with 414 (8 KiB)
ENV_METRICS_TOKEN = "OBSCONF_METRICS_AUTH_TOKEN"  # set: every metrics endpoint needs "Authorization: Bearer <it>"
ENV_LOGS_HTTP_TIMEOUT = "OBSCONF_LOGS_HTTP_TIMEOUT"  # seconds a log push waits for its answer (30)

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def check_loopback(url: str, what: str, env: Mapping[str, str]) -> str:
    """Return ``url`` if it points at this machine; refuse other hosts unless explicitly allowed."""
    if not url:
        return url
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"{what}={url!r}: only http(s) URLs are supported")
    host = (parts.hostname or "").lower()
    if host not in _LOOPBACK_HOSTS and not host.startswith("127.") and env.get(ENV_ALLOW_REMOTE) != "1":
        raise UsageError(
            f"{what}={url!r} points at {host!r}, not at this machine; the reference service only sends "
            f"telemetry to loopback. Set {ENV_ALLOW_REMOTE}=1 if you really mean it."
        )
    return url


def _first(env: Mapping[str, str], *names: str) -> str:
    """The value of the first of ``names`` that is set (an empty value counts as set: it turns a sink off)."""
    for name in names:
        if name in env:
            return env[name]
    return ""


@dataclass(frozen=True)
class ReferenceConfig:
    """Everything a reference service instance needs to start. Build with :meth:`from_env`."""

    profile: str
    service_name: str
    instrumentation: bool = True
    otlp_http_url: str = ""
    logs_push_url: str = ""
    pocketbase_url: str = ""
    pocketbase_admin_email: str = ""
    pocketbase_admin_password: str = field(default="", repr=False)
    s3_url: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    log_dir: Path | None = None
    logs_batch_size: int = 100
    logs_flush_interval: float = 1.0
    logs_buffer_max: int = 10000
    logs_max_retries: int = 3
    breaker_failure_threshold: int = 5
    breaker_reset_secs: float = 10.0
    shutdown_timeout: float = 3.0
    slow_request_ms: float = 250.0
    trace_sample_rate: float | None = None  # None: the profile's own variable/default decides
    console: bool = True
    max_body_bytes: int = 4 << 20
    max_header_bytes: int = 16 << 10
    max_url_bytes: int = 8 << 10
    metrics_token: str = field(default="", repr=False)
    logs_http_timeout: float = 30.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, profile: str, environ: Mapping[str, str] | None = None) -> ReferenceConfig:
        """Read the ``OBSCONF_*`` variables; refuse unknown profiles and non-loopback sinks."""
        if profile not in PROFILES:
            raise UsageError(f"unknown reference profile {profile!r}; choose one of {', '.join(PROFILES)}")
        env = dict(os.environ if environ is None else environ)
        instr = (env.get(ENV_INSTRUMENTATION) or "on").strip().lower()
        if instr not in ("on", "off"):
            raise UsageError(f"environment variable {ENV_INSTRUMENTATION}={instr!r}: expected on or off, "
                             f"e.g. {ENV_INSTRUMENTATION}=on")
        # The standard variables obsconf gives every service it starts (OpenTelemetry SDK, Loki client, AWS
        # SDK) are read too, after the reference's own OBSCONF_* names.
        admin = env.get(ENV_POCKETBASE_ADMIN, "")
        if not admin and env.get("POCKETBASE_ADMIN_EMAIL"):
            admin = f"{env['POCKETBASE_ADMIN_EMAIL']}:{env.get('POCKETBASE_ADMIN_PASSWORD', '')}"
        email, _, password = admin.partition(":")
        if admin and not password:
            raise UsageError(f"environment variable {ENV_POCKETBASE_ADMIN} must be 'email:password', got no ':', "
                             f"e.g. {ENV_POCKETBASE_ADMIN}=admin@example.com:secret123")
        rate = env.get(ENV_TRACE_SAMPLE_RATE)
        log_dir = env.get(ENV_LOG_DIR)
        return cls(
            profile=profile,
            service_name=env.get(ENV_SERVICE_NAME) or env.get("OTEL_SERVICE_NAME") or SERVICE_NAMES[profile],
            instrumentation=instr == "on",
            otlp_http_url=check_loopback(_first(env, ENV_OTLP_HTTP_URL, "OTEL_EXPORTER_OTLP_ENDPOINT").rstrip("/"),
                                         ENV_OTLP_HTTP_URL, env),
            logs_push_url=check_loopback(_first(env, ENV_LOGS_PUSH_URL, "LOKI_PUSH_URL"), ENV_LOGS_PUSH_URL, env),
            pocketbase_url=check_loopback(_first(env, ENV_POCKETBASE_URL, "POCKETBASE_URL").rstrip("/"),
                                          ENV_POCKETBASE_URL, env),
            pocketbase_admin_email=email,
            pocketbase_admin_password=password,
            s3_url=check_loopback(_first(env, ENV_S3_URL, "AWS_ENDPOINT_URL_S3"), ENV_S3_URL, env),
            s3_access_key=_first(env, ENV_S3_ACCESS_KEY, "AWS_ACCESS_KEY_ID"),
            s3_secret_key=_first(env, ENV_S3_SECRET_KEY, "AWS_SECRET_ACCESS_KEY"),
            log_dir=Path(log_dir) if log_dir else None,
            logs_batch_size=max(1, env_int(env, ENV_LOGS_BATCH_SIZE, 100)),
            logs_flush_interval=max(0.01, env_duration(env, ENV_LOGS_FLUSH_INTERVAL, 1.0)),
            logs_buffer_max=max(1, env_int(env, ENV_LOGS_BUFFER_MAX, 10000)),
            logs_max_retries=max(0, env_int(env, ENV_LOGS_MAX_RETRIES, 3)),
            breaker_failure_threshold=max(1, env_int(env, ENV_BREAKER_THRESHOLD, 5)),
            breaker_reset_secs=max(0.0, env_float(env, ENV_BREAKER_RESET, 10.0)),
            shutdown_timeout=max(0.1, env_float(env, ENV_SHUTDOWN_TIMEOUT, 3.0)),
            slow_request_ms=env_float(env, ENV_SLOW_REQUEST_MS, 250.0),
            trace_sample_rate=env_float(env, ENV_TRACE_SAMPLE_RATE, 1.0, minimum=0.0, maximum=1.0) if rate else None,
            console=env_bool(env, ENV_CONSOLE, True),
            max_body_bytes=env_int(env, ENV_MAX_BODY, 4 << 20, minimum=1),
            max_header_bytes=env_int(env, ENV_MAX_HEADER, 16 << 10, minimum=1024),
            max_url_bytes=env_int(env, ENV_MAX_URL, 8 << 10, minimum=256),
            metrics_token=env.get(ENV_METRICS_TOKEN, ""),
            logs_http_timeout=env_float(env, ENV_LOGS_HTTP_TIMEOUT, 30.0, minimum=0.1),
            env=env,
        )

    @classmethod
    def for_tests(cls, profile: str, **overrides: object) -> ReferenceConfig:
        """A config with every sink off (stdout too) and nothing read from the environment."""
        base = cls.from_env(profile, {ENV_CONSOLE: "off"})
        values = {**base.__dict__, **overrides}
        return cls(**values)  # type: ignore[arg-type]
