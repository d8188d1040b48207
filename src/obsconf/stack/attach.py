"""Attach to the stack that ``obsconf stack up`` runs: its state file, liveness, and a :class:`Stack` on it.

``obsconf stack up`` records where each backend answers, and where its Prometheus reads scrape targets
and rules, in ``<cache>/run/stack-up.json``. A test session with ``--obsconf-stack=attach`` (or ``auto``,
when that stack is alive) uses those backends instead of starting its own, and registers its targets'
scrape jobs in that Prometheus; it never stops that stack.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import BackendNotReady, UsageError
from obsconf.settings import Settings
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.process import _alive
from obsconf.stack.prometheus import target_file_content

STATE_FILE = "stack-up.json"


@dataclass(frozen=True)
class StackState:
    """What ``obsconf stack up`` wrote about the stack it runs."""

    mode: str
    owner_pid: int
    endpoints: dict[str, Any]
    prometheus_targets_dir: str = ""
    prometheus_rules_dir: str = ""
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
        prometheus_targets_dir=str(getattr(prom, "targets_dir", "") or ""),
        prometheus_rules_dir=str(getattr(prom, "rules_dir", "") or ""),
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


class PrometheusFiles:
    """Scrape targets and rules of a Prometheus that another process started, through its file_sd and rules
    directories and its lifecycle reload API."""

    def __init__(self, url: str, targets_dir: Path, rules_dir: Path) -> None:
        self.url = url
        self.targets_dir = targets_dir
        self.rules_dir = rules_dir

    def add_target(self, job: str, address: str, metrics_path: str = "/metrics",
                   labels: dict[str, str] | None = None) -> None:
        tmp = self.targets_dir / f".{job}.json.tmp"
        tmp.write_text(target_file_content(job, address, metrics_path, labels))
        tmp.replace(self.targets_dir / f"{job}.json")

    def remove_target(self, job: str) -> None:
        (self.targets_dir / f"{job}.json").unlink(missing_ok=True)

    def add_rules(self, name: str, rules_file: Path) -> None:
        shutil.copy(rules_file, self.rules_dir / f"{name}.yaml")
        resp = requests.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            (self.rules_dir / f"{name}.yaml").unlink(missing_ok=True)
            raise BackendNotReady(f"Prometheus rejected rules file {rules_file}: {resp.status_code} {resp.text.strip()}")


def attach_stack(settings: Settings, progress: Callable[[str], None]) -> Any:
    """A :class:`obsconf.stack.Stack` on the live stack of ``obsconf stack up``; stopping it stops nothing."""
    from obsconf.stack import Stack

    state = live_state(settings)
    if state is None:
        raise UsageError(f"--obsconf-stack=attach: no live stack ({state_path(settings)} is missing or its "
                         "`obsconf stack up` process has ended); run `obsconf stack up` in another terminal first")
    endpoints = Endpoints(**state.endpoints)
    prometheus = None
    if state.prometheus_targets_dir and Path(state.prometheus_targets_dir).is_dir():
        prometheus = PrometheusFiles(endpoints.prometheus_url, Path(state.prometheus_targets_dir),
                                     Path(state.prometheus_rules_dir))
    progress(f"attached to the {state.mode} stack of `obsconf stack up` (pid {state.owner_pid})")
    return Stack("attach", endpoints, ExitStack(), workdir=None, prometheus=prometheus,  # type: ignore[arg-type]
                 log_files={k: Path(v) for k, v in state.log_files.items()})
