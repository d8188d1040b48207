"""The contract as frozen dataclasses: what a contract file says, after validation.

Every item carries ``loc`` ("persist.yaml:42 spans.operations[2]") so that a finding can point at the line
of the contract it was checked against. ``loc`` defaults to "" so tests can build items by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.contract.valuetypes import VALUE_TYPE_TESTS

# Value types a contract may name for a log field or a span attribute: the keys of the table of tests.
VALUE_TYPES = tuple(VALUE_TYPE_TESTS)


@dataclass(frozen=True)
class SeedRef:
    """Lines of a seed file that a contract item comes from (1-based, inclusive ranges)."""

    file: str
    ranges: tuple[tuple[int, int], ...]

    def lines(self) -> set[int]:
        return {n for a, b in self.ranges for n in range(a, b + 1)}

    def text(self) -> str:
        """``"115-124, 130"``."""
        return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in self.ranges)


@dataclass(frozen=True)
class ItemTrace:
    """Where one contract item (a mapping at ``path``) comes from: seed lines, or an obsconf convention."""

    path: str  # contract path, e.g. "spans.operations[2]"
    refs: tuple[SeedRef, ...] = ()
    convention: str = ""
    loc: str = ""


@dataclass(frozen=True)
class Untested:
    """Seed lines no case checks, and why (``reason`` is a key of ``kinds.UNTESTED_REASONS``)."""

    ref: SeedRef
    reason: str
    note: str = ""
    loc: str = ""


#: What a dependency of the service may be: a backend of obsconf's stack, or a URL of the user's own.
DEPENDENCY_BACKENDS = ("s3", "pocketbase", "logs", "otlp")


@dataclass(frozen=True)
class DependencySpec:
    """Something the service calls that obsconf puts behind a Toxiproxy proxy, so faults can be injected.

    ``upstream`` is one of :data:`DEPENDENCY_BACKENDS` (a backend of the session's stack) or a URL; the
    service reads the proxied address from the environment variable ``env``."""

    name: str
    env: str
    upstream: str
    loc: str = ""

    @property
    def backend(self) -> str | None:
        """The stack backend this dependency is, or None for a URL of the user's own."""
        return self.upstream if self.upstream in DEPENDENCY_BACKENDS else None


@dataclass(frozen=True)
class ListenerSpec:
    """Another port the service listens on: obsconf picks a free loopback port and gives it in ``env``."""

    name: str
    env: str
    loc: str = ""


@dataclass(frozen=True)
class AuthSpec:
    """Endpoints that need ``Authorization: Bearer <token>``. obsconf generates the token and hands it to the
    service in the environment variable ``env``; ``paths`` are exact paths or prefixes ending in ``/*``."""

    env: str
    paths: tuple[str, ...]
    scheme: str = "bearer"
    loc: str = ""

    def covers(self, path: str) -> bool:
        """Whether a request to ``path`` (query string ignored) needs the token."""
        path = path.split("?", 1)[0]
        for p in self.paths:
            if p.endswith("/*"):
                if path == p[:-2] or path.startswith(p[:-1]):
                    return True
            elif path == p:
                return True
        return False


@dataclass(frozen=True)
class ServiceSpec:
    """Which service the contract is about and how obsconf starts it.

    With ``command`` obsconf starts the user's service; with only ``profile`` it starts the reference
    service in that profile; with neither, the service must be given with ``--obsconf-target`` or
    ``--obsconf-target-cmd``."""

    name: str  # OTEL_SERVICE_NAME given to the service; Jaeger service name
    profile: str | None = None  # reference-service profile (persist, syncd, aurum, prethrift, assistant)
    command: tuple[str, ...] = ()  # argv; "{port}" is replaced by a free loopback port
    cwd: Path | None = None  # working directory of ``command`` (default: the contract's directory)
    metrics_path: str = "/metrics"
    ready_path: str | None = None  # readiness probe path (default: ``metrics_path``)
    ready_timeout: float = 30.0
    slo_path: str | None = None  # where the service reports its SLOs as JSON (seed 002's /v1/observability/slos)
    env: dict[str, str] = field(default_factory=dict)  # set when starting the service, after the standard ones
    dependencies: tuple[DependencySpec, ...] = ()
    listeners: tuple[ListenerSpec, ...] = ()
    loc: str = ""
    auth: AuthSpec | None = None  # endpoints behind a bearer token

    @property
    def probe_path(self) -> str:
        return self.ready_path or self.metrics_path

    def dependency(self, name: str) -> DependencySpec | None:
        return next((d for d in self.dependencies if d.name == name), None)

    def listener(self, name: str) -> ListenerSpec | None:
        return next((x for x in self.listeners if x.name == name), None)


@dataclass(frozen=True)
class RequestStep:
    """One HTTP request of the workload, sent ``repeat`` times; ``{run_id}`` in path/body is substituted."""

    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 1
    expect_status: tuple[int, ...] = (200,)
    name: str = ""
    loc: str = ""


@dataclass(frozen=True)
class EmitStep:
    """Ask the service to emit ``n`` numbered log lines (``POST {path}?n=N&level=L``, field ``seq``)."""

    n: int
    level: str = "INFO"
    path: str = "/logs/emit"
    expect_status: tuple[int, ...] = (200,)
    name: str = ""
    loc: str = ""


Step = RequestStep | EmitStep


@dataclass(frozen=True)
class FieldMatch:
    """Selects log lines: the field at dotted ``field`` path is present and matches regex ``pattern``."""

    field: str
    pattern: str = ".*"


@dataclass(frozen=True)
class RedactionSpec:
    """Secrets that must never appear in a log line or a span attribute.

    ``values`` are literal canaries the workload sends; ``patterns`` are regexes of secret shapes;
    ``fields`` maps a field/attribute name to the only value it may carry (e.g. ``password: [REDACTED]``).
    """

    values: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    loc: str = ""


@dataclass(frozen=True)
class CorrelationSpec:
    """How log lines carry trace context; lines matching any ``exempt`` selector need none."""

    trace_id_field: str = "trace_id"
    span_id_field: str = "span_id"
    exempt: tuple[FieldMatch, ...] = ()
    request_log_required: bool = True  # every traced request leaves at least one log line with its trace id
    loc: str = ""


@dataclass(frozen=True)
class LogEventSpec:
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
    loc: str = ""


@dataclass(frozen=True)
class ContextSpec:
    """Fields every log line of a request carries (its request id, tenant, user), not only one line."""

    fields: tuple[str, ...]
    loc: str = ""


@dataclass(frozen=True)
class LogStoreSpec:
    """A second log sink with its own record schema (syncd's PocketBase ``daemon_logs`` collection)."""

    kind: str  # "pocketbase"
    collection: str
    required_fields: dict[str, str] = field(default_factory=dict)
    levels: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    trace_id_field: str | None = None  # dotted path of the trace id in a record (for delivery accounting)
    loc: str = ""


@dataclass(frozen=True)
class DeliverySpec:
    """Every line emitted by ``emit`` steps must arrive exactly once in each named sink."""

    seq_field: str = "seq"
    sinks: tuple[str, ...] = ("loki",)
    allow_duplicates: bool = False
    loc: str = ""


@dataclass(frozen=True)
class LogsSpec:
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
    loc: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        return ("loki", "console") if self.source == "both" else (self.source,)


@dataclass(frozen=True)
class AttributeSpec:
    """A required span attribute: its type and optionally its exact value or a regex on its text."""

    name: str
    type: str
    equals: Any = None
    pattern: str | None = None
    loc: str = ""


@dataclass(frozen=True)
class SpanSpec:
    """One expected span. ``parent`` names the parent span, or alternatives (None: no parent by name); ``parent_kind``
    pins only the parent's kind (e.g. the HTTP server span, whose name a seed may not give); ``root``
    demands no parent at all."""

    name: str
    parent: str | tuple[str, ...] | None = None
    parent_kind: str | None = None
    root: bool = False
    kind: str | None = None
    attributes: tuple[AttributeSpec, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class StatusRule:
    """Spans whose status-code attribute is >= ``gte`` (or, with ``present``, spans that carry the attribute at
    all, e.g. ``error.type`` on a failed operation) must have status ``status``."""

    attribute: tuple[str, ...]  # alternative attribute names, first present wins
    gte: int | None = 400
    present: bool = False
    status: str = "error"
    span_kind: str | None = "server"
    loc: str = ""


@dataclass(frozen=True)
class SamplingSpec:
    """The sampling the seed configures, and the rate a conformance run sets."""

    env: str | None = None
    seed_default: float | None = None
    run_rate: float = 1.0
    always_sample_errors: bool = False
    always_sample_slow_ms: float | None = None  # requests at least this slow are always traced
    always_sample_paths: tuple[str, ...] = ()  # requests to these paths (or below them) are always traced
    workload: tuple[Step, ...] = ()  # the sampling case's own requests (the default: the contract's workload)
    loc: str = ""


@dataclass(frozen=True)
class SemconvSpec:
    """Whether a section's names are checked against the OpenTelemetry semantic conventions (on unless the
    contract turns it off, which needs a ``reason`` that the reports show)."""

    enabled: bool = True
    reason: str = ""
    loc: str = ""


@dataclass(frozen=True)
class ResourceSpec:
    """Resource attributes (``service.version`` ...) that every span of the service carries."""

    attributes: tuple[AttributeSpec, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class SpansSpec:
    operations: tuple[SpanSpec, ...] = ()
    status_rules: tuple[StatusRule, ...] = ()
    sampling: SamplingSpec | None = None
    response_header: str | None = None  # a response header that must carry the trace id (X-Trace-Id, traceresponse)
    semconv: SemconvSpec = field(default_factory=SemconvSpec)
    resource: ResourceSpec | None = None
    loc: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """One metric family on /metrics: type, exact label set, bucket layout, HELP, change after workload."""

    name: str
    type: str
    labels: tuple[str, ...] | None = None  # exact label names (histogram: without ``le``); None = any
    buckets: tuple[float, ...] | None = None  # exact ``le`` values, +Inf included
    buckets_include: tuple[float, ...] | None = None  # ``le`` values that must be among the buckets
    help_required: bool = True
    increases: bool = False
    selector: dict[str, str] = field(default_factory=dict)  # the series that must increase
    loc: str = ""


@dataclass(frozen=True)
class BackoffSpec:
    """Delay before retry n (n = 1, 2, ...) is ``base_ms * factor**(n-1)``, capped at ``max_ms``,
    accepted within ``[expected*(1-tolerance), expected*(1+tolerance) + slack_ms]``."""

    base_ms: float
    factor: float = 2.0
    tolerance: float = 0.5
    slack_ms: float = 50.0
    max_ms: float | None = None
    loc: str = ""

    def expected_ms(self, retry: int) -> float:
        """Expected delay before retry number ``retry`` (1-based)."""
        delay = self.base_ms * self.factor ** (retry - 1)
        return min(delay, self.max_ms) if self.max_ms is not None else delay

    def window_ms(self, retry: int) -> tuple[float, float]:
        expected = self.expected_ms(retry)
        return expected * (1.0 - self.tolerance), expected * (1.0 + self.tolerance) + self.slack_ms


@dataclass(frozen=True)
class RetryLogSpec:
    """The WARN line logged before each retry and the field carrying the retry number."""

    message: str  # regex
    level: str = "WARN"
    attempt_field: str = "retry_attempt"
    max_field: str | None = None
    fields: tuple[AttributeSpec, ...] = ()  # every retry line carries these (dotted paths)


@dataclass(frozen=True)
class FaultSpec:
    """A network fault on one of the service's dependencies (``service.dependencies[].name``), injected
    with Toxiproxy. ``mode`` is one of :data:`obsconf.contract.kinds.FAULT_MODES`."""

    dependency: str
    mode: str
    attributes: dict[str, Any] = field(default_factory=dict)
    loc: str = ""


@dataclass(frozen=True)
class RetrySpec:
    """An operation that retries: how many attempts, how far apart, and which signals must agree."""

    operation: str
    max_attempts: int
    backoff: BackoffSpec
    attempt_span: str | None = None  # one span per attempt, children of ``span``
    span: str | None = None  # the span around all attempts, carrying ``count_attribute``
    count_attribute: str | None = "retry_count"
    metric: str | None = None  # retry counter (family name, with or without _total)
    metric_selector: dict[str, str] = field(default_factory=dict)
    errors_metric: str | None = None  # an error counter that must rise while the fault fails the attempts
    errors_selector: dict[str, str] = field(default_factory=dict)
    log: RetryLogSpec | None = None
    fault: FaultSpec | None = None
    workload: tuple[Step, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class HealthSpec:
    """One health endpoint: the status it answers and the JSON schema of its body."""

    path: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    schema: dict[str, Any] = field(default_factory=dict)
    listener: str | None = None  # served on this listener's port (``service.listeners``), not the main one
    loc: str = ""


@dataclass(frozen=True)
class MetricReaction:
    """How a metric of the service must react to a fault: ``increases`` over the scenario, a gauge that
    peaks above ``peak_above`` during it, or ends at ``ends_at`` after recovery."""

    name: str
    selector: dict[str, str] = field(default_factory=dict)
    increases: bool = False
    peak_above: float | None = None
    ends_at: float | None = None
    loc: str = ""


@dataclass(frozen=True)
class FaultExpectation:
    """What must hold while a dependency fails and after it recovers.

    ``delivered`` names sinks (``logs``, ``console``, ``store``, ``spans``) in which every telemetry item of
    the workload's requests must arrive after recovery: none lost unless ``dropped_metric`` counted it, none
    stored twice unless ``duplicates_metric`` counted it."""

    available: bool = True  # every request of ``workload`` keeps its expected status during the fault
    max_request_ms: float | None = None
    p95_request_ms: float | None = None
    dependent_min_ms: float | None = None  # the slowest ``dependent`` request took at least this (fault had effect)
    delivered: tuple[str, ...] = ()
    dropped_metric: str | None = None
    dropped_selector: dict[str, str] = field(default_factory=dict)
    duplicates_metric: str | None = None
    duplicates_selector: dict[str, str] = field(default_factory=dict)
    metrics: tuple[MetricReaction, ...] = ()
    recovers_within_s: float | None = 15.0  # after the fault, the workload answers as expected again
    shutdown_within_s: float | None = None  # SIGTERM during the fault: the service exits within this
    loc: str = ""


@dataclass(frozen=True)
class FaultScenarioSpec:
    """One fault scenario: fail ``dependency`` for ``seconds`` while ``workload`` (and ``dependent``, the
    requests that need the dependency) run at a steady pace, then check :class:`FaultExpectation`.

    With ``env``, or a ``shutdown_within_s`` expectation, obsconf starts a fresh instance of the service
    for the scenario (it can only do so for a service it starts itself)."""

    name: str
    fault: FaultSpec
    seconds: float = 4.0
    workload: tuple[Step, ...] = ()  # default: the contract's workload
    dependent: tuple[Step, ...] = ()
    pace_ms: float = 100.0
    env: dict[str, str] = field(default_factory=dict)
    expect: FaultExpectation = field(default_factory=FaultExpectation)
    loc: str = ""

    @property
    def fresh_instance(self) -> bool:
        return bool(self.env) or self.expect.shutdown_within_s is not None


@dataclass(frozen=True)
class AlertDefect:
    """The seed's rule is broken as written: what is wrong, and a promtool test file that demonstrates it."""

    claim: str
    proof: Path


@dataclass(frozen=True)
class AlertRuleSpec:
    name: str
    expr: str | None = None
    for_: str | None = None
    severity: str | None = None
    defect: AlertDefect | None = None
    loc: str = ""


@dataclass(frozen=True)
class AlertDrive:
    """Make the service's real series meet alert conditions: run ``workload`` (and hold ``fault``, or stop the
    service) for ``seconds``; the alerts in ``fires`` must reach pending or firing, the others stay quiet."""

    name: str
    fires: tuple[str, ...]
    fault: FaultSpec | None = None
    stop_service: bool = False
    workload: tuple[Step, ...] = ()
    seconds: float = 3.0
    loc: str = ""


@dataclass(frozen=True)
class ScrapeJob:
    """A scrape job the rules read besides the service's own, on a path of the service (``up{job=...}``)."""

    job: str
    path: str


@dataclass(frozen=True)
class AlertsSpec:
    rules_file: Path
    tests_file: Path | None = None
    rules: tuple[AlertRuleSpec, ...] = ()
    scrape: tuple[ScrapeJob, ...] = ()
    for_override: str | None = None  # replaces every rule's ``for`` in the copy obsconf loads (reported)
    drives: tuple[AlertDrive, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class SloSpec:
    """A service-level objective as the seed defines it (target as a ratio, or a bound with a unit)."""

    name: str
    target: float
    comparison: str = ">="  # ">=": the SLI must be at least the target; "<=": at most
    unit: str = "ratio"
    expression: str = ""  # PromQL of the SLI
    env: str | None = None
    loc: str = ""


@dataclass(frozen=True)
class CounterSpec:
    """The request counter the load accounting reads from Prometheus: family name as exposed (with
    ``_total``) and which of its labels carry the route, the status code and (optionally) the method."""

    name: str
    route_label: str
    status_label: str
    method_label: str | None = None
    loc: str = ""


@dataclass(frozen=True)
class HistogramCountSpec:
    """A request-duration histogram whose ``_count`` must equal the request counter, grouped by the labels
    named here (a label left out is summed over); its buckets also give the telemetry's p95."""

    name: str  # family name, without _count/_bucket
    route_label: str
    method_label: str | None = None
    status_label: str | None = None
    loc: str = ""


@dataclass(frozen=True)
class SpanAccountingSpec:
    """Where a server span carries route, status code and method (alternatives, first present wins)."""

    route_attribute: tuple[str, ...] = ("http.route",)
    status_attribute: tuple[str, ...] = ("http.response.status_code", "http.status_code")
    method_attribute: tuple[str, ...] = ("http.request.method", "http.method")
    loc: str = ""


@dataclass(frozen=True)
class AccessLogSpec:
    """The service's access-log lines: which lines they are, and the fields holding route, status, method."""

    match: FieldMatch
    route_field: str
    status_field: str
    method_field: str | None = None
    loc: str = ""


@dataclass(frozen=True)
class AccountingSpec:
    """Cross-signal accounting after a load: per route and status class, the requests sent, the counter's
    increase, the server spans and the access-log lines must agree. ``routes`` adds route templates to
    those the signals name; ``exclude`` lists routes left out (default: the metrics path, which Prometheus
    itself scrapes)."""

    counter: CounterSpec
    histogram: HistogramCountSpec | None = None
    spans: SpanAccountingSpec | None = None  # None: spans are not accounted (the contract has no spans section)
    access_log: AccessLogSpec | None = None
    routes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class LoadSloSpec:
    """SLOs measured under load, from the client's numbers and from the service's telemetry: both must meet
    the target and agree within their resolution. ``routes`` limits them (default: every accounted route),
    ``exclude`` removes routes (e.g. a route that fails on purpose)."""

    availability: float | None = None  # share of requests answered, not with a 5xx (at least)
    error_rate: float | None = None  # share of answers that are 5xx (at most)
    p95_ms: float | None = None  # 95th percentile latency (at most); the telemetry side needs a histogram
    routes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    loc: str = ""


@dataclass(frozen=True)
class LoadSpec:
    """Load as the workload: a Locust user class (``user_class`` in ``locustfile``, a path relative to the
    contract) run headless through Locust's library API against the target, then every case of the
    contract runs on what that load produced (``--obsconf-load locust``)."""

    locustfile: Path
    user_class: str
    users: int = 20
    spawn_rate: float = 10.0
    seconds: float = 30.0
    accounting: AccountingSpec | None = None
    slos: LoadSloSpec | None = None
    loc: str = ""


@dataclass(frozen=True)
class Budgets:
    """Overhead budgets the seeds state; None where a seed states none."""

    log_line_ms: float | None = None
    span_ms: float | None = None
    metric_update_ms: float | None = None
    request_overhead_ms: float | None = None
    cpu_overhead_percent: float | None = None
    metrics_cpu_percent: float | None = None
    memory_baseline_mb: float | None = None
    loc: str = ""

    def stated(self) -> dict[str, float]:
        """The budgets this contract states: key -> limit."""
        from obsconf.contract.kinds import BUDGET_KEYS

        return {k: getattr(self, k) for k in BUDGET_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class DashboardSpec:
    """A PromQL query of the seed's dashboards: after the workload it must return series of the service."""

    name: str
    expr: str
    loc: str = ""


@dataclass(frozen=True)
class SkipSpec:
    """A check kind this contract opts out of, with the reason (never silent)."""

    check: str
    reason: str
    loc: str = ""


@dataclass(frozen=True)
class Contract:
    """A whole contract file."""

    path: Path
    seed: str | None
    service: ServiceSpec
    workload: tuple[Step, ...] = ()
    logs: LogsSpec | None = None
    spans: SpansSpec | None = None
    metrics: tuple[MetricSpec, ...] = ()
    retries: tuple[RetrySpec, ...] = ()
    health: tuple[HealthSpec, ...] = ()
    alerts: AlertsSpec | None = None
    slos: tuple[SloSpec, ...] = ()
    budgets: Budgets | None = None
    faults: tuple[FaultScenarioSpec, ...] = ()
    skip: tuple[SkipSpec, ...] = ()
    metrics_semconv: SemconvSpec | None = None  # None: the contract has no metrics section
    dashboards: tuple[DashboardSpec, ...] = ()
    untested: tuple[Untested, ...] = ()
    trace: dict[str, ItemTrace] = field(default_factory=dict)  # contract path -> where the item comes from
    load: LoadSpec | None = None  # the Locust load that drives the service under --obsconf-load locust

    @property
    def name(self) -> str:
        """The file name, used in findings (``persist.yaml``)."""
        return self.path.name

    @property
    def id(self) -> str:
        """The prefix of this contract's case ids: the reference profile, else the file name without
        ``.yaml`` (and without ``.obsconf``), e.g. ``persist`` or ``shop``."""
        if self.service.profile:
            return self.service.profile
        stem = self.path.name
        for suffix in (".yaml", ".yml", ".obsconf"):
            stem = stem.removesuffix(suffix)
        return stem if stem not in ("contract", "") else self.service.name

    def skipped(self, check: str) -> SkipSpec | None:
        """The skip entry for ``check`` (or for its section, e.g. ``spans`` covers ``spans.tree``)."""
        for item in self.skip:
            if item.check == check or check.startswith(item.check + "."):
                return item
        return None
