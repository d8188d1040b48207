"""From a contract to named checks: the cases the conformance suite runs, one pytest item each.

A :class:`Case` is pure: it asks a :class:`Probe` for collected data and hands it to a check in
:mod:`obsconf.checks`. The plugin's probe reads real backends (lazily, so ``-k`` selects what is
collected); unit tests give a probe built from fixed data. Case ids read ``<contract>-<section>-<item>``,
e.g. ``persist-spans-save_snapshot``, where ``<contract>`` is :attr:`Contract.id`.

Each section of a contract has one builder in :data:`SECTION_BUILDERS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from obsconf.checks.accounting import check_accounting, check_histogram_count
from obsconf.checks.alerts import check_alert_drive, check_alert_rules
from obsconf.checks.auth import check_auth
from obsconf.checks.budgets import check_budget
from obsconf.checks.correlation import check_correlation, check_response_header
from obsconf.checks.dashboards import check_dashboard
from obsconf.checks.delivery import check_log_delivery
from obsconf.checks.dependencies import check_dependency_traffic, check_fault_reached
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
from obsconf.checks.load_slos import check_load_slo
from obsconf.checks.loadrun import check_load_requests
from obsconf.checks.logs import check_log_context, check_log_events, check_log_schema, check_log_trace_ids
from obsconf.checks.logstore import check_log_store, check_store_indexes
from obsconf.checks.metrics import check_metric, check_series
from obsconf.checks.promtool import promtool_check_metrics, promtool_test_rules
from obsconf.checks.redaction import check_log_redaction, check_span_redaction
from obsconf.checks.retries import check_retries
from obsconf.checks.sampling import check_sampling
from obsconf.checks.semconv import check_metric_semconv, check_span_semconv
from obsconf.checks.slos import check_slo_env, check_slo_expressions, check_slos
from obsconf.checks.spans import check_span_resource, check_spans
from obsconf.contract.kinds import BUDGET_KEYS
from obsconf.contract.model import (
    AlertDrive,
    AlertRuleSpec,
    Contract,
    DashboardSpec,
    EmitStep,
    FaultScenarioSpec,
    HealthSpec,
    MetricSpec,
    RetrySpec,
    SpansSpec,
)
from obsconf.model import AuthExchange, Finding, HttpExchange, Series
from obsconf.workload import expand_steps

#: The check id of a finding that demonstrates a defect of the seed itself: the case is reported as a seed
#: defect (pytest xfail), not as a failure of the service.
SEED_DEFECT = "seed.defect"


class Probe(Protocol):
    """Where cases get their data. Each method is called lazily and its result cached by the implementation."""

    def collected(self) -> Any: ...  # obsconf.collect.Collected
    def retry(self, spec: RetrySpec) -> Any: ...  # obsconf.collect.RetryRun
    def fault(self, spec: FaultScenarioSpec) -> list[Finding]: ...
    def health(self) -> list[HttpExchange]: ...
    def slo_report(self) -> tuple[Any, str]: ...  # (parsed JSON, the URL asked)
    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]: ...  # (series, promql, link)
    def rules_text(self) -> str: ...
    def trace_url(self) -> str: ...  # a template with {trace_id}, e.g. "<jaeger>/trace/{trace_id}"
    def store_indexes(self) -> tuple[list[str] | None, str]: ...  # (the collection's indexes, what was asked)
    def sampling_run(self) -> Any: ...  # obsconf.seedprobe.SamplingRun
    def alert_drive(self, drive: AlertDrive) -> Any: ...  # obsconf.seedprobe.DriveRun
    def slo_env_report(self) -> tuple[Any, str]: ...  # the SLO report of an instance started with env targets
    def slo_values(self) -> tuple[dict[str, list[Series]], str]: ...  # SLO name -> its PromQL's series
    def dashboard(self, spec: DashboardSpec) -> tuple[list[Series], str, str]: ...  # (series, promql, link)
    def budget(self, key: str) -> Any: ...  # obsconf.checks.budgets.Measurement | Unmeasurable
    def auth(self) -> list[AuthExchange]: ...  # each protected endpoint without, with a wrong and the right token
    def load(self) -> Any: ...  # obsconf.load.collect.LoadResult (under --obsconf-load locust)


@dataclass(frozen=True)
class Case:
    """One check of one contract: ``kind`` is the check kind a contract's ``skip`` names."""

    contract: Contract
    section: str
    item: str
    kind: str
    run: Callable[[Probe], list[Finding]]
    describe: str = ""  # what the case checks, in words (reports, ``obsconf contract explain``)
    sources: tuple[str, ...] = ()  # the contract paths of the items it checks (their ``seed:`` lines are its own)

    @property
    def id(self) -> str:
        return f"{self.contract.id}-{self.section}-{slug(self.item)}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "all"


