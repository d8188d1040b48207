"""Pure check that every workload request got the status its step expects."""

from __future__ import annotations

from collections.abc import Sequence

from obsconf.contract.model import Step
from obsconf.model import Finding, HttpExchange
from obsconf.workload.plan import expand_steps


def check_expected_status(steps: Sequence[Step], exchanges: Sequence[HttpExchange]) -> list[Finding]:
    """``exchanges`` must be what ``run_workload(steps)`` returned: one per step repetition, in order."""
    plan = expand_steps(steps)
    if not plan:
        return [Finding("http.status", "workload", "no workload step was given, so no status was checked",
                        expected="workload steps", actual="none")]
    if len(plan) != len(exchanges):
        return [
            Finding("http.status", "workload", "the exchanges do not match the workload steps one to one; pass "
                    "exactly what run_workload returned", expected=len(plan), actual=len(exchanges))
        ]
    findings = []
    for step, exchange in zip(plan, exchanges, strict=True):
        if exchange.status not in step.expect_status:
            findings.append(
                Finding(
                    "http.status",
                    step.loc or f"workload {step.name}",
                    f"{exchange.method} {exchange.url} answered {exchange.status}"
                    + (f": {str(exchange.body)[:160]}" if exchange.status >= 400 else ""),
                    expected=list(step.expect_status),
                    actual=exchange.status,
                    query=f"{exchange.method} {exchange.url}",
                )
            )
    return findings
