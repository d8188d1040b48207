"""End to end on real backends: the conformance suite starts aurum with a token of its own, and its auth case
passes against the reference and fails against a service whose /metrics forgets the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.suite_run import BROKEN_ENV, CONTRACTS, broken_command, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def _run(tmp_path: Path, breaks: str | None):  # noqa: ANN202 - a SuiteRun
    args = [str(CONTRACTS / "aurum.yaml"), "--obsconf-stack=process", "-k", "auth or in_prometheus"]
    if breaks is not None:
        args += ["--obsconf-target-cmd", broken_command("aurum", [breaks])]
    return run_suite(args, report_dir=tmp_path / "report", env=BROKEN_ENV)


def test_reference_passes_auth_and_prometheus_scrapes_with_the_token(tmp_path: Path) -> None:
    run = _run(tmp_path, None)
    assert run.returncode == 0, run.describe()
    assert run.results["aurum-auth-bearer_token"].outcome == "passed", run.describe()
    # the metrics behind the token reached Prometheus: its scrape job sent the credentials
    assert run.results["aurum-metrics-aurum_requests_total_in_prometheus"].outcome == "passed", run.describe()


def test_an_endpoint_that_forgets_the_token_fails_the_auth_case(tmp_path: Path) -> None:
    run = _run(tmp_path, "auth-forgotten")
    got = run.results.get("aurum-auth-bearer_token")
    assert got is not None and got.outcome == "failed" and got.checks == {"auth"}, run.describe()
    assert "GET /metrics answered 200 without a token" in got.message, run.describe()
