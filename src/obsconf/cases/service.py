"""Cases of the ``service`` section and the workload: dependencies called through their proxies, the bearer
token, and the workload's expected statuses."""

from __future__ import annotations

from obsconf.cases.case import Case, path_of
from obsconf.checks.auth import check_auth
from obsconf.checks.dependencies import check_dependency_traffic
from obsconf.checks.http import check_expected_status
from obsconf.contract.model import Contract


def service_cases(contract: Contract) -> list[Case]:
    if not contract.service.dependencies:
        return []
    return [Case(contract, "service", "dependencies", "dependencies",
                 lambda probe: check_dependency_traffic(contract.service.dependencies, probe.collected().traffic,
                                                    started=probe.collected().started_by_obsconf),
                 "each declared dependency is called through its Toxiproxy proxy",
                 tuple(path_of(d.loc) for d in contract.service.dependencies) + ("service",))]


def auth_cases(contract: Contract) -> list[Case]:
    auth = contract.service.auth
    if auth is None:
        return []
    return [Case(contract, "auth", "bearer_token", "auth", lambda probe: check_auth(auth, probe.auth()),
                 f"{', '.join(auth.paths)} refuse a request without the bearer token and answer one with it",
                 (path_of(auth.loc) if auth.loc else "service.auth",))]


def workload_cases(contract: Contract) -> list[Case]:
    if not contract.workload:
        return []
    return [Case(contract, "workload", "expected_status", "http.status",
                 lambda probe: check_expected_status(contract.workload, probe.collected().workload_exchanges()),
                 "every workload request answers with its expected status",
                 ("service",) + tuple(path_of(s.loc) for s in contract.workload))]
