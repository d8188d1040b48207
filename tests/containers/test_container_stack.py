"""The container stack on a real engine: the five backend round-trips of conformance/test_stack.py, clear
errors for a missing image and a container that exits at start, and nothing left behind, even by a
session killed with SIGKILL.

These FAIL (never skip) when no engine answers: run `eval "$(bash scripts/setup-podman)"` and
`obsconf images build` first, or deselect them with `-m "not container"`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsconf.errors import BackendMissing, BackendNotReady
from obsconf.settings import Settings
from obsconf.stack.container import start_container_stack
from obsconf.stack.container_owner import LABEL_OWNER_PID, LABEL_SESSION, reap_orphan_containers
from obsconf.stack.engine import docker_client, engine_available, engine_missing_message
from obsconf.waiting import poll

pytestmark = pytest.mark.container
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine():  # noqa: ANN201 - a docker.DockerClient
    if not engine_available():
        pytest.fail(f"the container tests need an engine; {engine_missing_message()}. "
                    "Deselect them with -m 'not container'.", pytrace=False)
    client = docker_client()
    yield client
    client.close()


def _containers_of(engine, *, pid: int | None = None, session: str | None = None) -> list[str]:  # noqa: ANN001
    label = f"{LABEL_OWNER_PID}={pid}" if pid is not None else f"{LABEL_SESSION}={session}"
    return [c.name for c in engine.containers.list(all=True, filters={"label": label})]


def test_conformance_round_trips_pass_on_containers(engine, tmp_path: Path) -> None:  # noqa: ANN001
    env = {**os.environ, "OBSCONF_STACK": "container"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "tests/foundation/test_stack_roundtrip.py", "--obsconf-stack=container", "-q",
         "-p", "no:cacheprovider", "--obsconf-report-dir", str(tmp_path), "-o", "addopts="],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, f"the stack round trips on containers failed (exit {proc.returncode}):\n{out}"
    # every round trip ran (none skipped or deselected): as many passed as the file holds
    expected = sum(1 for line in (ROOT / "tests/foundation/test_stack_roundtrip.py").read_text().splitlines()
                   if line.startswith("def test_"))
    assert f"{expected} passed" in out, out
    assert _containers_of(engine, pid=proc.pid) == [], "the session left containers behind"


def test_a_missing_image_names_the_build_command_and_starts_nothing(engine) -> None:  # noqa: ANN001
    before = {c.id for c in engine.containers.list(all=True)}
    settings = Settings.from_env(images={"jaeger": "localhost/obsconf/jaeger:does-not-exist"})
    with pytest.raises(BackendMissing, match=r"localhost/obsconf/jaeger:does-not-exist.*obsconf images build"):
        start_container_stack(settings, progress=lambda line: None)
    assert {c.id for c in engine.containers.list(all=True)} == before


def test_a_container_that_exits_at_start_shows_its_log_and_is_removed(engine) -> None:  # noqa: ANN001
    lines: list[str] = []
    # The Jaeger binary given Prometheus' flags exits at once with a usage error.
    jaeger = next((t for i in engine.images.list(name="localhost/obsconf/jaeger") for t in i.tags), None)
    if jaeger is None:
        pytest.fail("no local image localhost/obsconf/jaeger: run `obsconf images build`", pytrace=False)
    # a long readiness timeout: ending before it (with the exit's message) is the behaviour under test
    settings = Settings.from_env(images={"prometheus": jaeger}, ready_timeout=300)
    began = time.monotonic()
    with pytest.raises(BackendNotReady) as info:
        start_container_stack(settings, progress=lines.append)
    message = str(info.value)
    assert "prometheus container" in message and "exited before it was ready" in message, message
    assert "--- last lines of its log ---" in message and "unknown flag" in message, message
    assert time.monotonic() - began < settings.ready_timeout, "an exited container must end the wait, not the timeout"
    # the engine may list a force-removed container for a moment while it finishes removing it (seen on a
    # busy podman): wait for the list to settle, then nothing may be left
    left = poll(lambda: _containers_of(engine, pid=os.getpid()), lambda names: not names, timeout=30, interval=0.5)
    assert left == [], "a failed start left containers behind"


def test_containers_of_a_killed_session_are_reaped_by_the_next(engine) -> None:  # noqa: ANN001
    proc = subprocess.Popen([sys.executable, "-m", "obsconf.cli", "stack", "up", "--mode", "container"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            if "ready in" in line and line.startswith("stack"):
                break
            if not line and proc.poll() is not None:
                pytest.fail(f"`obsconf stack up` exited with {proc.returncode} before the stack was ready")
        assert len(_containers_of(engine, pid=proc.pid)) == 6
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    reaped = reap_orphan_containers(engine)
    assert sum(r.startswith("container ") for r in reaped) == 6, reaped
    assert any(r.startswith("network ") for r in reaped), reaped
    assert _containers_of(engine, pid=proc.pid) == []
