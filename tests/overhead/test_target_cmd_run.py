"""``obsconf overhead --target-cmd`` on real processes: a short run on a stock-OpenTelemetry FastAPI service
that exports to the real stack, and the bad inputs (a command that exits, a port that never opens, an
unknown placeholder), each with a clear message and nothing left running."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from obsconf.overhead import gate, runner

pytestmark = pytest.mark.slow

STOCK_CMD = f"{sys.executable} -m obsconf.overhead.apps stock --port {{port}}"
SHORT = ["--rounds", "3", "--round-seconds", "1", "--warmup-seconds", "0.5", "--capacity-seconds", "1"]


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    return runner.run(parser.parse_args(list(argv)))


def _running_with(token: str) -> list[int]:
    """Live (not zombie) processes whose command line holds ``token``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if token.encode() in cmdline and state not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def test_overhead_of_a_stock_otel_service_with_the_stack(tmp_path: Path, capsys: Any) -> None:
    assert _run("--target-cmd", STOCK_CMD, "--path", "/items/1", "--with-stack", *SHORT,
                "--out-dir", str(tmp_path)) == 0
    doc = json.loads((tmp_path / "overhead.json").read_text())
    assert doc["config"]["target_cmd"] == STOCK_CMD and doc["config"]["off_env"] == ["OTEL_SDK_DISABLED=true"]
    assert set(doc["variants"]) == {"A", "B", "bare"}
    assert "OTEL_SDK_DISABLED=true" in doc["variants"]["B"]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in doc["rounds"])
    cpu = doc["comparison"]["cpu_us_per_request"]
    assert cpu["diff_ci_low"] <= cpu["diff_median"] <= cpu["diff_ci_high"]  # an interval, from 3 blocks
    assert {"overhead_bare_units", "p99_on_off", "overhead_x_off"} <= set(doc["figures"])
    md = (tmp_path / "overhead.md").read_text()
    assert md.startswith(f"# Instrumentation overhead: `{STOCK_CMD}`")
    assert "added CPU in bare requests" in md
    verdict = gate.evaluate(doc)  # the same gate as for the reference
    assert verdict.checks and verdict.verdict in (gate.PASS, gate.FAIL, gate.UNDECIDED)
    log = (tmp_path / "overhead-service-A.log").read_text()
    assert "Traceback" not in log  # the instrumented service exported without errors


def test_a_command_that_exits_at_start_shows_its_output(tmp_path: Path, capsys: Any) -> None:
    token = uuid.uuid4().hex
    cmd = f"{sys.executable} -c \"import sys; print('config missing: {token}'); sys.exit(3)\" {{port}}"
    assert _run("--target-cmd", cmd, "--path", "/items/1", *SHORT, "--out-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "exit code 3" in err and f"config missing: {token}" in err
    assert cmd in err
    assert _running_with(token) == []


def test_a_port_that_never_opens_names_the_command_and_the_url(tmp_path: Path, capsys: Any) -> None:
    token = uuid.uuid4().hex
    cmd = f"{sys.executable} -c \"import time; time.sleep(60)\" {token} {{port}}"
    assert _run("--target-cmd", cmd, "--path", "/items/1", "--ready-timeout", "2", *SHORT,
                "--out-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"`{cmd}` never answered GET http://127.0.0.1:" in err and "/items/1" in err
    assert "was not ready after" in err
    assert _running_with(token) == []


def test_an_unknown_placeholder_is_refused_before_anything_starts(tmp_path: Path, capsys: Any) -> None:
    token = uuid.uuid4().hex
    cmd = f"{sys.executable} -c \"import time; time.sleep(60)\" {token} --host {{host}} --port {{port}}"
    assert _run("--target-cmd", cmd, "--path", "/items/1", *SHORT, "--out-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "unknown placeholder {host}" in err
    assert _running_with(token) == []
    assert not (tmp_path / "overhead-service-A.log").exists()
