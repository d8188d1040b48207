"""Start the broken target as a managed subprocess, wired to a stack like the reference service."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok
from obsconf.target.reference import reference_env

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_broken(profile: str, port: int, endpoints: Endpoints | None, *, breaks: Sequence[str], log_dir: Path,
                 env: Mapping[str, str] | None = None, ready_timeout: float = 20.0,
                 registry: Path | None = None) -> ManagedProcess:
    """Like :func:`obsconf.target.reference.start_reference`, but ``python -m tests.broken_target`` with
    ``--break`` (an empty ``breaks`` serves the unbroken reference). Waits for ``GET /api/ok``."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    child_env = reference_env(endpoints, log_dir / f"{profile}-files", env)
    # the child imports ``tests.broken_target`` from the repository root
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "tests.broken_target", "--profile", profile, "--port", str(port),
            "--break", ",".join(breaks) or "none"]
    proc = ManagedProcess(
        f"broken target ({profile}: {','.join(breaks) or 'no breaks'}) on 127.0.0.1:{port}",
        argv,
        log_path=log_dir / f"broken-{profile}.log",
        probe=http_ok(f"http://127.0.0.1:{port}/api/ok"),
        ready_timeout=ready_timeout,
        env=child_env,
        cwd=REPO_ROOT,
        registry=registry,
        missing_hint="run from the obsconf repository with its .venv",
    )
    return proc.start()
