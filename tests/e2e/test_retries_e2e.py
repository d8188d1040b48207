"""Retries without backoff are caught with real faults.

The suite starts the broken target itself (``--obsconf-target-cmd``), with its S3 traffic behind a Toxiproxy
proxy (``service.dependencies``), and injects ``reset_peer`` on S3 during the retry case: proxies, fault,
readers and check are the suite's own code path; only the service is the broken one.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

RETRY_TEST = "persist-retries-put_object"


def test_retries_without_backoff_are_caught(suite_runs: SuiteRuns) -> None:
    run = suite_runs.cmd("persist", ["retry-no-backoff"], select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert run.returncode == 1 and got is not None and got.outcome == "failed", run.describe([RETRY_TEST])
    assert got.checks == {"retries"}, run.describe([RETRY_TEST])
    assert "retries without backoff: the operation retried (almost) at once" in got.message, got.message


def test_reference_retries_pass(suite_runs: SuiteRuns) -> None:
    run = suite_runs.cmd("persist", None, select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert got is not None and got.outcome == "passed", run.describe([RETRY_TEST])


def test_target_cmd_without_breaks_passes_and_is_what_ran(suite_runs: SuiteRuns) -> None:
    """The command given is the process the suite started (its stdout is kept under services/)."""
    run = suite_runs.cmd("persist", [], select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert got is not None and got.outcome == "passed", run.describe([RETRY_TEST])
    assert run.report_dir is not None
    stderr = run.report_dir / "services" / "persist" / "stderr.log"
    assert stderr.exists() and "broken target: profile persist, breaks none" in stderr.read_text(), \
        "the suite did not start the command given with --obsconf-target-cmd"
