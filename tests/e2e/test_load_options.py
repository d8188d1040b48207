"""The load options: the load cases are collected only under ``--obsconf-load locust`` (or its ini twin),
and impossible combinations are usage errors that say the fix, before anything starts."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.suite_run import CONTRACTS, REPO_ROOT

TINY = REPO_ROOT / "tests" / "target" / "tiny_service" / "contract.yaml"


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def _load_ids(out: str) -> list[str]:
    return sorted(line.rsplit("::", 1)[-1] for line in out.splitlines() if "-load-" in line)


def test_load_cases_only_under_the_load() -> None:
    contract = str(CONTRACTS / "prethrift.yaml")
    plain = _pytest("--co", contract)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert _load_ids(plain.stdout) == []
    loaded = _pytest("--co", contract, "--obsconf-load", "locust")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert _load_ids(loaded.stdout) == ["prethrift-load-accounting", "prethrift-load-histogram_count",
                                        "prethrift-load-requests", "prethrift-load-slo_availability",
                                        "prethrift-load-slo_error_rate", "prethrift-load-slo_p95_ms"]
    ini = _pytest("--co", contract, "-o", "obsconf_load=locust", "-o", "obsconf_load_seconds=5")
    assert _load_ids(ini.stdout) == _load_ids(loaded.stdout), ini.stdout + ini.stderr


def test_load_settings_without_the_load_are_refused() -> None:
    proc = _pytest("--co", str(CONTRACTS / "prethrift.yaml"), "--obsconf-load-workers", "2")
    assert proc.returncode == 4
    assert "--obsconf-load-workers set(s) the load, which runs only with --obsconf-load locust" in proc.stderr


def test_a_contract_without_a_load_section_is_refused() -> None:
    proc = _pytest(str(TINY), "--obsconf-load", "locust")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "contract.yaml has none: add one (load: {locustfile, user_class, accounting})" in proc.stderr


def test_a_bad_ini_value_is_refused() -> None:
    proc = _pytest("--co", str(CONTRACTS / "prethrift.yaml"), "-o", "obsconf_load=gatling")
    assert proc.returncode == 4 and "obsconf_load = 'gatling'" in proc.stderr
