"""Cases of the ``spans`` section: each operation, status rules, redaction, resource, sampling, semantic
conventions and the trace response header; one small builder per part of the section."""

from __future__ import annotations

from obsconf.cases.case import Case, Probe, path_of, query_of, with_notes
from obsconf.checks.correlation import check_response_header
from obsconf.checks.redaction import check_span_redaction
from obsconf.checks.sampling import check_sampling
from obsconf.checks.semconv import check_span_semconv
from obsconf.checks.spans import check_span_resource, check_spans
from obsconf.contract.model import Contract, SamplingSpec, SpansSpec
from obsconf.model import Finding


def spans_cases(contract: Contract) -> list[Case]:
    spans = contract.spans
    if spans is None:
        return []
    return [case for part in (_operation_cases, _status_cases, _redaction_cases, _resource_cases, _sampling_cases,
                              _semconv_cases, _header_cases) for case in part(contract, spans)]


def _operation_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    cases = []
    for op in spans.operations:
        one = SpansSpec(operations=(op,))

        def run(probe: Probe, one: SpansSpec = one) -> list[Finding]:
            return with_notes(check_spans(one, probe.collected().spans, trace_url=probe.trace_url(),
                                          **query_of(probe, "traces")), probe)

        cases.append(Case(contract, "spans", op.name, "spans", run,
                          f"span {op.name!r} arrives with its parent, kind and attributes", (path_of(op.loc),)))
    return cases


def _status_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    if not spans.status_rules:
        return []
    rules = SpansSpec(status_rules=spans.status_rules)

    def run(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return check_spans(rules, got.spans, trace_url=probe.trace_url(), query=got.queries.get("traces", ""))

    return [Case(contract, "spans", "status_rules", "spans.status", run, "spans of failed operations have error status",
                 tuple(path_of(r.loc) for r in spans.status_rules))]


def _redaction_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    if contract.logs is None:
        return []
    redaction = contract.logs.redaction

    def run(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return check_span_redaction(redaction, got.spans, trace_url=probe.trace_url(),
                                    query=got.queries.get("traces", ""))

    return [Case(contract, "spans", "redaction", "spans.redaction", run,
                 "no secret reaches a span attribute or event", ("logs.redaction",))]


def _resource_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    resource = spans.resource
    if resource is None:
        return []

    def run(probe: Probe) -> list[Finding]:
        got = probe.collected()
        return check_span_resource(resource, got.spans, trace_url=probe.trace_url(),
                                   query=got.queries.get("traces", ""))

    return [Case(contract, "spans", "resource", "spans.resource", run,
                 "every span carries " + ", ".join(a.name for a in resource.attributes), ("spans.resource",))]


def _sampling_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    sampling = spans.sampling
    if sampling is None:
        return []
    rate = sampling.seed_default if sampling.seed_default is not None else sampling.run_rate
    return [Case(contract, "spans", "sampling", "spans.sampling", lambda probe: _sampling_findings(sampling, probe),
                 f"requests are traced at the sample rate {rate:g}", ("spans.sampling",))]


def _sampling_findings(sampling: SamplingSpec, probe: Probe) -> list[Finding]:
    if (sampling.seed_default in (None, sampling.run_rate)) and not sampling.workload:
        # the run's own rate: the collected workload is the sample (any probe has it)
        got = probe.collected()
        return with_notes(check_sampling(sampling, got.exchanges, got.spans, rate=sampling.run_rate,
                                         trace_url=probe.trace_url(), query=got.queries.get("traces", "")), probe)
    run = probe.sampling_run()
    return with_notes(check_sampling(sampling, run.exchanges, run.spans, rate=run.rate, trace_url=probe.trace_url(),
                                     query=run.query), probe) + run.findings


def _semconv_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    if not spans.semconv.enabled:
        return []

    def run(probe: Probe) -> list[Finding]:
        return check_span_semconv(probe.collected().spans, where=spans.semconv.loc, trace_url=probe.trace_url(),
                                  **query_of(probe, "traces"))

    return [Case(contract, "spans", "semconv", "spans.semconv", run,
                 "span attribute names and value types follow the OpenTelemetry semantic conventions",
                 ("spans.semconv",))]


def _header_cases(contract: Contract, spans: SpansSpec) -> list[Case]:
    header = spans.response_header
    if not header:
        return []
    return [Case(contract, "spans", "response_header", "spans.response_header",
                 lambda probe: check_response_header(header, probe.collected().exchanges, where=spans.loc),
                 f"every response carries {header} naming its trace", ("spans",))]