def path_of(loc: str) -> str:
    """The contract path in an item's ``loc`` (``persist.yaml:42 spans.operations[2]`` -> ``spans.operations[2]``)."""
    return loc.split(" ", 1)[1] if " " in loc else loc


def _notes(findings: list[Finding], probe: Probe) -> list[Finding]:
    """Findings, each told about a fallback the collection took (e.g. spans found by service name)."""
    notes = getattr(probe.collected(), "notes", [])
    if not findings or not notes:
        return findings
    suffix = " (note: " + "; ".join(notes) + ")"
    return [replace(f, message=f.message + suffix) for f in findings]


def _q(probe: Probe, key: str) -> dict[str, str]:
    got = probe.collected()
    return {"query": got.queries.get(key, ""), "link": got.links.get(key, "")}


def _service_cases(c: Contract) -> list[Case]:
    if not c.service.dependencies:
        return []
    return [Case(c, "service", "dependencies", "dependencies",
                 lambda p: check_dependency_traffic(c.service.dependencies, p.collected().traffic,
                                                    started=p.collected().started_by_obsconf),
                 "each declared dependency is called through its Toxiproxy proxy",
                 tuple(path_of(d.loc) for d in c.service.dependencies) + ("service",))]


def _auth_cases(c: Contract) -> list[Case]:
    auth = c.service.auth
    if auth is None:
        return []
    return [Case(c, "auth", "bearer_token", "auth", lambda p: check_auth(auth, p.auth()),
                 f"{', '.join(auth.paths)} refuse a request without the bearer token and answer one with it",
                 (path_of(auth.loc) if auth.loc else "service.auth",))]


def _workload_cases(c: Contract) -> list[Case]:
    if not c.workload:
        return []
    return [Case(c, "workload", "expected_status", "http.status",
                 lambda p: check_expected_status(c.workload, p.collected().workload_exchanges()),
                 "every workload request answers with its expected status",
                 ("service",) + tuple(path_of(s.loc) for s in c.workload))]


def _logs_cases(c: Contract) -> list[Case]:
    logs = c.logs
    if logs is None:
        return []
    cases = [
        Case(c, "logs", "schema", "logs.schema",
             lambda p: _notes(check_log_schema(logs, p.collected().logs, **_q(p, "logs")), p),
             f"every log line is {logs.format} with the required fields and levels", ("logs",)),
        Case(c, "logs", "redaction", "logs.redaction",
             lambda p: check_log_redaction(logs.redaction, p.collected().every_sink(), **_q(p, "logs")),
             "no secret reaches any log sink (log store, stdout, second store)", ("logs.redaction",)),
    ]
    if logs.correlation is not None:
        corr = logs.correlation
        cases += [
            Case(c, "logs", "trace_id", "logs.trace_id",
                 lambda p: check_log_trace_ids(corr, p.collected().logs, **_q(p, "logs")),
                 f"log lines inside requests carry {corr.trace_id_field}", ("logs.correlation",)),
            Case(c, "correlation", "logs_to_traces", "correlation",
                 lambda p: _notes(check_correlation(corr, p.collected().logs, p.collected().spans,
                                                    p.collected().exchanges, trace_url=p.trace_url(),
                                                    query=p.collected().queries.get("logs", "")), p),
                 "log lines, requests and traces name the same trace ids", ("logs.correlation",)),
        ]
    if logs.context is not None:
        context = logs.context
        trace_field = logs.correlation.trace_id_field if logs.correlation else "trace_id"
        cases.append(Case(c, "logs", "context", "logs.context",
                          lambda p: check_log_context(context, p.collected().logs, p.collected().sent_trace_ids(),
                                                      trace_id_field=trace_field, **_q(p, "logs")),
                          f"every log line of a request carries {', '.join(context.fields)}", ("logs.context",)))
    for event in logs.events:
        one = replace(logs, events=(event,))
        cases.append(Case(c, "logs", f"event_{event.name}", "logs.events",
                          lambda p, one=one: check_log_events(one, p.collected().logs, **_q(p, "logs")),
                          f"the workload logs the event {event.name!r}", (path_of(event.loc),)))
    if logs.store is not None:
        store = logs.store

        def run_store(p: Probe) -> list[Finding]:
            findings = check_log_store(store, p.collected().store_records, **_q(p, "store"))
            if store.indexes:
                indexes, query = p.store_indexes()
                findings += check_store_indexes(store, indexes, query=query)
            return findings

        cases.append(Case(c, "logs", f"store_{store.collection}", "logs.store", run_store,
                          f"records in the {store.kind} collection {store.collection!r} have its schema and indexes",
                          ("logs.store",)))
    if logs.delivery is not None:
        delivery = logs.delivery
        emitted = sum(s.n for s in c.workload if isinstance(s, EmitStep))

        def run_delivery(p: Probe) -> list[Finding]:
            got = p.collected()
            return check_log_delivery(delivery, got.delivery_records(), emitted, queries=got.queries, links=got.links)

        cases.append(Case(c, "logs", "delivery", "logs.delivery", run_delivery,
                          f"every emitted line arrives exactly once in {', '.join(delivery.sinks)}", ("logs.delivery",)))
    return cases


