"""Start a service from a command line, on a free loopback port, and wait until it answers.

The same layers that keep the stack from leaving orphans apply (process group, PR_SET_PDEATHSIG, the
session registry). stdout and stderr go to separate files: stdout is the service's console log sink, which
checks can read (``logs.source: console``); both are shown when the service fails to start.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from obsconf.contract.command import expand
from obsconf.errors import BackendMissing, BackendNotReady, TargetStartFailed
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_answers


# The one PLR0913 exception of this area: flat keyword-only options of one launch, which the launchers and the
# e2e harness pass by name; a parameter object would only rename them.
def start_service(name: str, argv: Sequence[str], *, port: int, ready_url: str, env: Mapping[str, str],  # noqa: PLR0913
                  cwd: Path | None, log_dir: Path, ready_timeout: float,
                  registry: Path | None = None) -> ManagedProcess:
    """Run ``argv`` (``{port}`` expanded) and wait until ``ready_url`` answers; raise TargetStartFailed with
    the command, the URL and the service's own output when it exits or never answers."""
    log_dir.mkdir(parents=True, exist_ok=True)
    command = expand(argv, port)
    proc = ManagedProcess(
        f"{name} on 127.0.0.1:{port}", command, log_path=log_dir / "stdout.log", stderr_path=log_dir / "stderr.log",
        probe=http_answers(ready_url), ready_timeout=ready_timeout, env=env, cwd=cwd, registry=registry,
        missing_hint="check service.command (or --obsconf-target-cmd) and the working directory "
                     f"{cwd or Path.cwd()}",
    )
    try:
        return proc.start()
    except BackendMissing as exc:
        raise TargetStartFailed(f"could not start {name}: {exc}") from None
    except BackendNotReady as exc:
        raise TargetStartFailed(
            f"{name} did not become ready.\n  command:   {shlex.join(command)}\n  cwd:       {cwd or Path.cwd()}\n"
            f"  readiness: GET {ready_url} must answer (any HTTP status below 500)\n{exc}") from None
