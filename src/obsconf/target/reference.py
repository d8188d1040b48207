"""Start the reference service as a managed subprocess wired to a stack's backends (the launchers' job: the
reference service itself imports nothing of the stack)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from obsconf.errors import UsageError
from obsconf.reference.config import PROFILES
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok


def reference_env(endpoints: Endpoints | None, log_dir: Path | None = None,
                  env: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ``base`` (default: ours), then the stack's URLs, then ``env`` overrides."""
    out = dict(os.environ if base is None else base)
    if endpoints is not None:
        wiring = {
            "OBSCONF_OTLP_HTTP_URL": endpoints.otlp_http_url,
            "OBSCONF_LOGS_PUSH_URL": endpoints.logs_push_url,
            "OBSCONF_POCKETBASE_URL": endpoints.pocketbase_url,
            "OBSCONF_S3_URL": endpoints.s3_url,
            "OBSCONF_S3_ACCESS_KEY": endpoints.s3_access_key,
            "OBSCONF_S3_SECRET_KEY": endpoints.s3_secret_key,
        }
        if endpoints.pocketbase_admin_email:
            wiring["OBSCONF_POCKETBASE_ADMIN"] = (
                f"{endpoints.pocketbase_admin_email}:{endpoints.pocketbase_admin_password}")
        out.update({k: v for k, v in wiring.items() if v})
    if log_dir is not None:
        out.setdefault("OBSCONF_LOG_DIR", str(log_dir))
    out.update(env or {})
    return out


def start_reference(
    profile: str,
    port: int,
    endpoints: Endpoints | None,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 20.0,
    registry: Path | None = None,
) -> ManagedProcess:
    """Start ``python -m obsconf.reference --profile PROFILE --port PORT`` on 127.0.0.1 and wait for
    ``GET /api/ok``. Its stdout/stderr (the JSON log lines) go to ``log_dir/reference-<profile>.log``;
    file sinks (syncd's rotating log) write under ``log_dir/<profile>-files``. Stop it with ``.stop()``.
    """
    if profile not in PROFILES:
        raise UsageError(f"unknown reference profile {profile!r}; choose one of {', '.join(PROFILES)}")
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    child_env = reference_env(endpoints, log_dir / f"{profile}-files", env)
    argv = [sys.executable, "-m", "obsconf.reference", "--profile", profile, "--port", str(port)]
    proc = ManagedProcess(
        f"reference service ({profile}) on 127.0.0.1:{port}",
        argv,
        log_path=log_dir / f"reference-{profile}.log",
        probe=http_ok(f"http://127.0.0.1:{port}/api/ok"),
        ready_timeout=ready_timeout,
        env=child_env,
        registry=registry,
        missing_hint="install obsconf into this interpreter (pip install -e .)",
    )
    return proc.start()