def _spans_cases(c: Contract) -> list[Case]:
    spans = c.spans
    if spans is None:
        return []
    cases = []
    for op in spans.operations:
        one = SpansSpec(operations=(op,))
        cases.append(Case(
            c, "spans", op.name, "spans",
            lambda p, one=one: _notes(check_spans(one, p.collected().spans, trace_url=p.trace_url(),
                                                  **_q(p, "traces")), p),
            f"span {op.name!r} arrives with its parent, kind and attributes", (path_of(op.loc),)))
    if spans.status_rules:
        rules = SpansSpec(status_rules=spans.status_rules)
        cases.append(Case(c, "spans", "status_rules", "spans.status",
                          lambda p: check_spans(rules, p.collected().spans, trace_url=p.trace_url(),
                                                query=p.collected().queries.get("traces", "")),
                          "spans of failed operations have error status",
                          tuple(path_of(r.loc) for r in spans.status_rules)))
    if c.logs is not None:
        redaction = c.logs.redaction
        cases.append(Case(c, "spans", "redaction", "spans.redaction",
                          lambda p: check_span_redaction(redaction, p.collected().spans, trace_url=p.trace_url(),
                                                         query=p.collected().queries.get("traces", "")),
                          "no secret reaches a span attribute or event", ("logs.redaction",)))
    if spans.resource is not None:
        resource = spans.resource
        cases.append(Case(c, "spans", "resource", "spans.resource",
                          lambda p: check_span_resource(resource, p.collected().spans, trace_url=p.trace_url(),
                                                        query=p.collected().queries.get("traces", "")),
                          "every span carries " + ", ".join(a.name for a in resource.attributes), ("spans.resource",)))
    if spans.sampling is not None:
        sampling = spans.sampling

        def run_sampling(p: Probe) -> list[Finding]:
            if (sampling.seed_default in (None, sampling.run_rate)) and not sampling.workload:
                # the run's own rate: the collected workload is the sample (any probe has it)
                col = p.collected()
                return _notes(check_sampling(sampling, col.exchanges, col.spans, rate=sampling.run_rate,
                                             trace_url=p.trace_url(), query=col.queries.get("traces", "")), p)
            got = p.sampling_run()
            return _notes(check_sampling(sampling, got.exchanges, got.spans, rate=got.rate, trace_url=p.trace_url(),
                                         query=got.query), p) + got.findings

        rate = sampling.seed_default if sampling.seed_default is not None else sampling.run_rate
        cases.append(Case(c, "spans", "sampling", "spans.sampling", run_sampling,
                          f"requests are traced at the sample rate {rate:g}", ("spans.sampling",)))
    if spans.semconv.enabled:
        cases.append(Case(c, "spans", "semconv", "spans.semconv",
                          lambda p: check_span_semconv(p.collected().spans, where=spans.semconv.loc,
                                                       trace_url=p.trace_url(), **_q(p, "traces")),
                          "span attribute names and value types follow the OpenTelemetry semantic conventions",
                          ("spans.semconv",)))
    if spans.response_header:
        header = spans.response_header
        cases.append(Case(c, "spans", "response_header", "spans.response_header",
                          lambda p: check_response_header(header, p.collected().exchanges, where=spans.loc),
                          f"every response carries {header} naming its trace", ("spans",)))
    return cases


