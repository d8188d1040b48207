"""The ``logs``, ``spans`` and ``metrics`` sections: what every log line, span and metric family looks like."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from obsconf.contract.model.located import Located
from obsconf.contract.model.service import FieldMatch, Step
from obsconf.contract.valuetypes import VALUE_TYPE_TESTS

# Value types a contract may name for a log field or a span attribute: the keys of the table of tests.
VALUE_TYPES = tuple(VALUE_TYPE_TESTS)


@dataclass(frozen=True)
class RedactionSpec(Located):
    """Secrets that must never appear in a log line or a span attribute.

    ``values`` are literal canaries the workload sends; ``patterns`` are regexes of secret shapes;
    ``fields`` maps a field/attribute name to the only value it may carry (e.g. ``password: [REDACTED]``).
    """

    values: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CorrelationSpec(Located):
    """How log lines carry trace context; lines matching any ``exempt`` selector need none."""

    trace_id_field: str = "trace_id"
    span_id_field: str = "span_id"
    exempt: tuple[FieldMatch, ...] = ()
    request_log_required: bool = True  # every traced request leaves at least one log line with its trace id


@dataclass(frozen=True)
class LogEventSpec(Located):
    """A log event the workload must produce: level, message regex and typed fields (``equals`` and
    ``patterns`` pin the value of a field, e.g. the seed's ``target``)."""

    name: str
    message: str  # regex, searched in the message field
    level: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # dotted field path -> value type
    min_count: int = 1
    equals: dict[str, Any] = field(default_factory=dict)  # dotted field path -> exact value
    patterns: dict[str, str] = field(default_factory=dict)  # dotted field path -> regex on its text
    match: dict[str, str] = field(default_factory=dict)  # dotted field path -> regex: which lines are the event


@dataclass(frozen=True)
class ContextSpec(Located):
    """Fields every log line of a request carries (its request id, tenant, user), not only one line."""

    fields: tuple[str, ...]


@dataclass(frozen=True)
class LogStoreSpec(Located):
    """A second log sink with its own record schema (syncd's PocketBase ``daemon_logs`` collection)."""

    kind: str  # "pocketbase"
    collection: str
    required_fields: dict[str, str] = field(default_factory=dict)
    levels: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    trace_id_field: str | None = None  # dotted path of the trace id in a record (for delivery accounting)


@dataclass(frozen=True)
class DeliverySpec(Located):
    """Every line emitted by ``emit`` steps must arrive exactly once in each named sink."""

    seq_field: str = "seq"
    sinks: tuple[str, ...] = ("loki",)
    allow_duplicates: bool = False


@dataclass(frozen=True)
class LogsSpec(Located):
    """What every log line looks like and what must (never) be in it."""

    format: str = "json"
    required_fields: dict[str, str] = field(default_factory=dict)  # dotted path -> value type
    levels: tuple[str, ...] = ()
    level_field: str = "level"
    message_field: str = "message"
    redaction: RedactionSpec = field(default_factory=RedactionSpec)
    correlation: CorrelationSpec | None = None
    context: ContextSpec | None = None
    events: tuple[LogEventSpec, ...] = ()
    store: LogStoreSpec | None = None
    delivery: DeliverySpec | None = None
    source: str = "loki"  # loki (the log store) | console (the service's stdout) | both
    stream: dict[str, str] = field(default_factory=dict)  # labels that select the service's stream in the store

    @property
    def sources(self) -> tuple[str, ...]:
        return ("loki", "console") if self.source == "both" else (self.source,)


@dataclass(frozen=True)
class AttributeSpec(Located):
    """A required span attribute: its type and optionally its exact value or a regex on its text."""

    name: str
    type: str
    equals: Any = None
    pattern: str | None = None


@dataclass(frozen=True)
class SpanSpec(Located):
    """One expected span. ``parent`` names the parent span, or alternatives (None: no parent by name); ``parent_kind``
    pins only the parent's kind (e.g. the HTTP server span, whose name a seed may not give); ``root``
    demands no parent at all."""

    name: str
    parent: str | tuple[str, ...] | None = None
    parent_kind: str | None = None
    root: bool = False
    kind: str | None = None
    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True)
class StatusRule(Located):
    """Spans whose status-code attribute is >= ``gte`` (or, with ``present``, spans that carry the attribute at
    all, e.g. ``error.type`` on a failed operation) must have status ``status``."""

    attribute: tuple[str, ...]  # alternative attribute names, first present wins
    gte: int | None = 400
    present: bool = False
    status: str = "error"
    span_kind: str | None = "server"


@dataclass(frozen=True)
class SamplingSpec(Located):
    """The sampling the seed configures, and the rate a conformance run sets."""

    env: str | None = None
    seed_default: float | None = None
    run_rate: float = 1.0
    always_sample_errors: bool = False
    always_sample_slow_ms: float | None = None  # requests at least this slow are always traced
    always_sample_paths: tuple[str, ...] = ()  # requests to these paths (or below them) are always traced
    workload: tuple[Step, ...] = ()  # the sampling case's own requests (the default: the contract's workload)


@dataclass(frozen=True)
class SemconvSpec(Located):
    """Whether a section's names are checked against the OpenTelemetry semantic conventions (on unless the
    contract turns it off, which needs a ``reason`` that the reports show)."""

    enabled: bool = True
    reason: str = ""


@dataclass(frozen=True)
class ResourceSpec(Located):
    """Resource attributes (``service.version`` ...) that every span of the service carries."""

    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True)
class SpansSpec(Located):
    operations: tuple[SpanSpec, ...] = ()
    status_rules: tuple[StatusRule, ...] = ()
    sampling: SamplingSpec | None = None
    response_header: str | None = None  # a response header that must carry the trace id (X-Trace-Id, traceresponse)
    semconv: SemconvSpec = field(default_factory=SemconvSpec)
    resource: ResourceSpec | None = None


@dataclass(frozen=True)
class MetricSpec(Located):
    """One metric family on /metrics: type, exact label set, bucket layout, HELP, change after workload."""

    name: str
    type: str
    labels: tuple[str, ...] | None = None  # exact label names (histogram: without ``le``); None = any
    buckets: tuple[float, ...] | None = None  # exact ``le`` values, +Inf included
    buckets_include: tuple[float, ...] | None = None  # ``le`` values that must be among the buckets
    help_required: bool = True
    increases: bool = False
    selector: dict[str, str] = field(default_factory=dict)  # the series that must increase
