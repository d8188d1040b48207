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
from obsconf.checks.alerts import check_alert_rules
from obsconf.checks.auth import check_auth
from obsconf.checks.correlation import check_correlation, check_response_header
from obsconf.checks.dependencies import check_dependency_traffic, check_fault_reached
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
from obsconf.checks.load_slos import check_load_slo
from obsconf.checks.loadrun import check_load_requests
from obsconf.checks.logs import (
    check_log_delivery,
    check_log_events,
    check_log_redaction,
    check_log_schema,
    check_log_store,
    check_log_trace_ids,
)
from obsconf.checks.metrics import check_metric, check_series
from obsconf.checks.promtool import promtool_check_metrics, promtool_test_rules
from obsconf.checks.retries import check_retries
from obsconf.checks.semconv import check_metric_semconv, check_span_semconv
from obsconf.checks.slos import check_slos
from obsconf.checks.spans import check_sampling, check_span_redaction, check_spans
from obsconf.contract.model import Contract, EmitStep, FaultScenarioSpec, MetricSpec, RetrySpec, SpansSpec
from obsconf.model import AuthExchange, Finding, HttpExchange, Series


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

    @property
    def id(self) -> str:
        return f"{self.contract.id}-{self.section}-{slug(self.item)}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "all"


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
                 "each declared dependency is called through its Toxiproxy proxy")]


def _auth_cases(c: Contract) -> list[Case]:
    auth = c.service.auth
    if auth is None:
        return []
    return [Case(c, "auth", "bearer_token", "auth", lambda p: check_auth(auth, p.auth()),
                 f"{', '.join(auth.paths)} refuse a request without the bearer token and answer one with it")]


def _workload_cases(c: Contract) -> list[Case]:
    if not c.workload:
        return []
    return [Case(c, "workload", "expected_status", "http.status",
                 lambda p: check_expected_status(c.workload, p.collected().workload_exchanges()),
                 "every workload request answers with its expected status")]


def _logs_cases(c: Contract) -> list[Case]:
    logs = c.logs
    if logs is None:
        return []
    cases = [
        Case(c, "logs", "schema", "logs.schema",
             lambda p: _notes(check_log_schema(logs, p.collected().logs, **_q(p, "logs")), p),
             f"every log line is {logs.format} with the required fields and levels"),
        Case(c, "logs", "redaction", "logs.redaction",
             lambda p: check_log_redaction(logs.redaction, p.collected().every_sink(), **_q(p, "logs")),
             "no secret reaches any log sink (log store, stdout, second store)"),
    ]
    if logs.correlation is not None:
        corr = logs.correlation
        cases += [
            Case(c, "logs", "trace_id", "logs.trace_id",
                 lambda p: check_log_trace_ids(corr, p.collected().logs, **_q(p, "logs")),
                 f"log lines inside requests carry {corr.trace_id_field}"),
            Case(c, "correlation", "logs_to_traces", "correlation",
                 lambda p: _notes(check_correlation(corr, p.collected().logs, p.collected().spans,
                                                    p.collected().exchanges, trace_url=p.trace_url(),
                                                    query=p.collected().queries.get("logs", "")), p),
                 "log lines, requests and traces name the same trace ids"),
        ]
    for event in logs.events:
        one = replace(logs, events=(event,))
        cases.append(Case(c, "logs", f"event_{event.name}", "logs.events",
                          lambda p, one=one: check_log_events(one, p.collected().logs, **_q(p, "logs")),
                          f"the workload logs the event {event.name!r}"))
    if logs.store is not None:
        store = logs.store
        cases.append(Case(c, "logs", f"store_{store.collection}", "logs.store",
                          lambda p: check_log_store(store, p.collected().store_records, **_q(p, "store")),
                          f"records in the {store.kind} collection {store.collection!r} have its schema"))
    if logs.delivery is not None:
        delivery = logs.delivery
        emitted = sum(s.n for s in c.workload if isinstance(s, EmitStep))

        def run_delivery(p: Probe) -> list[Finding]:
            got = p.collected()
            return check_log_delivery(delivery, got.delivery_records(), emitted, queries=got.queries, links=got.links)

        cases.append(Case(c, "logs", "delivery", "logs.delivery", run_delivery,
                          f"every emitted line arrives exactly once in {', '.join(delivery.sinks)}"))
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
            f"span {op.name!r} arrives with its parent, kind and attributes"))
    if spans.status_rules:
        rules = SpansSpec(status_rules=spans.status_rules)
        cases.append(Case(c, "spans", "status_rules", "spans.status",
                          lambda p: check_spans(rules, p.collected().spans, trace_url=p.trace_url(),
                                                query=p.collected().queries.get("traces", "")),
                          "spans of failed operations have error status"))
    if c.logs is not None:
        redaction = c.logs.redaction
        cases.append(Case(c, "spans", "redaction", "spans.redaction",
                          lambda p: check_span_redaction(redaction, p.collected().spans, trace_url=p.trace_url(),
                                                         query=p.collected().queries.get("traces", "")),
                          "no secret reaches a span attribute or event"))
    if spans.sampling is not None:
        sampling = spans.sampling
        cases.append(Case(c, "spans", "sampling", "spans.sampling",
                          lambda p: _notes(check_sampling(sampling, p.collected().exchanges, p.collected().spans,
                                                          trace_url=p.trace_url()), p),
                          f"requests are traced at the run's sample rate {sampling.run_rate:g}"))
    if spans.semconv.enabled:
        cases.append(Case(c, "spans", "semconv", "spans.semconv",
                          lambda p: check_span_semconv(p.collected().spans, where=spans.semconv.loc,
                                                       trace_url=p.trace_url(), **_q(p, "traces")),
                          "span attribute names and value types follow the OpenTelemetry semantic conventions"))
    if spans.response_header:
        header = spans.response_header
        cases.append(Case(c, "spans", "response_header", "spans.response_header",
                          lambda p: check_response_header(header, p.collected().exchanges, where=spans.loc),
                          f"every response carries {header} naming its trace"))
    return cases


