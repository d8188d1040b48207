"""ManagedProcess: readiness failures carry the log tail, missing binaries name `obsconf provision`, and no
child survives its parent, even a parent killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from obsconf.errors import BackendMissing, BackendNotReady
from obsconf.stack.process import MARKER_ENV, ManagedProcess, _alive, reap_orphans
from obsconf.stack.readiness import NotReadyYet


def _never_ready() -> None:
    raise NotReadyYet("not yet")


def test_backend_that_exits_at_start_shows_its_log_tail(tmp_path: Path) -> None:
    proc = ManagedProcess("loki", [sys.executable, "-c", "print('bad config: line 3'); raise SystemExit(3)"],
                          log_path=tmp_path / "loki.log", probe=_never_ready, ready_timeout=10)
    with pytest.raises(BackendNotReady) as info:
        proc.start()
    message = str(info.value)
    assert "loki exited before it was ready: exit code 3" in message
    assert "bad config: line 3" in message
    assert str(tmp_path / "loki.log") in message


def test_readiness_timeout_stops_the_process(tmp_path: Path) -> None:
    proc = ManagedProcess("slowpoke", [sys.executable, "-c", "import time; print('booting', flush=True); time.sleep(60)"],
                          log_path=tmp_path / "slow.log", probe=_never_ready, ready_timeout=0.5)
    with pytest.raises(BackendNotReady, match=r"(?s)slowpoke was not ready after .*booting"):
        proc.start()
    assert not _alive(proc.pid)


def test_missing_binary_names_provision(tmp_path: Path) -> None:
    proc = ManagedProcess("jaeger", [str(tmp_path / "nope" / "jaeger")], log_path=tmp_path / "j.log")
    with pytest.raises(BackendMissing, match=r"jaeger: binary .* is missing .*obsconf provision"):
        proc.start()


def test_stop_takes_the_whole_process_group(tmp_path: Path) -> None:
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
             "print('up', flush=True); time.sleep(60)"
    proc = ManagedProcess("parent", [sys.executable, "-c", script], log_path=tmp_path / "p.log").start()
    time.sleep(0.5)
    group = [int(p) for p in subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()]
    assert len(group) == 2
    proc.stop()
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in group)


def test_no_child_survives_a_sigkill_of_its_parent(tmp_path: Path) -> None:
    """The parent stands in for pytest: it starts a backend, then is killed with SIGKILL."""
    pidfile = tmp_path / "child.pid"
    parent = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from obsconf.stack.process import ManagedProcess
        p = ManagedProcess("backend", [sys.executable, "-c", "import time; time.sleep(120)"],
                           log_path=Path({str(tmp_path / 'b.log')!r}), registry=Path({str(tmp_path / 'run')!r})).start()
        Path({str(pidfile)!r}).write_text(str(p.pid))
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.monotonic() + 20
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    assert _alive(child)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the backend outlived its parent"


def test_reaper_kills_groups_of_a_dead_session(tmp_path: Path) -> None:
    registry = tmp_path / "run"
    registry.mkdir()
    dead_owner = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                capture_output=True, text=True).stdout.strip()
    # a leftover that, unlike ours, would not die with its parent: started with the dead owner's marker
    env = dict(os.environ, **{MARKER_ENV: dead_owner})
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env, start_new_session=True)
    # and an innocent process that merely reuses a listed pid's slot is never touched: no marker
    innocent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        (registry / f"{dead_owner}.json").write_text(json.dumps({
            str(leftover.pid): {"name": "jaeger"}, str(innocent.pid): {"name": "prometheus"}}))
        reaped = reap_orphans(registry)
        leftover.wait(timeout=5)
        assert reaped == [f"jaeger {leftover.pid}"]
        assert innocent.poll() is None
        assert not (registry / f"{dead_owner}.json").exists()
    finally:
        for p in (leftover, innocent):
            p.kill()
            p.wait()
