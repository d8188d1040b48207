"""The plugin owns the suite: in a directory outside this repository that holds only a contract and a
service, ``pytest --obsconf-contract contract.yaml`` collects and runs the contract's cases, with no conftest.

The service (``tests/target/tiny_service``) is instrumented the usual way: OpenTelemetry SDK configured by
the standard variables, prometheus_client, JSON lines on stdout (``logs.source: console``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.stack]

SERVICE = Path(__file__).resolve().parent / "tiny_service"


def _copy_outside(tmp_path: Path) -> Path:
    where = tmp_path / "shop"
    where.mkdir()
    for name in ("app.py", "contract.yaml"):
        shutil.copy(SERVICE / name, where / name)
    text = (where / "contract.yaml").read_text().replace('command: "python ', f'command: "{sys.executable} ')
    (where / "contract.yaml").write_text(text)
    return where


def _pytest(where: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "--obsconf-contract", "contract.yaml", "-p",
                           "no:cacheprovider", "--obsconf-stack=process", "-q", "--color=no", *args],
                          cwd=where, env=child, capture_output=True, text=True, timeout=180, check=False)


def test_a_contract_and_a_service_are_enough(tmp_path: Path) -> None:
    where = _copy_outside(tmp_path)
    assert not (where / "conftest.py").exists() and not str(where).startswith(str(Path(__file__).parents[2]))
    proc = _pytest(where)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    summary = json.loads((where / "reports" / "conformance.json").read_text())
    ids = {c["test_id"].rsplit("::", 1)[-1] for c in summary["contracts"]["tiny"]["checks"]}
    assert {"tiny-logs-schema", "tiny-logs-redaction", "tiny-correlation-logs_to_traces", "tiny-spans-GET_hello",
            "tiny-metrics-tiny_requests_total", "tiny-metrics-tiny_requests_total_in_prometheus"} <= ids, ids
    assert "contract.yaml::tiny-spans-GET_hello" in _pytest(where, "--collect-only").stdout


def test_its_bug_fails_exactly_the_redaction_case(tmp_path: Path) -> None:
    where = _copy_outside(tmp_path)
    proc = _pytest(where, env={"TINY_BUG": "secret-in-log"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-5000:]
    assert "FAILED contract.yaml::tiny-logs-redaction" in out and out.count("FAILED") == 1, out[-5000:]
    assert "[logs.redaction]" in out and "key-tiny-canary-9d2f" not in out.split("short test summary")[0], out[-4000:]
