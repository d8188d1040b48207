"""From a contract to named checks: the cases the conformance suite runs, one pytest item each.

Each section of a contract has one builder (in :mod:`obsconf.cases`), listed in :data:`SECTION_BUILDERS`; a
case (:class:`~obsconf.cases.case.Case`) reads its data from a :class:`~obsconf.cases.case.Probe`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from obsconf.cases.alerts import alerts_cases
from obsconf.cases.behaviour import budget_cases, fault_cases, health_cases, retries_cases, slo_cases
from obsconf.cases.case import Case
from obsconf.cases.load import load_cases
from obsconf.cases.logs import logs_cases
from obsconf.cases.metrics import dashboard_cases, metrics_cases
from obsconf.cases.service import auth_cases, service_cases, workload_cases
from obsconf.cases.spans import spans_cases
from obsconf.cases.text import describe_case
from obsconf.contract.model import Contract

#: contract section -> the builder of its cases, in the order the cases run
SECTION_BUILDERS: dict[str, Callable[[Contract], list[Case]]] = {
    "service": service_cases,
    "service.auth": auth_cases,
    "workload": workload_cases,
    "logs": logs_cases,
    "spans": spans_cases,
    "metrics": metrics_cases,
    "dashboards": dashboard_cases,
    "retries": retries_cases,
    "health": health_cases,
    "alerts": alerts_cases,
    "slos": slo_cases,
    "budgets": budget_cases,
    "faults": fault_cases,
    "load": load_cases,
}


def build_cases(contract: Contract) -> list[Case]:
    """Every check the contract asks for, without the kinds it opts out of (``skip``, with a reason)."""
    cases = []
    for build in SECTION_BUILDERS.values():
        for case in build(contract):
            if contract.skipped(case.kind) is not None:
                continue
            # the longer text derived from the contract item, where there is one
            text = describe_case(contract, case.section, case.item)
            cases.append(case if text == f"{case.section}: {case.item}" else replace(case, describe=text))
    return cases

