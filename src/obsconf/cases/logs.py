"""Cases of the ``logs`` section: schema, redaction, trace ids, correlation, context, events, store and
delivery; one small builder per part of the section."""

from __future__ import annotations

from dataclasses import replace

from obsconf.cases.case import Case, Probe, path_of, query_of, with_notes
from obsconf.checks.correlation import check_correlation
from obsconf.checks.delivery import check_log_delivery
from obsconf.checks.logs import check_log_context, check_log_events, check_log_schema, check_log_trace_ids
from obsconf.checks.logstore import check_log_store, check_store_indexes
from obsconf.checks.redaction import check_log_redaction
from obsconf.contract.model import (
    ContextSpec,
    Contract,
    CorrelationSpec,
    DeliverySpec,
    EmitStep,
    LogsSpec,
    LogStoreSpec,
)
from obsconf.model import Finding


def logs_cases(contract: Contract) -> list[Case]:
    logs = contract.logs
    if logs is None:
        return []
    # Each optional part is tested for here, once, so its builder gets the part itself.
    cases = _line_cases(contract, logs)
    if logs.correlation is not None:
        cases += _correlation_cases(contract, logs.correlation)
    if logs.context is not None:
        cases += _context_cases(contract, logs.context, logs.correlation)
    cases += _event_cases(contract, logs)
    if logs.store is not None:
        cases += _store_cases(contract, logs.store)
    if logs.delivery is not None:
        cases += _delivery_cases(contract, logs.delivery)
    return cases


def _line_cases(contract: Contract, logs: LogsSpec) -> list[Case]:
    def schema(probe: Probe) -> list[Finding]:
        return with_notes(check_log_schema(logs, probe.collected().logs, **query_of(probe, "logs")), probe)

    def redaction(probe: Probe) -> list[Finding]:
        return check_log_redaction(logs.redaction, probe.collected().every_sink(),
                                              **query_of(probe, "logs"))

    return [
        Case(contract, "logs", "schema", "logs.schema", schema,
             f"every log line is {logs.format} with the required fields and levels", ("logs",)),
        Case(contract, "logs", "redaction", "logs.redaction", redaction,
             "no secret reaches any log sink (log store, stdout, second store)", ("logs.redaction",)),
    ]


def _correlation_cases(contract: Contract, corr: CorrelationSpec) -> list[Case]:
    def trace_ids(probe: Probe) -> list[Finding]:
        return check_log_trace_ids(corr, probe.collected().logs, **query_of(probe, "logs"))

    def logs_to_traces(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return with_notes(check_correlation(corr, got.logs, got.spans, got.exchanges, trace_url=probe.trace_url(),
                                            query=got.queries.get("logs", "")), probe)

    return [
        Case(contract, "logs", "trace_id", "logs.trace_id", trace_ids,
             f"log lines inside requests carry {corr.trace_id_field}", ("logs.correlation",)),
        Case(contract, "correlation", "logs_to_traces", "correlation", logs_to_traces,
             "log lines, requests and traces name the same trace ids", ("logs.correlation",)),
    ]


def _context_cases(contract: Contract, context: ContextSpec, corr: CorrelationSpec | None) -> list[Case]:
    trace_field = corr.trace_id_field if corr else "trace_id"

    def run(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return check_log_context(context, got.logs, got.sent_trace_ids(), trace_id_field=trace_field,
                                            **query_of(probe, "logs"))

    return [Case(contract, "logs", "context", "logs.context", run,
                 f"every log line of a request carries {', '.join(context.fields)}", ("logs.context",))]


def _event_cases(contract: Contract, logs: LogsSpec) -> list[Case]:
    cases = []
    for event in logs.events:
        one = replace(logs, events=(event,))

        def run(probe: Probe, one: LogsSpec = one) -> list[Finding]:
            return check_log_events(one, probe.collected().logs, **query_of(probe, "logs"))

        cases.append(Case(contract, "logs", f"event_{event.name}", "logs.events", run,
                          f"the workload logs the event {event.name!r}", (path_of(event.loc),)))
    return cases


def _store_cases(contract: Contract, store: LogStoreSpec) -> list[Case]:
    def run(probe: Probe) -> list[Finding]:
        findings = check_log_store(store, probe.collected().store_records, **query_of(probe, "store"))
        if store.indexes:
            indexes, query = probe.store_indexes()
            findings += check_store_indexes(store, indexes, query=query)
        return findings

    return [Case(contract, "logs", f"store_{store.collection}", "logs.store", run,
                 f"records in the {store.kind} collection {store.collection!r} have its schema and indexes",
                 ("logs.store",))]


def _delivery_cases(contract: Contract, delivery: DeliverySpec) -> list[Case]:
    emitted = sum(s.n for s in contract.workload if isinstance(s, EmitStep))

    def run(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return check_log_delivery(delivery, got.delivery_records(), emitted, queries=got.queries,
                                             links=got.links)

    return [Case(contract, "logs", "delivery", "logs.delivery", run,
                 f"every emitted line arrives exactly once in {', '.join(delivery.sinks)}", ("logs.delivery",))]
