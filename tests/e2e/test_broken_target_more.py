"""The conformance suite catches each injected violation, end to end, on real backends: prethrift, aurum
and syncd (persist and assistant: ``test_broken_target.py``; the runs: ``broken_runs.py``)."""

from __future__ import annotations

import pytest

from tests.e2e.broken_runs import (
    GROUPS,
    assert_breaks_change_nothing_else,
    assert_broken_run_fails_as_expected,
    assert_reference_passes_the_same_tests,
)
from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

NAMES = GROUPS[1]


@pytest.mark.parametrize("name", NAMES)
def test_broken_target_fails_with_the_expected_findings(suite_runs: SuiteRuns, name: str) -> None:
    assert_broken_run_fails_as_expected(suite_runs, name)


@pytest.mark.parametrize("name", NAMES)
def test_unbroken_reference_passes_the_same_tests(suite_runs: SuiteRuns, name: str) -> None:
    assert_reference_passes_the_same_tests(suite_runs, name)


@pytest.mark.parametrize("name", NAMES)
def test_breaks_change_nothing_else(suite_runs: SuiteRuns, name: str) -> None:
    assert_breaks_change_nothing_else(suite_runs, name)
