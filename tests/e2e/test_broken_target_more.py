"""The conformance suite catches each injected violation, end to end, on real backends: prethrift, aurum
and syncd (persist and assistant: ``test_broken_target.py``; the runs and their tests: ``broken_runs.py``)."""

from __future__ import annotations

import pytest

from tests.e2e.broken_runs import GROUPS, broken_run_tests

pytestmark = [pytest.mark.slow, pytest.mark.stack]

(test_broken_target_fails_with_the_expected_findings, test_unbroken_reference_passes_the_same_tests,
 test_breaks_change_nothing_else) = broken_run_tests(GROUPS[1])