def _metrics_cases(c: Contract) -> list[Case]:
    cases = []
    for metric in c.metrics:
        where = (path_of(metric.loc),)
        cases.append(Case(c, "metrics", metric.name, "metrics",
                          lambda p, m=metric: check_metric(m, p.collected().metrics_after,
                                                           before=p.collected().metrics_before,
                                                           **_q(p, "metrics")),
                          f"{metric.type} {metric.name} on {c.service.metrics_path} has its labels and buckets", where))
        cases.append(Case(c, "metrics", f"{metric.name}_in_prometheus", "metrics",
                          lambda p, m=metric: _series_findings(m, p),
                          f"Prometheus scraped {metric.name} from the service (job {c.service.name!r})", where))
    if c.metrics_semconv is not None and c.metrics_semconv.enabled:
        semconv_where = c.metrics_semconv.loc
        cases.append(Case(c, "metrics", "semconv", "metrics.semconv",
                          lambda p: check_metric_semconv(p.collected().metrics_after, where=semconv_where,
                                                         **_q(p, "metrics")),
                          "metric names, units and types follow the OpenTelemetry semantic conventions",
                          ("metrics.semconv",)))
    if c.metrics:
        cases.append(Case(c, "metrics", "promtool_check_metrics", "metrics.promtool",
                          lambda p: promtool_check_metrics(p.collected().metrics_text, where=f"{c.name} metrics"),
                          "`promtool check metrics` accepts the exposition", ("service",)))
    return cases


def _dashboard_cases(c: Contract) -> list[Case]:
    return [Case(c, "dashboards", d.name, "dashboards",
                 lambda p, d=d: _dashboard_findings(d, p),
                 f"the seed's query {d.expr!r} returns series of the service", (path_of(d.loc),))
            for d in c.dashboards]


def _dashboard_findings(spec: DashboardSpec, probe: Probe) -> list[Finding]:
    series, query, link = probe.dashboard(spec)
    return check_dashboard(spec, series, job=_job(probe), query=query, link=link)


def _job(probe: Probe) -> str:
    target = getattr(probe, "target", None)
    return getattr(target, "job", "") or probe.collected().contract.service.name


def _retries_cases(c: Contract) -> list[Case]:
    return [Case(c, "retries", r.operation, "retries", lambda p, r=r: _retry_findings(r, p),
                 f"{r.operation} retries at most {r.max_attempts} attempts with backoff"
                 + (f" while {r.fault.dependency} is {r.fault.mode}" if r.fault else ""), (path_of(r.loc),))
            for r in c.retries]


def _health_cases(c: Contract) -> list[Case]:
    return [Case(c, "health", _health_item(spec), "health", lambda p, s=spec: check_health((s,), p.health()),
                 f"{spec.method} {spec.path} answers {'/'.join(map(str, spec.expect_status))} with its schema",
                 (path_of(spec.loc),))
            for spec in c.health]


def _health_item(spec: HealthSpec) -> str:
    return spec.path if spec.listener is None else f"{spec.listener}{spec.path}"


