"""A service obsconf started does not outlive a pytest that is killed with SIGKILL: PR_SET_PDEATHSIG sends it
SIGTERM, and the session's watchdog sends SIGKILL to one that ignores SIGTERM (the same layers as the
backends')."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsconf.stack.process import _alive

pytestmark = [pytest.mark.slow, pytest.mark.stack]

SERVICE = Path(__file__).resolve().parent / "tiny_service"


def _service_pids(where: Path) -> list[int]:
    """Processes running the tiny service of this test: ``app.py`` with ``where`` as working directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(where) and "app.py" in cmd and _alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize("bug", ["", "hang-on-sigterm"], ids=["clean-service", "service-ignoring-sigterm"])
def test_sigkill_of_pytest_takes_the_service_with_it(tmp_path: Path, bug: str) -> None:
    where = tmp_path / "svc"
    where.mkdir()
    shutil.copy(SERVICE / "app.py", where / "app.py")
    # a workload that keeps the session busy long enough to kill it while the service runs
    contract = (SERVICE / "contract.yaml").read_text().replace('command: "python ', f'command: "{sys.executable} ')
    contract = contract.replace("repeat: 3}", "repeat: 400}")
    (where / "contract.yaml").write_text(contract)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child_env["TINY_BUG"] = bug
    output = tmp_path / "pytest.out"
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "contract.yaml", "-p", "no:cacheprovider", "-q",
                                 "--obsconf-stack=process"], cwd=where, env=child_env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _service_pids(where):
            time.sleep(0.2)
        started = _service_pids(where)
        assert started, f"the service never started:\n{output.read_text(errors='replace')[-3000:]}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in started):
        time.sleep(0.2)
    assert not [p for p in started if _alive(p)], "the service outlived the killed pytest"
