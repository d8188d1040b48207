"""``obsconf stack up`` records its stack, and a test session attaches to it: no URL flags, its scrape jobs
(with a bearer token too) registered in that Prometheus, and the stack left running when the session ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.stack]

ROOT = Path(__file__).resolve().parents[2]


def test_a_session_attaches_to_stack_up_and_leaves_it_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    up = subprocess.Popen([sys.executable, "-m", "obsconf.cli", "stack", "up", "--mode", "process"], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert up.stdout is not None
        text = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text += up.stdout.readline()
            try:
                endpoints = json.loads(text)
                break
            except ValueError:
                continue
        else:
            pytest.fail(f"`obsconf stack up` printed no endpoints:\n{text}")
        shell_env = subprocess.run([sys.executable, "-m", "obsconf.cli", "stack", "env", "--service", "shop",
                                    "--format", "json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert json.loads(shell_env.stdout)["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoints["otlp_http_url"]
        # aurum: metrics behind a bearer token, scraped by the attached stack's Prometheus
        run = subprocess.run([sys.executable, "-m", "pytest", "fixtures/contracts/aurum.yaml", "-p",
                              "no:cacheprovider", "-q", "-m", "not faults", "-k", "in_prometheus or auth",
                              "--obsconf-report-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300, check=False)
        out = run.stdout + run.stderr
        assert "attached to the process stack of `obsconf stack up`" in out, out[-3000:]
        assert run.returncode == 0, out[-4000:]
        status = subprocess.run([sys.executable, "-m", "obsconf.cli", "stack", "status"], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=False)
        assert status.returncode == 0, "the attached session must leave the stack running:\n" + status.stdout
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(30)
