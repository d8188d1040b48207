"""From a contract to named checks: the cases the conformance suite runs, one pytest test each.

A :class:`Case` is pure: it asks a :class:`Probe` for collected data and hands it to a check in
:mod:`obsconf.checks`. The conformance suite's probe reads real backends (lazily, so ``-k`` selects what
is collected); unit tests give a probe built from fixed data. Test ids read
``<profile>-<section>-<item>``, e.g. ``persist-spans-save_snapshot``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from obsconf.checks.alerts import check_alert_rules
from obsconf.checks.auth import check_auth
from obsconf.checks.correlation import check_correlation
from obsconf.checks.health import check_health
from obsconf.checks.http import check_expected_status
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
from obsconf.checks.slos import check_slos
from obsconf.checks.spans import check_sampling, check_span_redaction, check_spans
from obsconf.contract.model import Contract, EmitStep, MetricSpec, RetrySpec, SpansSpec
from obsconf.model import AuthExchange, Finding, HttpExchange, LogRecord, MetricFamily, Series, Span


@dataclass
class RetryRun:
    """What one fault scenario produced: the requests made during the fault and what they left behind."""

    exchanges: list[HttpExchange]
    spans: list[Span]
    logs: list[LogRecord]
    before: list[MetricFamily]
    after: list[MetricFamily]
    query: str = ""
    trace_url: str = ""


class Probe(Protocol):
    """Where cases get their data. Each method is called lazily and its result cached by the implementation."""

    def collected(self) -> Any: ...  # obsconf.collect.Collected
    def retry(self, spec: RetrySpec) -> RetryRun: ...
    def health(self) -> list[HttpExchange]: ...
    def slo_report(self) -> tuple[Any, str]: ...  # (parsed JSON, the URL asked)
    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]: ...  # (series, promql, link)
    def rules_text(self) -> str: ...
    def trace_url(self) -> str: ...  # a template with {trace_id}, e.g. "<jaeger>/trace/{trace_id}"
    def auth(self) -> list[AuthExchange]: ...  # each protected endpoint without, with a wrong and the right token


@dataclass(frozen=True)
class Case:
    contract: Contract
    section: str
    item: str
    run: Callable[[Probe], list[Finding]]

    @property
    def id(self) -> str:
        return f"{self.contract.service.profile}-{self.section}-{slug(self.item)}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "all"


def build_cases(contract: Contract) -> list[Case]:
    """Every check the contract asks for, skipping (visibly, with its reason) what it opts out of."""
    c = contract
    cases: list[Case] = []

    def add(section: str, item: str, kind: str, run: Callable[[Probe], list[Finding]]) -> None:
        if c.skipped(kind) is None:
            cases.append(Case(c, section, item, run))

    if c.service.auth is not None:
        auth = c.service.auth
        add("auth", "bearer_token", "auth", lambda p: check_auth(auth, p.auth()))

    if c.workload:
        add("workload", "expected_status", "http.status",
            lambda p: check_expected_status(c.workload, p.collected().exchanges))

    if c.logs is not None:
        logs = c.logs

        def q(p: Probe) -> dict[str, str]:
            got = p.collected()
            return {"query": got.queries.get("logs", ""), "link": got.links.get("logs", "")}

        add("logs", "schema", "logs.schema", lambda p: check_log_schema(logs, p.collected().logs, **q(p)))
        add("logs", "redaction", "logs.redaction",
            lambda p: check_log_redaction(logs.redaction, p.collected().logs + p.collected().store_records, **q(p)))
        if logs.correlation is not None:
            corr = logs.correlation
            add("logs", "trace_id", "logs.trace_id", lambda p: check_log_trace_ids(corr, p.collected().logs, **q(p)))
            add("correlation", "logs_to_traces", "correlation",
                lambda p: check_correlation(corr, p.collected().logs, p.collected().spans, p.collected().exchanges,
                                            trace_url=p.trace_url(), query=p.collected().queries.get("logs", "")))
        for event in logs.events:
            one = replace(logs, events=(event,))
            add("logs", f"event_{event.name}", "logs.events",
                lambda p, one=one: check_log_events(one, p.collected().logs, **q(p)))
        if logs.store is not None:
            store = logs.store
            add("logs", f"store_{store.collection}", "logs.store",
                lambda p: check_log_store(store, p.collected().store_records,
                                          query=p.collected().queries.get("store", ""),
                                          link=p.collected().links.get("store", "")))
        if logs.delivery is not None:
            delivery = logs.delivery
            emitted = sum(s.n for s in c.workload if isinstance(s, EmitStep))

            def run_delivery(p: Probe) -> list[Finding]:
                got = p.collected()
                sinks = {"loki": got.logs, "pocketbase": got.store_records}
                return check_log_delivery(delivery, sinks, emitted, queries=got.queries, links=got.links)

            add("logs", "delivery", "logs.delivery", run_delivery)

    if c.spans is not None:
        spans = c.spans
        for op in spans.operations:
            one = SpansSpec(operations=(op,))
            add("spans", op.name, "spans",
                lambda p, one=one: check_spans(one, p.collected().spans, trace_url=p.trace_url(),
                                               query=p.collected().queries.get("traces", ""),
                                               link=p.collected().links.get("traces", "")))
        if spans.status_rules:
            rules = SpansSpec(status_rules=spans.status_rules)
            add("spans", "status_rules", "spans.status",
                lambda p: check_spans(rules, p.collected().spans, trace_url=p.trace_url(),
                                      query=p.collected().queries.get("traces", "")))
        if c.logs is not None:
            redaction = c.logs.redaction
            add("spans", "redaction", "spans.redaction",
                lambda p: check_span_redaction(redaction, p.collected().spans, trace_url=p.trace_url(),
                                               query=p.collected().queries.get("traces", "")))
        if spans.sampling is not None:
            sampling = spans.sampling
            add("spans", "sampling", "spans.sampling",
                lambda p: check_sampling(sampling, p.collected().exchanges, p.collected().spans,
                                         trace_url=p.trace_url()))

    for metric in c.metrics:
        add("metrics", metric.name, "metrics",
            lambda p, m=metric: check_metric(m, p.collected().metrics_after, before=p.collected().metrics_before,
                                            query=p.collected().queries.get("metrics", ""),
                                            link=p.collected().links.get("metrics", "")))
        add("metrics", f"{metric.name}_in_prometheus", "metrics",
            lambda p, m=metric: _series_findings(m, p))
    if c.metrics:
        add("metrics", "promtool_check_metrics", "metrics.promtool",
            lambda p: promtool_check_metrics(p.collected().metrics_text, where=f"{c.name} metrics"))

    for retry in c.retries:
        add("retries", retry.operation, "retries", lambda p, r=retry: _retry_findings(r, p))

    if c.health:
        for spec in c.health:
            add("health", spec.path, "health", lambda p, s=spec: check_health((s,), p.health()))

    if c.alerts is not None:
        alerts = c.alerts
        add("alerts", "rules_match_seed", "alerts", lambda p: check_alert_rules(alerts, p.rules_text()))
        if alerts.tests_file is not None:
            tests_file = alerts.tests_file
            add("alerts", "promtool_test_rules", "alerts",
                lambda p: promtool_test_rules(alerts.rules_file, tests_file, where=f"{c.name} alerts"))

    if c.slos:
        slos = c.slos

        def run_slos(p: Probe) -> list[Finding]:
            reported, url = p.slo_report()
            return check_slos(slos, reported, query=f"GET {url}", link=url)

        add("slos", "definitions", "slos", run_slos)
    return cases


def _series_findings(spec: MetricSpec, probe: Probe) -> list[Finding]:
    series, query, link = probe.series(spec)
    return check_series(replace(spec, increases=False), series, query=query, link=link)


def _retry_findings(spec: RetrySpec, probe: Probe) -> list[Finding]:
    run = probe.retry(spec)
    logs_spec = probe.collected().contract.logs
    return check_retries(
        spec, spans=run.spans, logs=run.logs, before=run.before, after=run.after,
        message_field=logs_spec.message_field if logs_spec else "message",
        level_field=logs_spec.level_field if logs_spec else "level",
        trace_url=run.trace_url, query=run.query,
    )
