"""The tables a contract's enums come from: check kinds (``skip``), fault modes, span kinds, metric types,
SLO units, budgets and the reasons a seed statement may go unchecked.

The JSON Schema (:mod:`obsconf.contract.schema`) takes its enums from here, and tests keep each table equal
to the code that acts on it (the suite's case builders, the fault injector, the budget probe), so a value a
contract may write always has code behind it.
"""

from __future__ import annotations

#: The kind of every case the suite builds (``Case.kind``), with what it checks. ``skip`` may name a kind,
#: or a section prefix of kinds (``spans`` turns off every ``spans.*`` case); a test builds the cases of a
#: contract that uses every section and keeps this table equal to the kinds they carry.
CASE_KINDS: dict[str, str] = {
    "dependencies": "each declared dependency is called through its Toxiproxy proxy",
    "http.status": "every workload request answers its expected status",
    "logs.schema": "every log line has the format, required fields and levels",
    "logs.redaction": "no secret reaches any log sink",
    "logs.trace_id": "request log lines carry trace and span ids",
    "logs.context": "every log line of a request carries the request's context fields",
    "logs.events": "the workload logs each expected event with its fields",
    "logs.store": "records of the second log store have its schema, levels and indexes",
    "logs.delivery": "every emitted line arrives once in each sink",
    "correlation": "log lines, requests and traces name the same trace ids",
    "spans": "an expected span arrives with its parent, kind and attributes",
    "spans.status": "spans of failed operations have error status",
    "spans.redaction": "no secret reaches a span attribute or event",
    "spans.resource": "every span carries the resource attributes",
    "spans.sampling": "traces are kept at the seed's rate, errors and slow requests always",
    "spans.semconv": "span attributes follow the OpenTelemetry semantic conventions",
    "spans.response_header": "every response names its trace in a header",
    "metrics": "a metric family is exposed and scraped with its type, labels and buckets",
    "metrics.semconv": "metric names follow the OpenTelemetry semantic conventions",
    "metrics.promtool": "promtool accepts the exposition",
    "dashboards": "the seed's dashboard queries return series of the service",
    "retries": "an operation retries within its bound and backoff, every signal agreeing",
    "health": "a health endpoint answers its status and schema",
    "alerts.rules": "the rules file holds the contract's rules as the seed wrote them",
    "alerts.promtool": "promtool unit tests of the rules pass",
    "alerts.live": "driven by workload and faults, alerts fire on real series and the others stay quiet",
    "alerts.defect": "a seed defect in a rule, proven with promtool (reported, never silent)",
    "slos": "the service reports the SLOs, their units and env targets, and their PromQL has data",
    "budgets": "an overhead budget of the seed, measured",
    "faults": "a fault scenario: the service behaves as the contract says while a dependency fails",
    "auth": "protected endpoints refuse requests without the bearer token and answer those with it",
    "load.requests": "the Locust load's requests answered (under --obsconf-load locust)",
    "load.accounting": "every request of the load is counted, logged and traced as the contract says",
    "load.histogram": "the duration histogram counts every request of the load",
    "load.slos": "an SLO holds under the load",
}


def _prefixes(kinds: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for kind in kinds:
        parts = kind.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix not in kinds and prefix not in out:
                out.append(prefix)
    return tuple(out)


#: What ``skip`` may name: every case kind, and every section prefix that some case kind has.
SKIP_KINDS: tuple[str, ...] = tuple(CASE_KINDS) + _prefixes(tuple(CASE_KINDS))

#: Kept for callers of the earlier name: the kinds ``skip`` accepts.
CHECK_KINDS = SKIP_KINDS

#: Fault modes a contract may inject on a dependency (``retries[].fault.mode``, ``faults[].mode``,
#: ``alerts.drives[].fault.mode``), with what each does; the fault injector maps each to a Toxiproxy toxic,
#: and a test keeps the two tables equal.
FAULT_MODES: dict[str, str] = {
    "down": "the proxy stops listening: every connection is refused",
    "reset_peer": "every connection is reset (TCP RST) as soon as data arrives",
    "latency": "every answer is delayed by `latency` ms (default 1000; `jitter` ms)",
    "slow_close": "connections close only after `delay` ms (default 1000)",
    "timeout": "data stops, and the connection is closed after `timeout` ms (default 500)",
    "hang": "the dependency accepts connections but answers nothing until the fault ends, then processes what "
            "it received (its process is stopped and continued, or Toxiproxy holds the bytes)",
}

#: Sinks a fault scenario can require to receive every item of the workload (``faults[].expect.delivered``).
DELIVERY_SINKS: tuple[str, ...] = ("logs", "console", "store", "spans")

#: OpenTelemetry span kinds, as Jaeger reports them (``span.kind``, lower case).
SPAN_KINDS: tuple[str, ...] = ("server", "client", "internal", "producer", "consumer")

#: Prometheus metric types (exposition ``# TYPE``), as prometheus_client's parser names them.
METRIC_TYPES: tuple[str, ...] = ("counter", "gauge", "histogram", "summary", "info", "stateset")

#: Units an SLO target may be given in; the service must report the same word.
SLO_UNITS: tuple[str, ...] = ("ratio", "ms", "seconds")

#: Budgets a contract may state (``budgets``), with how obsconf measures each; the budget probe
#: (:mod:`obsconf.live.budgets`) has a measurement for every key, and a test keeps the two equal.
BUDGET_KEYS: dict[str, str] = {
    "log_line_ms": "CPU per log line of the service's own logger (in-process micro-benchmark)",
    "span_ms": "CPU per span start and end with the service's tracer (in-process micro-benchmark)",
    "metric_update_ms": "CPU per counter increment and histogram observation in the service's registry "
                        "(in-process micro-benchmark)",
    "request_overhead_ms": "extra CPU per request, instrumented against uninstrumented (A/B report, else an "
                           "in-process paired A/B)",
    "cpu_overhead_percent": "extra CPU per request in percent of the uninstrumented request (A/B report, else "
                            "an in-process paired A/B)",
    "metrics_cpu_percent": "CPU of one scrape of the metrics endpoint times the scrape rate, in percent of one "
                           "core (measured on the running service)",
    "memory_baseline_mb": "extra resident memory of the instrumented service (A/B report, else Python "
                          "allocations of the instrumentation, in process)",
}

#: Why a seed statement has no case (``untested[].reason``), and whether such a statement still counts as
#: testable: a testable statement without a case lowers the seed's coverage; the others do not count.
UNTESTED_REASONS: dict[str, tuple[bool, str]] = {
    "prose": (False, "introduction, summary or heading text that states no behaviour"),
    "guidance": (False, "advice to the reader (best practice, troubleshooting step, usage example)"),
    "deployment": (False, "configuration of the deployment or of another tool, not of the service"),
    "not-observable": (False, "behaviour inside the service that no signal shows from outside"),
    "unpinned": (False, "described without a name, value or format a check could hold the service to"),
    "external": (True, "needs a backend obsconf does not run (error tracking, profiling, chat, e-mail)"),
    "gap": (True, "testable, but no case checks it yet"),
}
