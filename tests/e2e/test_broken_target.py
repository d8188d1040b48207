"""The conformance suite catches each injected violation, end to end, on real backends: persist and
assistant (prethrift, aurum and syncd: ``test_broken_target_more.py``; the runs and their tests: ``broken_runs.py``)."""

from __future__ import annotations

import pytest

from tests.e2e.broken_runs import GROUPS, RUNS, broken_run_tests
from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

#: the persist run as (breaks, expected), as other e2e tests read it
CASES = {"persist": (RUNS["persist"][1], RUNS["persist"][2])}

(test_broken_target_fails_with_the_expected_findings, test_unbroken_reference_passes_the_same_tests,
 test_breaks_change_nothing_else) = broken_run_tests(GROUPS[0])


def test_findings_are_readable(suite_runs: SuiteRuns) -> None:
    """The failure text names the check, the contract line, expected and actual - no Python traceback."""
    out = suite_runs.cmd("persist", RUNS["persist"][1]).output
    labels = suite_runs.cmd("persist", RUNS["persist-labels"][1]).output
    assert "[spans.parent] persist.yaml:" in out and "span 's3_upload' has the wrong parent" in out, out[-4000:]
    assert "[metrics.labels] persist.yaml:" in labels and "missing ['operation']" in labels, labels[-4000:]
    assert "secret value sk-o..." in out, "the secret is named only by its first characters"
    assert "sk-obsconf-canary-5f2a9c7e1b" not in out, "the report itself must not repeat the secret"
