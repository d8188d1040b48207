"""The examples meet their contracts on a real stack, and each bug switch fails exactly the expected cases.

Each example is started the way its contract says (command, port, dependencies behind Toxiproxy), driven
with a W3C ``traceparent`` per request, and checked with the conformance suite's own cases
(:func:`obsconf.suite.build_cases`) on what arrived in Jaeger, the log store or stdout, /metrics and
Prometheus. See ``harness.py`` for the two shims that go once the plugin runs user contracts (issue 11).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from obsconf.checks.http import check_expected_status
from obsconf.stack import Stack
from tests.examples.harness import (
    CaseResult,
    Readers,
    SmokeProbe,
    drive,
    load_example,
    run_cases,
    run_fault_scenario,
    running_example,
    trace_ids,
)

EXAMPLES = ("fastapi_shop", "flask_inventory", "go_orders")

# example -> (switch variable, value, the case ids that must fail, words each failing case's findings say)
BUGS: dict[str, tuple[str, str, set[str], tuple[str, ...]]] = {
    "fastapi_shop": ("SHOP_BUG", "no-backoff", {"shop-retries-put_object"}, ("retries without backoff",)),
    "flask_inventory": ("INVENTORY_BUG", "secret-in-log", {"inventory-logs-redaction"},
                        ("secret value", "must redact")),
    "go_orders": ("ORDERS_BUG", "wrong-label", {"orders-metrics-orders_http_requests_total",
                                                "orders-metrics-orders_http_requests_total_in_prometheus"},
                  ("labels",)),
}


# example -> the line it logs when it shuts down after SIGTERM (telemetry flushed)
STOPPED = {"fastapi_shop": "shop stopping", "flask_inventory": "inventory stopped", "go_orders": "orders stopped"}


def _check(name: str, stack: Stack, readers: Readers, tmp_path: Path,
           env: dict[str, str] | None = None) -> tuple[list[CaseResult], list[str]]:
    """Run the example's cases, fault scenarios included; problems: an unclean exit on SIGTERM."""
    example = load_example(name, tmp_path)
    with running_example(example, stack, tmp_path / "logs", env=env) as running:
        probe = SmokeProbe(running, stack, readers)
        results = run_cases(probe) + [run_fault_scenario(probe, f) for f in example.faults]
    code = running.process.proc.returncode if running.process.proc else None
    problems = []
    # uvicorn re-raises the SIGTERM it handled once it has shut down, so -15 after the stop line is clean too
    tail = running.stdout.read_text(errors="replace")[-3000:]
    if code not in (0, -signal.SIGTERM) or STOPPED[name] not in tail:
        problems.append(f"{name} did not shut down cleanly on SIGTERM: exit code {code}, last output:\n{tail}")
    return results, problems


@pytest.fixture
def built(request: pytest.FixtureRequest, name: str) -> None:
    if name == "go_orders":
        request.getfixturevalue("go_orders_built")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_meets_its_contract(name: str, built: None, stack: Stack, readers: Readers, tmp_path: Path) -> None:
    results, problems = _check(name, stack, readers, tmp_path)
    failed = [r for r in results if not r.passed]
    assert not failed, f"{len(failed)} of {len(results)} cases failed:\n" + "\n".join(r.render() for r in failed)
    assert len(results) >= 15, f"only {len(results)} cases: the contract checks too little"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EXAMPLES)
def test_bug_switch_fails_exactly_the_expected_cases(name: str, built: None, stack: Stack, readers: Readers,
                                                     tmp_path: Path) -> None:
    var, value, expected, words = BUGS[name]
    results, problems = _check(name, stack, readers, tmp_path, env={var: value})
    failed = {r.id: r for r in results if not r.passed}
    report = "\n".join(r.render() for r in failed.values())
    print(f"{var}={value}:\n{report}")  # shown with -rP: what a user of the example would read
    assert set(failed) == expected, f"{var}={value}: expected {sorted(expected)} to fail, got:\n{report}"
    for result in failed.values():
        text = result.render()
        missing = [w for w in words if w not in text]
        assert not missing, f"the finding of {result.id} does not say {missing}:\n{text}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EXAMPLES)
def test_otel_sdk_disabled_turns_telemetry_off(name: str, built: None, stack: Stack, readers: Readers,
                                               tmp_path: Path) -> None:
    """OTEL_SDK_DISABLED=true, the off switch of an overhead A/B run (issue 11 item 8), still serves every
    request as the contract expects, but no span reaches Jaeger and no line reaches the log store. The Go
    SDK ignores the variable, so go_orders reads it itself."""
    example = load_example(name, tmp_path)
    with running_example(example, stack, tmp_path / "logs", env={"OTEL_SDK_DISABLED": "true"}) as running:
        started = time.time_ns()
        exchanges = drive(running, example.contract.workload, "off")
        time.sleep(1.5)  # spans are exported every 200 ms (OTEL_BSP_SCHEDULE_DELAY) and lines within 0.5 s
        traced = [t for t in trace_ids(exchanges) if readers.jaeger.trace(t)]
        shipped = readers.logs.lines(example.stream, start_ns=started)
    findings = check_expected_status(example.contract.workload, exchanges)
    assert not findings, "\n".join(f.render() for f in findings)
    assert not traced, f"{len(traced)} of {len(exchanges)} requests were traced with OTEL_SDK_DISABLED=true"
    assert not shipped, f"{len(shipped)} lines were shipped with OTEL_SDK_DISABLED=true; first: {shipped[0].line}"
