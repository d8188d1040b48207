"""The ``retries``, ``health``, ``faults``, ``alerts`` and ``slos`` sections: how the service behaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.contract.model.located import Located
from obsconf.contract.model.service import Step
from obsconf.contract.model.telemetry import AttributeSpec


@dataclass(frozen=True)
class BackoffSpec(Located):
    """Delay before retry n (n = 1, 2, ...) is ``base_ms * factor**(n-1)``, capped at ``max_ms``,
    accepted within ``[expected*(1-tolerance), expected*(1+tolerance) + slack_ms]``."""

    base_ms: float
    factor: float = 2.0
    tolerance: float = 0.5
    slack_ms: float = 50.0
    max_ms: float | None = None

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
class FaultSpec(Located):
    """A network fault on one of the service's dependencies (``service.dependencies[].name``), injected
    with Toxiproxy. ``mode`` is one of :data:`obsconf.contract.kinds.FAULT_MODES`."""

    dependency: str
    mode: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrySpec(Located):
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


@dataclass(frozen=True)
class HealthSpec(Located):
    """One health endpoint: the status it answers and the JSON schema of its body."""

    path: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    schema: dict[str, Any] = field(default_factory=dict)
    listener: str | None = None  # served on this listener's port (``service.listeners``), not the main one


@dataclass(frozen=True)
class MetricReaction(Located):
    """How a metric of the service must react to a fault: ``increases`` over the scenario, a gauge that
    peaks above ``peak_above`` during it, or ends at ``ends_at`` after recovery."""

    name: str
    selector: dict[str, str] = field(default_factory=dict)
    increases: bool = False
    peak_above: float | None = None
    ends_at: float | None = None


@dataclass(frozen=True)
class FaultExpectation(Located):
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


@dataclass(frozen=True)
class FaultScenarioSpec(Located):
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

    @property
    def fresh_instance(self) -> bool:
        return bool(self.env) or self.expect.shutdown_within_s is not None


@dataclass(frozen=True)
class AlertDefect:
    """The seed's rule is broken as written: what is wrong, and a promtool test file that demonstrates it."""

    claim: str
    proof: Path


@dataclass(frozen=True)
class AlertRuleSpec(Located):
    name: str
    expr: str | None = None
    for_: str | None = None
    severity: str | None = None
    defect: AlertDefect | None = None


@dataclass(frozen=True)
class AlertDrive(Located):
    """Make the service's real series meet alert conditions: run ``workload`` (and hold ``fault``, or stop the
    service) for ``seconds``; the alerts in ``fires`` must reach pending or firing, the others stay quiet."""

    name: str
    fires: tuple[str, ...]
    fault: FaultSpec | None = None
    stop_service: bool = False
    workload: tuple[Step, ...] = ()
    seconds: float = 3.0


@dataclass(frozen=True)
class ScrapeJob:
    """A scrape job the rules read besides the service's own, on a path of the service (``up{job=...}``)."""

    job: str
    path: str


@dataclass(frozen=True)
class AlertsSpec(Located):
    rules_file: Path
    tests_file: Path | None = None
    rules: tuple[AlertRuleSpec, ...] = ()
    scrape: tuple[ScrapeJob, ...] = ()
    for_override: str | None = None  # replaces every rule's ``for`` in the copy obsconf loads (reported)
    drives: tuple[AlertDrive, ...] = ()


@dataclass(frozen=True)
class SloSpec(Located):
    """A service-level objective as the seed defines it (target as a ratio, or a bound with a unit)."""

    name: str
    target: float
    comparison: str = ">="  # ">=": the SLI must be at least the target; "<=": at most
    unit: str = "ratio"
    expression: str = ""  # PromQL of the SLI
    env: str | None = None
