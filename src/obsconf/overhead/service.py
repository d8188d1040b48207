"""Start the variants of an overhead run, each pinned to the service core.

Every variant is a :class:`Launch`: a command whose ``{port}`` is filled with a free loopback port, its
environment, and the path that answers once it is ready. For the reference service, A = instrumented
(``OBSCONF_INSTRUMENTATION=on``, or with an injected CPU burn), B = the same service with
``OBSCONF_INSTRUMENTATION=off``; ``bare`` and ``stock`` are the small apps of :mod:`obsconf.overhead.apps`;
a user's own command comes from :mod:`obsconf.overhead.targetcmd`. All run at once on the same core; only
one receives load at a time, so none pays for another and no round pays for a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from obsconf.errors import BackendNotReady, UsageError
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import NotReadyYet, http_ok

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

    key: str  # "A" | "B" | "burn" (A with slowdown_us of extra CPU per request)
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


def variant_argv(spec: VariantSpec, profile: str, port: int | str, module: str = DEFAULT_MODULE,
                 core: int | None = None) -> list[str]:
    """The command of one variant; the slowdown hook wraps the module (see :mod:`obsconf.overhead.slowdown`)."""
    service_args = ["--profile", profile, "--port", str(port)]
    if spec.slowdown_us:
        argv = [sys.executable, "-m", "obsconf.overhead.slowdown", "--slowdown-us", str(spec.slowdown_us),
                "--module", module, "--", *service_args]
    else:
        argv = [sys.executable, "-m", module, *service_args]
    return pin(argv, core)


@dataclass(frozen=True)
class Launch:
    """How to start one variant of an overhead run.

    ``argv`` may hold ``{port}`` (filled with a free loopback port; the port is also in ``PORT``); ``env``
    is the child's whole environment. Ready once ``GET ready_path`` answers 200, or, with
    ``ready_any_status``, any status below 500 (a user's route may answer 404 until it has data).
    """

    key: str
    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ready_path: str = "/api/ok"
    ready_any_status: bool = False
    missing_hint: str = ""
    describe: str = ""  # how the command is named in errors (a user's command line as they wrote it)


def fill_port(argv: Sequence[str], port: int) -> list[str]:
    """``argv`` with ``{port}`` replaced (``{{``/``}}`` are literal braces); the placeholders were checked."""
    return [arg.format(port=port) for arg in argv]


def pin(argv: Sequence[str], core: int | None) -> list[str]:
    """``argv`` run under ``taskset -c core`` (the whole process tree inherits the core)."""
    if core is None:
        return list(argv)
    taskset = shutil.which("taskset")
    if taskset is None:
        raise UsageError("taskset not found (Debian package util-linux); it pins the service to one core. "
                         "Install it, or run on a machine with one CPU and pass --no-pin")
    return [taskset, "-c", str(core), *argv]


def _answers(url: str) -> Callable[[], None]:
    def probe() -> None:
        status = requests.get(url, timeout=2.0).status_code
        if status >= 500:
            raise NotReadyYet(f"GET {url} -> {status}")

    return probe


def start_launch(launch: Launch, *, log_dir: Path, core: int | None, ready_timeout: float = 30.0,
                 registry: Path | None = None) -> tuple[ManagedProcess, int]:
    """Start ``launch`` on a free loopback port, pinned to ``core``; wait until it answers; stop it on failure.

    A failure names the command and the readiness URL, and carries the tail of the command's own output.
    ``registry`` is the session registry of :mod:`obsconf.stack.process` (the next session reaps what a
    killed one left, grandchildren of a user's command included).
    """
    port = free_port()
    url = f"http://{LOOPBACK}:{port}{launch.ready_path}"
    proc = ManagedProcess(
        f"{launch.key} ({launch.label})",
        pin(fill_port(launch.argv, port), core),
        log_path=log_dir / f"overhead-service-{launch.key}.log",
        probe=_answers(url) if launch.ready_any_status else http_ok(url),
        ready_timeout=ready_timeout,
        env={**launch.env, "PORT": str(port)},
        missing_hint=launch.missing_hint or "check the command",
        registry=registry,
    )
    try:
        proc.start()
    except BackendNotReady as exc:
        command = launch.describe or " ".join(launch.argv)
        raise BackendNotReady(f"variant {launch.key}: command `{command}` never answered GET {url}: {exc}") \
            from None
    return proc, port


def reference_launch(spec: VariantSpec, *, profile: str, module: str = DEFAULT_MODULE,
                     sinks: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> Launch:
    """The reference service as variant ``spec`` (instrumented, off, or with a burn)."""
    return Launch(
        spec.key, spec.label, tuple(variant_argv(spec, profile, "{port}", module)),
        variant_env(spec, os.environ if base is None else base, sinks or {}),
        missing_hint=f"is `{module}` importable by {sys.executable}?",
    )