def _alerts_cases(c: Contract) -> list[Case]:
    alerts = c.alerts
    if alerts is None:
        return []
    rule_paths = tuple(path_of(r.loc) for r in alerts.rules)
    cases = [Case(c, "alerts", "rules_match_seed", "alerts.rules", lambda p: check_alert_rules(alerts, p.rules_text()),
                  "the rules file holds the contract's alert rules", ("alerts",) + rule_paths)]
    if alerts.tests_file is not None:
        tests_file = alerts.tests_file
        cases.append(Case(c, "alerts", "promtool_test_rules", "alerts.promtool",
                          lambda p: promtool_test_rules(alerts.rules_file, tests_file, where=f"{c.name} alerts"),
                          "`promtool test rules` passes the rules' unit tests", ("alerts",) + rule_paths))
    for drive in alerts.drives:
        cases.append(Case(c, "alerts", f"drive_{drive.name}", "alerts.live", lambda p, d=drive: _drive_findings(d, p),
                          f"drive {drive.name!r}: {', '.join(drive.fires)} fire on the service's series, the other "
                          "rules stay quiet", (path_of(drive.loc),)))
    for rule in alerts.rules:
        if rule.defect is not None:
            cases.append(Case(c, "alerts", f"defect_{rule.name}", "alerts.defect",
                              lambda p, r=rule: _defect_findings(alerts.rules_file, r, c.name),
                              f"seed defect in {rule.name}: {rule.defect.claim}", (path_of(rule.loc),)))
    return cases


def _drive_findings(drive: AlertDrive, probe: Probe) -> list[Finding]:
    run = probe.alert_drive(drive)
    alerts = probe.collected().contract.alerts
    findings = check_alert_drive(drive, run.rule_names, run.before, run.seen, job=run.job,
                                 for_override=alerts.for_override if alerts else None, query=run.query, link=run.link)
    # each pass over the drive's workload answers as its steps expect while the fault holds (e.g. readiness
    # 503 while liveness stays 200); the first failing pass is reported
    for exchanges in run.passes:
        bad = check_expected_status(drive.workload, exchanges)
        if bad:
            findings += [replace(f, where=drive.loc or f.where, message=f"during drive {drive.name!r}: {f.message}")
                         for f in bad]
            break
    return findings + run.findings


def _defect_findings(rules_file: Any, rule: AlertRuleSpec, name: str) -> list[Finding]:
    """The seed's rule as written, run by promtool against the proof's unit tests: they pass when the defect
    is real, and the case then reports it as a seed defect (not a failure of the service)."""
    assert rule.defect is not None
    where = rule.loc or f"alerts {rule.name}"
    failed = promtool_test_rules(rules_file, rule.defect.proof, where=where)
    if failed:
        return [replace(f, message=f"the proof of the seed defect in {rule.name!r} does not hold any more "
                                   f"(promtool test rules {rule.defect.proof.name}): {f.message}") for f in failed]
    return [Finding(SEED_DEFECT, where, f"seed defect in {rule.name!r}: {rule.defect.claim}",
                    expected="a rule that fires exactly when its summary says",
                    actual=f"proven by `promtool test rules {rule.defect.proof.name}` (passes)",
                    query=f"promtool test rules {rule.defect.proof}")]


def _slo_cases(c: Contract) -> list[Case]:
    if not c.slos:
        return []
    slos = c.slos
    paths = tuple(path_of(s.loc) for s in slos)
    cases = []
    if c.service.slo_path:
        def run_slos(p: Probe) -> list[Finding]:
            reported, url = p.slo_report()
            return check_slos(slos, reported, query=f"GET {url}", link=url)

        cases.append(Case(c, "slos", "definitions", "slos", run_slos,
                          f"the service reports the contract's SLOs and units at {c.service.slo_path}", paths))
        if any(s.env for s in slos):
            def run_env(p: Probe) -> list[Finding]:
                reported, url = p.slo_env_report()
                return check_slo_env(slos, reported, query=f"GET {url}", link=url)

            cases.append(Case(c, "slos", "env_targets", "slos", run_env,
                              "the SLO targets follow their environment variables",
                              tuple(path_of(s.loc) for s in slos if s.env)))
    if any(s.expression for s in slos):
        def run_exprs(p: Probe) -> list[Finding]:
            values, link = p.slo_values()
            return check_slo_expressions(slos, values, link=link)

        cases.append(Case(c, "slos", "expressions", "slos", run_exprs,
                          "every SLO's PromQL has a value on the service's series",
                          tuple(path_of(s.loc) for s in slos if s.expression)))
    return cases


def _budget_cases(c: Contract) -> list[Case]:
    if c.budgets is None:
        return []
    budgets = c.budgets
    return [Case(c, "budgets", key, "budgets",
                 lambda p, key=key, limit=limit: check_budget(key, limit, p.budget(key), where=budgets.loc or "budgets"),
                 f"{key} at most {limit:g}: {BUDGET_KEYS[key]}", ("budgets",))
            for key, limit in budgets.stated().items()]


