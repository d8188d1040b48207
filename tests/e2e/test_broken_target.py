"""The conformance suite catches each injected violation, end to end, on real backends.

Each case runs ``pytest --obsconf-stack=process --obsconf-contract <contract> --obsconf-target-cmd
"python -m tests.broken_target ... --port {port} --break ..."`` in a subprocess: the plugin starts the broken
target the way it starts any user's service. The same run against the target with no break must pass
exactly the tests the breaks make fail, and the broken run must fail nothing else.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SuiteRuns

pytestmark = [pytest.mark.slow, pytest.mark.stack]

# profile -> (breaks, {test id: the check names of its findings})
CASES: dict[str, tuple[tuple[str, ...], dict[str, set[str]]]] = {
    "persist": (
        ("span-parent", "metric-label", "log-secret", "span-secret", "log-no-trace-id"),
        {
            "persist-spans-s3_upload": {"spans.parent"},
            "persist-metrics-persist_s3_errors_total": {"metrics.labels"},
            "persist-metrics-persist_s3_errors_total_in_prometheus": {"metrics.labels"},
            "persist-logs-redaction": {"logs.redaction"},
            "persist-spans-redaction": {"spans.redaction"},
            "persist-logs-trace_id": {"logs.trace_id"},
        },
    ),
    "assistant": (
        ("histogram-buckets",),
        {"assistant-metrics-assistant_request_duration_seconds": {"metrics.buckets"}},
    ),
    "prethrift": (
        ("health-schema", "log-no-trace-id"),
        {
            "prethrift-health-health_ready": {"health"},
            "prethrift-logs-trace_id": {"logs.trace_id"},
        },
    ),
}


@pytest.mark.parametrize("profile", list(CASES))
def test_broken_target_fails_with_the_expected_findings(suite_runs: SuiteRuns, profile: str) -> None:
    breaks, expected = CASES[profile]
    run = suite_runs.cmd(profile, breaks)
    assert run.returncode == 1, run.describe(list(expected))
    for test_id, checks in expected.items():
        got = run.results.get(test_id)
        assert got is not None and got.outcome == "failed", run.describe([test_id])
        assert got.checks == checks, run.describe([test_id])


@pytest.mark.parametrize("profile", list(CASES))
def test_unbroken_reference_passes_the_same_tests(suite_runs: SuiteRuns, profile: str) -> None:
    _, expected = CASES[profile]
    run = suite_runs.cmd(profile)
    for test_id in expected:
        got = run.results.get(test_id)
        assert got is not None and got.outcome == "passed", run.describe([test_id])


@pytest.mark.parametrize("profile", list(CASES))
def test_breaks_change_nothing_else(suite_runs: SuiteRuns, profile: str) -> None:
    """Every other test has the same verdict and the same finding kinds as against the reference (tests
    that fail against the reference for reasons of their own are the other helpers' business)."""
    breaks, expected = CASES[profile]
    broken, reference = suite_runs.cmd(profile, breaks), suite_runs.cmd(profile)
    assert set(broken.results) == set(reference.results), "both runs must run the same tests"
    differing = sorted(
        tid for tid in broken.results
        if tid not in expected and (broken.results[tid].outcome, broken.results[tid].checks)
        != (reference.results[tid].outcome, reference.results[tid].checks)
    )
    assert not differing, (
        f"tests other than the broken ones changed verdict: {differing}\n--- broken run:\n"
        f"{broken.describe(differing)}\n--- reference run:\n{reference.describe(differing)}")


def test_findings_are_readable(suite_runs: SuiteRuns) -> None:
    """The failure text names the check, the contract line, expected and actual - no Python traceback."""
    breaks, _ = CASES["persist"]
    out = suite_runs.cmd("persist", breaks).output
    assert "[spans.parent] persist.yaml:" in out and "span 's3_upload' has the wrong parent" in out, out[-4000:]
    assert "[metrics.labels] persist.yaml:" in out and "missing ['operation']" in out, out[-4000:]
    assert "secret value sk-o..." in out, "the secret is named only by its first characters"
    assert "sk-obsconf-canary-5f2a9c7e1b" not in out, "the report itself must not repeat the secret"
