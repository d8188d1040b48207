"""``--obsconf-target`` against a service the suite did not start, on backends it did not start either.

This process runs a stack and the reference ``prethrift`` profile wired to it, as a user runs their own
service; the suite only gets URLs (``--obsconf-stack=external``, ``--obsconf-target``). Its verdicts must be
the ones the suite reaches when it starts the reference itself. The broken variant fails readably.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

#: cases that need obsconf to have started the service: its dependencies behind proxies, a second instance
#: (sampling at the seed's rate, alert drives), its process loaded or measured (budgets)
NEEDS_START = {"prethrift-service-dependencies", "prethrift-spans-sampling", "prethrift-alerts-drive_s3_down",
               "prethrift-alerts-drive_server_errors", "prethrift-alerts-drive_slow_responses",
               "prethrift-budgets-memory_baseline_mb", "prethrift-budgets-request_overhead_ms"}


def test_reference_started_outside_the_suite_passes(suite_runs: SuiteRuns) -> None:
    run = suite_runs.url("prethrift")
    assert run.results, run.describe()
    assert str(run.meta.get("target", "")).startswith("http://127.0.0.1:"), run.meta
    errors = sorted(tid for tid, o in run.results.items() if o.outcome == "error")
    assert not errors, run.describe(errors)
    failing = run.failing() - NEEDS_START
    if failing:
        own = suite_runs.cmd("prethrift", None)
        differing = sorted(tid for tid in failing if (run.results[tid].outcome, run.results[tid].checks)
                           != ((own.results[tid].outcome, own.results[tid].checks) if tid in own.results else None))
        assert not differing, f"--obsconf-target gives other verdicts than the suite's own reference:\n" \
                              f"{run.describe(differing)}\n--- own run:\n{own.describe(differing)}"
    dep = run.results["prethrift-service-dependencies"]
    assert dep.outcome == "failed" and "obsconf did not start this service" in dep.message, dep


def test_broken_variant_fails_with_readable_findings(suite_runs: SuiteRuns) -> None:
    run = suite_runs.url("prethrift", ("health-schema", "log-no-trace-id"))
    assert run.returncode == 1, run.describe()
    out = run.output
    assert "FAILED fixtures/contracts/prethrift.yaml::prethrift-health-health_ready" in out, out[-4000:]
    assert "[health] prethrift.yaml:" in out and "GET /health/ready" in out, out[-4000:]
    assert "[logs.trace_id] prethrift.yaml:" in out and "have no 'trace_id' (hex32)" in out, out[-4000:]
    assert "expected:" in out and "actual:" in out and "query:" in out
    assert "Traceback" not in out, out[-4000:]