def _metrics_cases(c: Contract) -> list[Case]:
    cases = []
    for metric in c.metrics:
        cases.append(Case(c, "metrics", metric.name, "metrics",
                          lambda p, m=metric: check_metric(m, p.collected().metrics_after,
                                                           before=p.collected().metrics_before,
                                                           **_q(p, "metrics")),
                          f"{metric.type} {metric.name} on {c.service.metrics_path} has its labels and buckets"))
        cases.append(Case(c, "metrics", f"{metric.name}_in_prometheus", "metrics",
                          lambda p, m=metric: _series_findings(m, p),
                          f"Prometheus scraped {metric.name} from the service (job {c.service.name!r})"))
    if c.metrics_semconv is not None and c.metrics_semconv.enabled:
        where = c.metrics_semconv.loc
        cases.append(Case(c, "metrics", "semconv", "metrics.semconv",
                          lambda p: check_metric_semconv(p.collected().metrics_after, where=where, **_q(p, "metrics")),
                          "metric names, units and types follow the OpenTelemetry semantic conventions"))
    if c.metrics:
        cases.append(Case(c, "metrics", "promtool_check_metrics", "metrics.promtool",
                          lambda p: promtool_check_metrics(p.collected().metrics_text, where=f"{c.name} metrics"),
                          "`promtool check metrics` accepts the exposition"))
    return cases


def _retries_cases(c: Contract) -> list[Case]:
    return [Case(c, "retries", r.operation, "retries", lambda p, r=r: _retry_findings(r, p),
                 f"{r.operation} retries at most {r.max_attempts} attempts with backoff"
                 + (f" while {r.fault.dependency} is {r.fault.mode}" if r.fault else ""))
            for r in c.retries]


def _health_cases(c: Contract) -> list[Case]:
    return [Case(c, "health", spec.path, "health", lambda p, s=spec: check_health((s,), p.health()),
                 f"{spec.method} {spec.path} answers {'/'.join(map(str, spec.expect_status))} with its schema")
            for spec in c.health]


def _alerts_cases(c: Contract) -> list[Case]:
    alerts = c.alerts
    if alerts is None:
        return []
    cases = [Case(c, "alerts", "rules_match_seed", "alerts", lambda p: check_alert_rules(alerts, p.rules_text()),
                  "the rules file holds the contract's alert rules")]
    if alerts.tests_file is not None:
        tests_file = alerts.tests_file
        cases.append(Case(c, "alerts", "promtool_test_rules", "alerts",
                          lambda p: promtool_test_rules(alerts.rules_file, tests_file, where=f"{c.name} alerts"),
                          "`promtool test rules` passes the rules' unit tests"))
    return cases


def _slo_cases(c: Contract) -> list[Case]:
    if not c.slos or not c.service.slo_path:
        return []
    slos = c.slos

    def run_slos(p: Probe) -> list[Finding]:
        reported, url = p.slo_report()
        return check_slos(slos, reported, query=f"GET {url}", link=url)

    return [Case(c, "slos", "definitions", "slos", run_slos,
                 f"the service reports the contract's SLOs at {c.service.slo_path}")]


def _fault_cases(c: Contract) -> list[Case]:
    return [Case(c, "faults", f.name, "faults", lambda p, f=f: p.fault(f),
                 f"{f.fault.dependency} {f.fault.mode} for {f.seconds:g} s: the service behaves as its contract says")
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
             f"(--obsconf-load locust) every request of Locust's {load.user_class} gets the answer it expects"),
        Case(c, "load", "accounting", "load.accounting", accounting,
             f"(--obsconf-load locust) per route and status class, the requests sent, {', '.join(signals)} agree"),
    ]
    if acc.histogram is not None:
        hist = acc.histogram

        def histogram(p: Probe) -> list[Finding]:
            got = p.load()
            counter, counts = got.histogram
            return check_histogram_count(hist.name, counter, counts, where=hist.loc,
                                         query=got.queries.get("histogram_count", ""))

        cases.append(Case(c, "load", "histogram_count", "load.histogram", histogram,
                          f"(--obsconf-load locust) {hist.name}_count increases exactly as {acc.counter.name}"))
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
                              "and by the service's telemetry, and the two agree"))
    return cases


#: One builder per contract section, in the order the cases run.
SECTION_BUILDERS: tuple[Callable[[Contract], list[Case]], ...] = (
    _service_cases, _auth_cases, _workload_cases, _logs_cases, _spans_cases, _metrics_cases, _retries_cases, _health_cases,
    _alerts_cases, _slo_cases, _fault_cases, _load_cases,
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
    logs_spec = contract.logs
    findings = check_retries(
        spec, spans=run.spans, logs=run.logs, before=run.before, after=run.after,
        message_field=logs_spec.message_field if logs_spec else "message",
        level_field=logs_spec.level_field if logs_spec else "level",
        trace_url=run.trace_url, query=run.query,
    )
    dep = contract.service.dependency(spec.fault.dependency) if spec.fault else None
    if dep is not None:
        findings = check_fault_reached(dep, run.traffic, where=spec.loc or spec.operation) + findings
    return findings
