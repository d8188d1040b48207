"""Who owns a container: the labels every container and network of a session carry (session, owner pid, host
and the pid's start time, so a reused pid is not mistaken for the owner), and the reaper that removes what a
dead session left behind."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from obsconf.stack.process import process_start_time

if TYPE_CHECKING:
    import docker

LABEL_SESSION = "obsconf.session"
LABEL_OWNER_PID = "obsconf.owner_pid"
LABEL_OWNER_HOST = "obsconf.owner_host"
LABEL_OWNER_START = "obsconf.owner_start"  # start time of the owner pid (clock ticks since boot)
LABEL_WORKDIR = "obsconf.workdir"  # host directory of the session's config files, removed with it


@dataclass(frozen=True)
class Owner:
    """The session that owns containers: written as labels, read back by the reaper."""

    session: str
    pid: int
    host: str
    start: str

    @classmethod
    def current(cls, session: str) -> Owner:
        pid = os.getpid()
        return cls(session, pid, socket.gethostname(), process_start_time(pid) or "")

    def labels(self, workdir: Path | None = None) -> dict[str, str]:
        labels = {LABEL_SESSION: self.session, LABEL_OWNER_PID: str(self.pid), LABEL_OWNER_HOST: self.host,
                  LABEL_OWNER_START: self.start}
        if workdir is not None:
            labels[LABEL_WORKDIR] = str(workdir)
        return labels


def owner_is_dead(labels: Mapping[str, str], *, host: str,
                  start_time: Callable[[int], str | None] = process_start_time) -> bool:
    """True when the labels name an owner on this host that no longer runs (or whose pid was reused).

    Containers of another host (an engine shared between machines or containers) are never judged dead:
    their owner's pid means nothing here.
    """
    if labels.get(LABEL_OWNER_HOST) != host:
        return False
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return True  # unreadable ownership: an obsconf container nobody can claim
    started = start_time(pid)
    return started is None or started != labels.get(LABEL_OWNER_START, started)


def reap_orphan_containers(client: docker.DockerClient, *, host: str | None = None) -> list[str]:
    """Remove containers, networks and work dirs of obsconf sessions whose owner is dead; return what went."""
    import docker

    host = host or socket.gethostname()
    reaped: list[str] = []
    dead_sessions: set[str] = set()
    for ctr in client.containers.list(all=True, filters={"label": LABEL_SESSION}):
        labels = ctr.labels or {}
        if not owner_is_dead(labels, host=host):
            continue
        dead_sessions.add(labels.get(LABEL_SESSION, ""))
        try:
            ctr.remove(force=True, v=True)
            reaped.append(f"container {ctr.name}")
        except docker.errors.NotFound:
            pass  # removed meanwhile
        _remove_workdir(labels)
    for net in client.networks.list(filters={"label": LABEL_SESSION}):
        labels = net.attrs.get("Labels") or {}
        if labels.get(LABEL_SESSION) in dead_sessions or owner_is_dead(labels, host=host):
            try:
                net.remove()
                reaped.append(f"network {net.name}")
            except (docker.errors.NotFound, docker.errors.APIError):
                pass  # gone, or a live container of another host still uses it
            _remove_workdir(labels)
    return reaped


def _remove_workdir(labels: Mapping[str, str]) -> None:
    workdir = labels.get(LABEL_WORKDIR)
    # only a directory this module made: a forged or stale label must not delete anything else
    if workdir and Path(workdir).name.startswith("obsconf-ctr-") and Path(workdir).parent == Path(tempfile.gettempdir()):
        shutil.rmtree(workdir, ignore_errors=True)

