"""The broken-target runs of the e2e proofs: which breaks each run injects, and what each must fail.

Each run is ``pytest --obsconf-stack=process --obsconf-contract <contract> --obsconf-target-cmd
"python -m tests.broken_target ... --port {port} --break ..."`` in a subprocess: the plugin starts the broken
target the way it starts any user's service. The same run against the target with no break must pass
exactly the tests the breaks make fail, and the broken run must fail nothing else. The runs are split over
two test files (by profile) so that two pytest-xdist workers share them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import SuiteRuns

# run name -> (profile, breaks, {test id: the check names of its findings}); breaks of one run touch different tests
RUNS: dict[str, tuple[str, tuple[str, ...], dict[str, set[str]]]] = {
    "persist": ("persist", (
        "span-parent", "log-secret", "span-secret", "log-no-trace-id", "op-error-status", "log-target",
        "latency-buckets", "latency-blind", "sampling-ignores-rate"), {
        "persist-spans-s3_upload": {"spans.parent"},
        "persist-logs-redaction": {"logs.redaction"},
        "persist-spans-redaction": {"spans.redaction"},
        "persist-logs-trace_id": {"logs.trace_id"},
        "persist-spans-status_rules": {"spans.status"},
        "persist-logs-event_s3_operation_completed": {"logs.events"},
        "persist-retries-put_object": {"retries"},
        "persist-metrics-persist_s3_latency_seconds": {"metrics.buckets"},
        "persist-alerts-drive_slow_s3": {"alerts.live"},
        "persist-spans-sampling": {"spans.sampling"},
    }),
    "persist-labels": ("persist", ("metric-label",), {
        "persist-metrics-persist_s3_errors_total": {"metrics.labels", "metrics.increase"},
        "persist-metrics-persist_s3_errors_total_in_prometheus": {"metrics.labels"},
        "persist-dashboards-error_rate": {"dashboards"},
        "persist-retries-put_object": {"retries"},
        "persist-retries-get_object": {"retries"},
        "persist-alerts-drive_s3_errors": {"alerts.live"},
    }),
    "assistant": ("assistant", ("histogram-buckets", "health-envelope", "sampling-ignores-rate"), {
        "assistant-metrics-assistant_request_duration_seconds": {"metrics.buckets"},
        "assistant-health-health_health": {"health"},
        "assistant-spans-sampling": {"spans.sampling"},
    }),
    "prethrift": ("prethrift", (
        "health-schema", "log-no-trace-id", "log-context", "no-stack-trace", "span-kind", "service-version",
        "readiness-ignores-deps", "latency-blind", "sampling-ignores-rate"), {
        "prethrift-health-health_ready": {"health"},
        "prethrift-logs-trace_id": {"logs.trace_id"},
        "prethrift-logs-context": {"logs.context"},
        "prethrift-logs-event_error_with_stack_trace": {"logs.events"},
        "prethrift-spans-GET_api_search": {"spans.kind"},
        "prethrift-spans-status_rules": {"spans.status"},
        "prethrift-spans-resource": {"spans.resource"},
        "prethrift-spans-sampling": {"spans.sampling"},
        "prethrift-alerts-drive_s3_down": {"alerts.live", "http.status"},
        "prethrift-alerts-drive_slow_responses": {"alerts.live"},
    }),
    "aurum": ("aurum", (
        "dotted-attributes", "slo-env-ignored", "slo-unit", "runs-uncounted", "log-context", "no-stack-trace"), {
        "aurum-spans-scenario.create": {"spans.attributes"},
        "aurum-spans-db.insert": {"spans.attributes"},
        "aurum-spans-cache.set": {"spans.attributes"},
        "aurum-slos-definitions": {"slos"},
        "aurum-slos-env_targets": {"slos"},
        "aurum-slos-expressions": {"slos"},
        "aurum-logs-context": {"logs.context"},
        "aurum-logs-event_error_with_stack_trace": {"logs.events"},
    }),
    "syncd": ("syncd", ("absolute-paths", "labelled-files", "errors-uncounted", "no-log-indexes", "metrics-burn"), {
        "syncd-logs-redaction": {"logs.redaction"},
        "syncd-spans-redaction": {"spans.redaction"},
        "syncd-metrics-sync_files_processed_total": {"metrics.labels"},
        "syncd-metrics-sync_errors_total": {"metrics.present"},
        "syncd-metrics-sync_errors_total_in_prometheus": {"metrics.present"},
        "syncd-alerts-drive_failing_jobs": {"alerts.live"},
        "syncd-logs-store_daemon_logs": {"logs.store"},
        "syncd-budgets-metrics_cpu_percent": {"budgets"},
    }),
}


#: the runs of each test file (test_broken_target.py, test_broken_target_more.py): about half the time each
GROUPS = (("persist", "persist-labels", "assistant"), ("prethrift", "aurum", "syncd"))
assert sorted(GROUPS[0] + GROUPS[1]) == sorted(RUNS), "every run belongs to exactly one test file"


def assert_broken_run_fails_as_expected(suite_runs: SuiteRuns, name: str) -> None:
    profile, breaks, expected = RUNS[name]
    run = suite_runs.cmd(profile, breaks)
    assert run.returncode == 1, run.describe(list(expected))
    for test_id, checks in expected.items():
        got = run.results.get(test_id)
        assert got is not None and got.outcome == "failed", run.describe([test_id])
        assert got.checks == checks, run.describe([test_id])


def assert_reference_passes_the_same_tests(suite_runs: SuiteRuns, name: str) -> None:
    profile, _, expected = RUNS[name]
    run = suite_runs.cmd(profile)
    for test_id in expected:
        got = run.results.get(test_id)
        assert got is not None and got.outcome == "passed", run.describe([test_id])


def assert_breaks_change_nothing_else(suite_runs: SuiteRuns, name: str) -> None:
    """Every other test has the same verdict and the same finding kinds as against the reference (tests
    that fail against the reference for reasons of their own are the other helpers' business)."""
    profile, breaks, expected = RUNS[name]
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


def broken_run_tests(names: tuple[str, ...]) -> tuple[Callable[..., None], ...]:
    """The three tests of each run in ``names``, for a test module to collect under these names."""

    @pytest.mark.parametrize("name", names)
    def test_broken_target_fails_with_the_expected_findings(suite_runs: SuiteRuns, name: str) -> None:
        assert_broken_run_fails_as_expected(suite_runs, name)

    @pytest.mark.parametrize("name", names)
    def test_unbroken_reference_passes_the_same_tests(suite_runs: SuiteRuns, name: str) -> None:
        assert_reference_passes_the_same_tests(suite_runs, name)

    @pytest.mark.parametrize("name", names)
    def test_breaks_change_nothing_else(suite_runs: SuiteRuns, name: str) -> None:
        assert_breaks_change_nothing_else(suite_runs, name)

    return (test_broken_target_fails_with_the_expected_findings, test_unbroken_reference_passes_the_same_tests,
            test_breaks_change_nothing_else)
