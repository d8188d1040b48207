"""CPU time and memory of a running service process (and its children), read from /proc.

Two CPU clocks, because each has a blind spot:
* per-thread ``schedstat`` (nanoseconds of run time) is precise enough for 5-second rounds but only sees
  threads alive at the moment of reading;
* ``utime + stime`` of ``/proc/PID/stat`` includes threads that already exited, but ticks in 10 ms steps.
The report gives both; they agree when the service keeps its threads (uvicorn does).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_TICK = os.sysconf("SC_CLK_TCK")
SETTLE_WINDOW_S = 0.02
SETTLE_IDLE_SHARE = 0.05  # under 5% of a core over the window counts as idle (timer threads, flushers)
SETTLE_MAX_S = 1.0


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds consumed so far by a process tree, by both clocks, and its resident memory."""

    sched_s: float
    ticks_s: float
    rss_bytes: int

    def minus(self, earlier: CpuSample) -> tuple[float, float]:
        """CPU seconds used between ``earlier`` and this sample: (schedstat, ticks)."""
        return self.sched_s - earlier.sched_s, self.ticks_s - earlier.ticks_s


def _tree(pid: int) -> list[int]:
    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return [pid]


def _sched_ns(pid: int) -> int:
    total = 0
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tids = os.listdir(task_dir)
    except FileNotFoundError:
        return 0
    for tid in tids:
        try:
            total += int((task_dir / tid / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # the thread ended between listing and reading
    return total


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def sample(pid: int) -> CpuSample:
    """Read CPU time and RSS of ``pid`` and all its descendants now."""
    pids = _tree(pid)
    return CpuSample(
        sched_s=sum(_sched_ns(p) for p in pids) / 1e9,
        ticks_s=sum(_ticks(p) for p in pids) / _TICK,
        rss_bytes=sum(_rss(p) for p in pids),
    )


def sample_when_idle(pid: int, *, window_s: float = SETTLE_WINDOW_S, max_s: float = SETTLE_MAX_S) -> CpuSample:
    """Wait until ``pid``'s tree has finished the work the load left behind, then :func:`sample` it.

    A service answers first and exports later: its span batches and log pushes run on after the last
    answer. Sampled at once, that work would count for no one, and it would run into the next variant's
    round on the same core. So this waits (at most ``max_s``) until a ``window_s`` window is idle.
    """
    deadline = time.monotonic() + max_s
    last = sample(pid)
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = sample(pid)
        if now.sched_s - last.sched_s < SETTLE_IDLE_SHARE * window_s:
            return now
        last = now
    return last
