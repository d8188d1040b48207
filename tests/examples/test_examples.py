"""The examples (services written the way their users write them, in Python and Go) meet their contracts,
run by the obsconf plugin exactly as a user runs it; each bug switch fails exactly the expected cases.

Each run is ``pytest <example>/contract.yaml --obsconf-stack=process`` in a subprocess: the plugin starts
the example from its ``service.command`` with the standard variables and its dependencies behind Toxiproxy,
drives it, and reads the real backends. One run is made from a directory outside this repository, with
``--obsconf-contract`` and ``--obsconf-target-cmd``, to show nothing here is needed but obsconf itself.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.suite_run import REPO_ROOT, SuiteRun, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.stack]

EXAMPLES = REPO_ROOT / "examples"

# example -> (contract id, switch variable, value, the case ids that must fail, words their findings say)
BUGS: dict[str, tuple[str, str, str, set[str], str]] = {
    "fastapi_shop": ("shop", "SHOP_BUG", "no-backoff", {"shop-retries-put_object"}, "retries without backoff"),
    "flask_inventory": ("inventory", "INVENTORY_BUG", "secret-in-log", {"inventory-logs-redaction"},
                        "secret value"),
    "go_orders": ("orders", "ORDERS_BUG", "wrong-label", {"orders-metrics-orders_http_requests_total",
                                                          "orders-metrics-orders_http_requests_total_in_prometheus"},
                  "labels"),
}


@pytest.fixture(scope="session", autouse=True)
def go_orders_built() -> None:
    """Build the Go example once (cached by its sources' hash), so its start-up is not timed by a build."""
    if shutil.which("go") is None:
        pytest.fail("examples/go_orders needs the Go toolchain (go 1.26, see its go.mod) on PATH; install it")
    done = subprocess.run(["bash", str(EXAMPLES / "go_orders" / "build.sh")], capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, f"examples/go_orders/build.sh failed:\n{done.stdout}\n{done.stderr}"


def _run(example: str, tmp_path: Path, env: dict[str, str] | None = None) -> SuiteRun:
    return run_suite([str(EXAMPLES / example / "contract.yaml"), "--obsconf-stack=process"],
                     report_dir=tmp_path / "report", env=env, timeout=400)


@pytest.mark.parametrize("example", list(BUGS))
def test_example_meets_its_contract(example: str, tmp_path: Path) -> None:
    run = _run(example, tmp_path)
    assert run.returncode == 0 and run.results, run.describe(sorted(run.failing()))
    assert all(o.outcome == "passed" for o in run.results.values()), run.describe(sorted(run.failing()))


@pytest.mark.parametrize("example", list(BUGS))
def test_bug_switch_fails_exactly_the_expected_cases(example: str, tmp_path: Path) -> None:
    _, var, value, expected, words = BUGS[example]
    run = _run(example, tmp_path, env={var: value})
    assert run.returncode == 1 and run.failing() == expected, run.describe(sorted(run.failing() | expected))
    for case in expected:
        assert words in run.results[case].message, run.results[case].message
    assert "Traceback" not in run.output, run.output[-4000:]


def test_from_a_directory_outside_the_repository(tmp_path: Path) -> None:
    """``pytest --obsconf-contract examples/fastapi_shop/contract.yaml --obsconf-target-cmd "..."`` from a
    directory that holds nothing of obsconf's."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    app = EXAMPLES / "fastapi_shop" / "app.py"
    command = shlex.join([sys.executable, str(app), "--port", "{port}"])
    run = run_suite(["--obsconf-contract", str(EXAMPLES / "fastapi_shop" / "contract.yaml"),
                     "--obsconf-target-cmd", command, "--obsconf-stack=process"],
                    report_dir=outside / "reports", cwd=outside, timeout=400)
    assert run.returncode == 0 and run.results, run.describe(sorted(run.failing()))
    assert not (outside / "conftest.py").exists()


def test_the_examples_own_locustfile_drives_it_under_load(tmp_path: Path) -> None:
    """The inventory team's own Locust test (``examples/flask_inventory/locustfile.py``, named by the
    contract's ``load`` section) is the workload: every case passes on what it produced, and the request
    counter, the server spans and the requests sent agree per route."""
    run = run_suite([str(EXAMPLES / "flask_inventory" / "contract.yaml"), "--obsconf-stack=process",
                     "--obsconf-load", "locust", "--obsconf-load-seconds", "10"],
                    report_dir=tmp_path / "report", timeout=400)
    assert run.returncode == 0 and run.results, run.describe(sorted(run.failing()))
    assert {"inventory-load-accounting", "inventory-load-slo_p95_ms"} <= set(run.results)
    report = json.loads((tmp_path / "report" / "load.json").read_text())["contracts"]["contract.yaml"]
    assert report["plan"]["user_class"] == "InventoryUser" and report["accounting"]["exact"]
    routes = {row["route"] for row in report["accounting"]["rows"]}
    assert {"/items/<sku>", "/items/<sku>/reservations", "/items/<sku>/forecast"} <= routes


def test_overhead_of_the_shop_example_is_reported_with_an_interval(tmp_path: Path) -> None:
    """``obsconf overhead --target-cmd`` measures a user's service A/B (its OpenTelemetry SDK switched off by
    the standard OTEL_SDK_DISABLED for B) and reports the added CPU with an interval; no limit is held."""
    cmd = f"{shlex.quote(sys.executable)} app.py --port {{port}}"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("obsconf")), "overhead", "--target-cmd", cmd, "--path", "/products/sku-mug",
         "--discard-sinks", "--rounds", "3", "--round-seconds", "1", "--warmup-seconds", "0.5",
         "--capacity-seconds", "1", "--no-micro", "--out-dir", str(tmp_path)],
        cwd=EXAMPLES / "fastapi_shop", capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    doc = json.loads((tmp_path / "overhead.json").read_text())
    assert doc["config"]["target_cmd"] == cmd
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in doc["rounds"])
    cpu = doc["comparison"]["cpu_us_per_request"]
    assert cpu["diff_ci_low"] <= cpu["diff_median"] <= cpu["diff_ci_high"]
    assert "added CPU in bare requests" in (tmp_path / "overhead.md").read_text()
