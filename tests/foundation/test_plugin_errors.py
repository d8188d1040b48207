"""Bad input to the plugin ends in one clear line (or one failure per case), never a traceback, and nothing
starts that the run does not need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "fixtures" / "contracts"


def _pytest(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--color=no", *args],
                          cwd=cwd, env=child, capture_output=True, text=True, timeout=120, check=False)


def test_an_empty_contracts_directory_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest("conformance", env={"OBSCONF_CONTRACTS_DIR": str(tmp_path)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert f"{tmp_path}: at <root>: no *.yaml contracts found" in out and "INTERNALERROR" not in out, out


def test_a_missing_contract_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest(str(tmp_path), "--obsconf-contract", str(tmp_path / "nope.yaml"))
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"--obsconf-contract {tmp_path / 'nope.yaml'}: no such file" in proc.stderr


def test_target_url_and_target_command_exclude_each_other(tmp_path: Path) -> None:
    proc = _pytest(str(CONTRACTS / "prethrift.yaml"), "--obsconf-target", "http://127.0.0.1:1",
                   "--obsconf-target-cmd", "x {port}")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "exclude each other" in proc.stderr


def test_one_target_for_two_contracts_is_refused() -> None:
    proc = _pytest(str(CONTRACTS / "prethrift.yaml"), str(CONTRACTS / "aurum.yaml"), "--obsconf-target-cmd",
                   "x {port}", "--collect-only")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "--obsconf-target-cmd names one service, but cases of 2 contracts are selected" in proc.stderr
    assert "select one with --obsconf-contract or -k" in proc.stderr


def test_an_unknown_placeholder_in_the_target_command_is_named(tmp_path: Path) -> None:
    proc = _pytest(str(CONTRACTS / "prethrift.yaml"), "--obsconf-target-cmd", "serve --bind {host}:{port}",
                   "-k", "workload", "--obsconf-report-dir", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "unknown placeholder {host}" in out and "Traceback" not in out, out
    assert "starting jaeger" not in out, "nothing starts for a command that cannot run"


def test_an_unreachable_target_fails_before_any_backend_starts(tmp_path: Path) -> None:
    proc = _pytest(str(CONTRACTS / "prethrift.yaml"), "--obsconf-target", "http://127.0.0.1:9",
                   "--obsconf-stack=process", "--obsconf-report-dir", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "--obsconf-target http://127.0.0.1:9 does not answer at /metrics" in out, out
    assert "starting jaeger" not in out and "Traceback" not in out, out


def test_a_malformed_contract_given_as_a_path_is_one_collection_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.obsconf.yaml"
    bad.write_text("version: 1\nservice: {name: x, profile: nope}\n")
    proc = _pytest(str(bad))
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "invalid contract:" in out and "service.profile: 'nope' is not allowed here" in out, out
    assert "Traceback" not in out, out


def test_a_bad_obsconf_variable_is_one_line(tmp_path: Path) -> None:
    proc = _pytest(str(CONTRACTS / "prethrift.yaml"), "--collect-only", env={"OBSCONF_READY_TIMEOUT": "abc"})
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "OBSCONF_READY_TIMEOUT='abc': expected a number" in proc.stderr and "Traceback" not in proc.stderr
