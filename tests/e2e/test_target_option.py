"""``--obsconf-target`` against a service the suite did not start (issue 5, item 5).

The e2e plugin starts the reference ``prethrift`` profile with ``start_reference`` on the suite's stack,
outside the suite's own target handling; the suite only gets its URL. Its verdicts must be the ones the
suite reaches when it starts the reference itself. The broken variant fails with readable findings.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def test_reference_started_outside_the_suite_passes(suite_runs: SuiteRuns) -> None:
    run = suite_runs.target("prethrift", tests="conformance/")
    assert run.results, run.describe()
    assert str(run.meta.get("target", "")).startswith("http://127.0.0.1:"), run.meta
    errors = sorted(tid for tid, o in run.results.items() if o.outcome == "error")
    assert not errors, run.describe(errors)
    assert "FAILED conformance/test_stack.py" not in run.output and "ERROR conformance/" not in run.output, \
        run.describe()
    if run.returncode != 0:
        # Tests that fail here must fail the same way when the suite starts the reference itself: a contract
        # or reference mismatch, not a problem of checking a service through --obsconf-target.
        own = suite_runs.own("prethrift", tests="conformance/")
        differing = sorted(tid for tid in run.results if (run.results[tid].outcome, run.results[tid].checks)
                           != ((own.results[tid].outcome, own.results[tid].checks) if tid in own.results else None))
        assert not differing, f"--obsconf-target gives other verdicts than the suite's own reference:\n" \
                              f"{run.describe(differing)}\n--- own run:\n{own.describe(differing)}"


def test_broken_variant_fails_with_readable_findings(suite_runs: SuiteRuns) -> None:
    run = suite_runs.target("prethrift", ("health-schema", "log-no-trace-id"))
    assert run.returncode == 1, run.describe()
    out = run.output
    assert "FAILED conformance/test_contracts.py::test_contract[prethrift-health-health_ready]" in out, out[-4000:]
    assert "[health] prethrift.yaml:" in out and "GET /health/ready" in out, out[-4000:]
    assert "[logs.trace_id] prethrift.yaml:" in out and "have no 'trace_id' (hex32)" in out, out[-4000:]
    assert "expected:" in out and "actual:" in out and "query:" in out
    assert "Traceback" not in out, out[-4000:]
