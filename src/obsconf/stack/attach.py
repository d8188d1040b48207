"""Attach to the stack that ``obsconf stack up`` runs: its state file, liveness, and a :class:`Stack` on it.

``obsconf stack up`` records where each backend answers, and where its Prometheus reads scrape targets
and rules, in ``<cache>/run/stack-up.json``. A test session with ``--obsconf-stack=attach`` (or ``auto``,
when that stack is alive) uses those backends instead of starting its own, and registers its targets'
scrape jobs in that Prometheus; it never stops that stack.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from obsconf.errors import UsageError
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.handle import Stack
from obsconf.stack.process import _alive
from obsconf.stack.prometheus import PrometheusControl

STATE_FILE = "stack-up.json"


@dataclass(frozen=True)
class StackState:
    """What ``obsconf stack up`` wrote about the stack it runs."""

    mode: str
    owner_pid: int
    endpoints: dict[str, Any]
    prometheus_workdir: str = ""  # where its configuration, target files and rules live
    log_files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def state_path(settings: Settings) -> Path:
    return settings.run_dir / STATE_FILE


def write_state(settings: Settings, stack: Any) -> Path:
    """Record ``stack`` (a running :class:`obsconf.stack.Stack`) for sessions that attach to it."""
    prom = getattr(stack, "_prometheus", None)
    state = StackState(
        mode=stack.mode, owner_pid=os.getpid(), endpoints=asdict(stack.endpoints),
        prometheus_workdir=str(getattr(prom, "workdir", "") or ""),
        log_files={k: str(v) for k, v in stack.log_files.items()},
    )
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(path)
    return path


def read_state(settings: Settings) -> StackState | None:
    try:
        raw = json.loads(state_path(settings).read_text())
        return StackState(**raw)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{state_path(settings)} is not a stack state written by `obsconf stack up` ({exc}); "
                         "delete it and run `obsconf stack up` again") from None


def live_state(settings: Settings) -> StackState | None:
    """The state of a stack whose `obsconf stack up` process is still alive (a stale file is ignored)."""
    try:
        state = read_state(settings)
    except UsageError:
        return None
    if state is None or not _alive(state.owner_pid):
        return None
    return state


def attach_stack(settings: Settings, progress: Callable[[str], None]) -> Any:
    """A :class:`obsconf.stack.Stack` on the live stack of ``obsconf stack up``; stopping it stops nothing."""
    state = live_state(settings)
    if state is None:
        raise UsageError(f"--obsconf-stack=attach: no live stack ({state_path(settings)} is missing or its "
                         "`obsconf stack up` process has ended); run `obsconf stack up` in another terminal first")
    endpoints = Endpoints(**state.endpoints)
    prometheus = None
    if state.prometheus_workdir and Path(state.prometheus_workdir).is_dir():
        # the same files and reload the owning process uses; its configuration file is rewritten only when
        # a target behind a token is added
        prometheus = PrometheusControl(endpoints.prometheus_url, Path(state.prometheus_workdir), write_config=False)
    progress(f"attached to the {state.mode} stack of `obsconf stack up` (pid {state.owner_pid})")
    return Stack("attach", endpoints, ExitStack(), workdir=None, prometheus=prometheus,
                 log_files={k: Path(v) for k, v in state.log_files.items()})
