"""Cases of the ``retries``, ``health``, ``slos``, ``budgets`` and ``faults`` sections."""

from __future__ import annotations

from dataclasses import replace

from obsconf.cases.case import Case, Probe, path_of
from obsconf.checks.budgets import check_budget
from obsconf.checks.dependencies import check_fault_reached
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
from obsconf.checks.retries import check_retries
from obsconf.checks.slos import check_slo_env, check_slo_expressions, check_slos
from obsconf.contract.kinds import BUDGET_KEYS
from obsconf.contract.model import Contract, HealthSpec, RetrySpec
from obsconf.model import Finding
from obsconf.workload.plan import expand_steps


def retries_cases(contract: Contract) -> list[Case]:
    return [Case(contract, "retries", spec.operation, "retries", lambda probe, spec=spec: _retry_findings(spec, probe),
                 f"{spec.operation} retries at most {spec.max_attempts} attempts with backoff"
                 + (f" while {spec.fault.dependency} is {spec.fault.mode}" if spec.fault else ""),
                 (path_of(spec.loc),))
            for spec in contract.retries]


def health_cases(contract: Contract) -> list[Case]:
    return [Case(contract, "health", _health_item(spec), "health",
                 lambda probe, s=spec: check_health((s,), probe.health()),
                 f"{spec.method} {spec.path} answers {'/'.join(map(str, spec.expect_status))} with its schema",
                 (path_of(spec.loc),))
            for spec in contract.health]


def _health_item(spec: HealthSpec) -> str:
    return spec.path if spec.listener is None else f"{spec.listener}{spec.path}"


def slo_cases(contract: Contract) -> list[Case]:
    if not contract.slos:
        return []
    slos = contract.slos
    paths = tuple(path_of(s.loc) for s in slos)
    cases = []
    if contract.service.slo_path:
        def run_slos(probe: Probe) -> list[Finding]:
            reported, url = probe.slo_report()
            return check_slos(slos, reported, query=f"GET {url}", link=url)

        cases.append(Case(contract, "slos", "definitions", "slos", run_slos,
                          f"the service reports the contract's SLOs and units at {contract.service.slo_path}", paths))
        if any(s.env for s in slos):
            def run_env(probe: Probe) -> list[Finding]:
                reported, url = probe.slo_env_report()
                return check_slo_env(slos, reported, query=f"GET {url}", link=url)

            cases.append(Case(contract, "slos", "env_targets", "slos", run_env,
                              "the SLO targets follow their environment variables",
                              tuple(path_of(s.loc) for s in slos if s.env)))
    if any(s.expression for s in slos):
        def run_exprs(probe: Probe) -> list[Finding]:
            values, link = probe.slo_values()
            return check_slo_expressions(slos, values, link=link)

        cases.append(Case(contract, "slos", "expressions", "slos", run_exprs,
                          "every SLO's PromQL has a value on the service's series",
                          tuple(path_of(s.loc) for s in slos if s.expression)))
    return cases


def budget_cases(contract: Contract) -> list[Case]:
    if contract.budgets is None:
        return []
    where = contract.budgets.loc or "budgets"
    return [Case(contract, "budgets", key, "budgets",
                 lambda probe, key=key, limit=limit: check_budget(key, limit, probe.budget(key), where=where),
                 f"{key} at most {limit:g}: {BUDGET_KEYS[key]}", ("budgets",))
            for key, limit in contract.budgets.stated().items()]


def fault_cases(contract: Contract) -> list[Case]:
    return [Case(contract, "faults", scenario.name, "faults", lambda probe, scenario=scenario: probe.fault(scenario),
                 f"{scenario.fault.dependency} {scenario.fault.mode} for {scenario.seconds:g} s: the service behaves "
                 "as its contract says", (path_of(scenario.loc),))
            for scenario in contract.faults]


def _retry_findings(spec: RetrySpec, probe: Probe) -> list[Finding]:
    run = probe.retry(spec)
    contract = probe.collected().contract
    findings = check_retries(
        spec, spans=run.spans, logs=run.logs, before=run.before, after=run.after, logs_spec=contract.logs,
        trace_url=run.trace_url, query=run.query,
    )
    dep = contract.service.dependency(spec.fault.dependency) if spec.fault else None
    if dep is not None:
        findings = check_fault_reached(dep, run.traffic, where=spec.loc or spec.operation) + findings
    # the retry workload's own expected statuses (e.g. a save that exhausted its retries answers 5xx)
    statuses = check_expected_status(spec.workload, run.exchanges) if len(run.exchanges) == len(
        expand_steps(spec.workload)) else []
    return findings + [replace(f, check="retries", where=f.where or spec.loc) for f in statuses]
