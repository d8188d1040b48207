"""Retries without backoff are caught with real faults.

``--obsconf-target`` cannot inject faults (the suite's Toxiproxy proxies exist only in front of a target
it starts), so here the suite runs in its normal mode: its own stack, its own proxies in front of the
target's S3, PocketBase, log and OTLP traffic, and Toxiproxy ``reset_peer`` on S3 during the retry
scenario. The e2e plugin (swap mode) makes the process the suite launches the broken target instead of the
reference service; everything else - proxies, fault, readers, check - is the suite's own code path.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

RETRY_TEST = "persist-retries-put_object"


def test_retries_without_backoff_are_caught(suite_runs: SuiteRuns) -> None:
    run = suite_runs.own("persist", ["retry-no-backoff"], select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert run.returncode == 1 and got is not None and got.outcome == "failed", run.describe([RETRY_TEST])
    assert got.checks == {"retries"}, run.describe([RETRY_TEST])
    assert "retries without backoff: the operation retried (almost) at once" in got.message, got.message


def test_reference_retries_pass(suite_runs: SuiteRuns) -> None:
    run = suite_runs.own("persist", None, select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert got is not None and got.outcome == "passed", run.describe([RETRY_TEST])


def test_swap_without_breaks_is_the_reference(suite_runs: SuiteRuns) -> None:
    """The swap itself changes nothing: the broken target with no breaks passes the retry check too."""
    run = suite_runs.own("persist", [], select=RETRY_TEST)
    got = run.results.get(RETRY_TEST)
    assert got is not None and got.outcome == "passed", run.describe([RETRY_TEST])
    assert run.log_dir is not None
    launches = run.log_dir / "launches.txt"
    assert launches.exists() and "tests.broken_target" in launches.read_text(), "the swap did not happen"
