"""`locust -f loadtests` runs headless for each profile against the reference service on the real stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from obsconf.ports import free_port
from obsconf.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
USERS = {"persist": "PersistUser", "syncd": "SyncdUser", "aurum": "AurumUser", "prethrift": "PrethriftUser",
         "assistant": "AssistantUser"}


@pytest.fixture(scope="module")
def real_stack():
    from obsconf.stack import start_stack

    with start_stack(Settings.from_env(stack="process"), progress=lambda _: None) as stack:
        yield stack


@pytest.mark.slow
@pytest.mark.stack
@pytest.mark.parametrize("profile", sorted(USERS))
def test_locust_headless_against_reference(profile: str, real_stack, tmp_path: Path) -> None:
    from obsconf.target.reference import start_reference

    port = free_port()
    service = start_reference(profile, port, real_stack.endpoints, log_dir=tmp_path)
    try:
        locust = Path(sys.executable).parent / "locust"
        result = subprocess.run(
            [str(locust), "-f", str(ROOT / "loadtests"), "--headless", "-u", "8", "-r", "8", "-t", "3s",
             "--host", f"http://127.0.0.1:{port}", "--only-summary", USERS[profile]],
            capture_output=True, text=True, timeout=90, cwd=ROOT,
        )
    finally:
        service.stop()
    summary = [line for line in result.stderr.splitlines() if "Aggregated" in line]
    assert result.returncode == 0, f"locust failed ({result.returncode}):\n{result.stderr[-3000:]}"
    assert summary, f"no Locust stats table in:\n{result.stderr[-2000:]}"
    requests, failures = summary[0].split()[1:3]
    assert int(requests) > 20 and failures.startswith("0("), summary[0]
