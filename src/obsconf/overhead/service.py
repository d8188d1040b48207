"""Start the two variants of the service under test for an overhead run, pinned to one core.

A = instrumented (``OBSCONF_INSTRUMENTATION=on``, optionally with the ``--slowdown-us`` test hook),
B = the same service with ``OBSCONF_INSTRUMENTATION=off``. Both run at once on the same core; only one
receives load at a time, so neither pays for the other and no round pays for a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from obsconf.errors import UsageError
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok

DEFAULT_MODULE = "obsconf.reference"
ENV_INSTRUMENTATION = "OBSCONF_INSTRUMENTATION"

#: Sink variables that are *not* inherited from the caller's environment: without ``--endpoints-json``
#: every sink is off, so two runs on two machines measure the same thing.
SINK_VARS = (
    "OBSCONF_OTLP_HTTP_URL", "OBSCONF_LOGS_PUSH_URL", "OBSCONF_POCKETBASE_URL", "OBSCONF_POCKETBASE_ADMIN",
    "OBSCONF_S3_URL", "OBSCONF_S3_ACCESS_KEY", "OBSCONF_S3_SECRET_KEY",
)


@dataclass(frozen=True)
class VariantSpec:
    """How to start one variant."""

    key: str  # "A" | "B"
    label: str
    instrumentation: bool
    slowdown_us: int = 0


def endpoints_env(path: Path) -> dict[str, str]:
    """Sink variables from the Endpoints JSON that ``obsconf stack up`` prints."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--endpoints-json {path}: no such file; save the JSON that `obsconf stack up` prints") \
            from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--endpoints-json {path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"--endpoints-json {path}: expected a JSON object of backend URLs")
    env = {
        "OBSCONF_OTLP_HTTP_URL": doc.get("otlp_http_url", ""),
        "OBSCONF_LOGS_PUSH_URL": doc.get("logs_push_url", ""),
        "OBSCONF_POCKETBASE_URL": doc.get("pocketbase_url", ""),
        "OBSCONF_S3_URL": doc.get("s3_url", ""),
        "OBSCONF_S3_ACCESS_KEY": doc.get("s3_access_key", ""),
        "OBSCONF_S3_SECRET_KEY": doc.get("s3_secret_key", ""),
    }
    if doc.get("pocketbase_admin_email"):
        env["OBSCONF_POCKETBASE_ADMIN"] = f"{doc['pocketbase_admin_email']}:{doc.get('pocketbase_admin_password', '')}"
    env = {k: str(v) for k, v in env.items() if v}
    if not env:
        raise UsageError(f"--endpoints-json {path}: no backend URL found (expected keys like otlp_http_url, "
                         "logs_push_url)")
    return env


def variant_env(spec: VariantSpec, base: Mapping[str, str], sinks: Mapping[str, str]) -> dict[str, str]:
    """The child environment: the caller's, minus inherited sinks, plus the given sinks and the switch."""
    env = {k: v for k, v in base.items() if k not in SINK_VARS}
    env.update(sinks)
    env[ENV_INSTRUMENTATION] = "on" if spec.instrumentation else "off"
    return env


def variant_argv(spec: VariantSpec, profile: str, port: int, module: str = DEFAULT_MODULE,
                 core: int | None = None) -> list[str]:
    """The command of one variant; the slowdown hook wraps the module (see :mod:`obsconf.overhead.slowdown`)."""
    service_args = ["--profile", profile, "--port", str(port)]
    if spec.slowdown_us:
        argv = [sys.executable, "-m", "obsconf.overhead.slowdown", "--slowdown-us", str(spec.slowdown_us),
                "--module", module, "--", *service_args]
    else:
        argv = [sys.executable, "-m", module, *service_args]
    if core is not None:
        taskset = shutil.which("taskset")
        if taskset is None:
            raise UsageError("taskset not found (Debian package util-linux); it pins the service to one core. "
                             "Install it, or run on a machine with one CPU and pass --no-pin")
        argv = [taskset, "-c", str(core), *argv]
    return argv


def start_variant(spec: VariantSpec, *, profile: str, log_dir: Path, core: int | None, module: str = DEFAULT_MODULE,
                  sinks: Mapping[str, str] | None = None, ready_timeout: float = 30.0) -> tuple[ManagedProcess, int]:
    """Start one variant on a free loopback port and wait until ``GET /api/ok`` answers 200."""
    port = free_port()
    proc = ManagedProcess(
        f"service {spec.key} ({spec.label})",
        variant_argv(spec, profile, port, module, core),
        log_path=log_dir / f"overhead-service-{spec.key}.log",
        probe=http_ok(f"http://{LOOPBACK}:{port}/api/ok"),
        ready_timeout=ready_timeout,
        env=variant_env(spec, os.environ, sinks or {}),
        missing_hint=f"is `{module}` importable by {sys.executable}?",
    )
    proc.start()
    return proc, port