def _fault_cases(c: Contract) -> list[Case]:
    return [Case(c, "faults", f.name, "faults", lambda p, f=f: p.fault(f),
                 f"{f.fault.dependency} {f.fault.mode} for {f.seconds:g} s: the service behaves as its contract says",
                 (path_of(f.loc),))
            for f in c.faults]


def _load_cases(c: Contract) -> list[Case]:
    """Cases of the ``load`` section; collected only under ``--obsconf-load locust`` (see nodes.py)."""
    load = c.load
    if load is None or load.accounting is None:
        return []
    acc = load.accounting

    def requests(p: Probe) -> list[Finding]:
        got = p.load()
        return check_load_requests(got.run.stats, got.run.exceptions, where=load.loc, user_class=load.user_class)

    def accounting(p: Probe) -> list[Finding]:
        got = p.load()
        return check_accounting(acc, got.rows, sample_rate=got.sample_rate,
                                always_sample_errors=got.always_sample_errors, query=got.queries.get("counter", ""),
                                recorded=len(got.run.records), locust_total=got.run.stats["total"]["num_requests"])

    signals = [f"the increase of {acc.counter.name}"] + [x for x, on in (
        ("the server spans", acc.spans), ("the access-log lines", acc.access_log)) if on]
    cases = [
        Case(c, "load", "requests", "load.requests", requests,
             f"(--obsconf-load locust) every request of Locust's {load.user_class} gets the answer it expects",
             ("load",)),
        Case(c, "load", "accounting", "load.accounting", accounting,
             f"(--obsconf-load locust) per route and status class, the requests sent, {', '.join(signals)} agree",
             ("load.accounting", "load")),
    ]
    if acc.histogram is not None:
        hist = acc.histogram

        def histogram(p: Probe) -> list[Finding]:
            got = p.load()
            counter, counts = got.histogram
            return check_histogram_count(hist.name, counter, counts, where=hist.loc,
                                         query=got.queries.get("histogram_count", ""))

        cases.append(Case(c, "load", "histogram_count", "load.histogram", histogram,
                          f"(--obsconf-load locust) {hist.name}_count increases exactly as {acc.counter.name}",
                          ("load.accounting.histogram", "load.accounting", "load")))
    if load.slos is not None:
        slos = load.slos
        for name in ("availability", "error_rate", "p95_ms"):
            if getattr(slos, name) is None:
                continue

            def slo(p: Probe, name: str = name) -> list[Finding]:
                got = p.load()
                measure = next(m for m in got.slos if m.name == name)
                return check_load_slo(measure, where=slos.loc, query=got.queries.get("counter", ""))

            cases.append(Case(c, "load", f"slo_{name}", "load.slos", slo,
                              f"(--obsconf-load locust) {name} meets {getattr(slos, name):g} by Locust's numbers "
                              "and by the service's telemetry, and the two agree", ("load.slos", "load")))
    return cases


#: One builder per contract section, in the order the cases run.
SECTION_BUILDERS: tuple[Callable[[Contract], list[Case]], ...] = (
    _service_cases, _auth_cases, _workload_cases, _logs_cases, _spans_cases, _metrics_cases, _dashboard_cases,
    _retries_cases, _health_cases, _alerts_cases, _slo_cases, _budget_cases, _fault_cases, _load_cases,
)


def build_cases(contract: Contract) -> list[Case]:
    """Every check the contract asks for, without the kinds it opts out of (``skip``, with a reason)."""
    from obsconf.casetext import describe_case

    cases = []
    for build in SECTION_BUILDERS:
        for case in build(contract):
            if contract.skipped(case.kind) is not None:
                continue
            # the longer text derived from the contract item, where there is one
            text = describe_case(contract, case.section, case.item)
            cases.append(case if text == f"{case.section}: {case.item}" else replace(case, describe=text))
    return cases


def _series_findings(spec: MetricSpec, probe: Probe) -> list[Finding]:
    series, query, link = probe.series(spec)
    return check_series(replace(spec, increases=False), series, query=query, link=link)


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
