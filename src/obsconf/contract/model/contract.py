"""A whole contract (:class:`Contract`) and its small top-level sections: budgets, dashboards, skips."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from obsconf.contract.model.behaviour import AlertsSpec, FaultScenarioSpec, HealthSpec, RetrySpec, SloSpec
from obsconf.contract.model.load import LoadSpec
from obsconf.contract.model.located import Located
from obsconf.contract.model.seed import ItemTrace, Untested
from obsconf.contract.model.service import ServiceSpec, Step
from obsconf.contract.model.telemetry import LogsSpec, MetricSpec, SemconvSpec, SpansSpec


@dataclass(frozen=True)
class Budgets(Located):
    """Overhead budgets the seeds state; None where a seed states none."""

    log_line_ms: float | None = None
    span_ms: float | None = None
    metric_update_ms: float | None = None
    request_overhead_ms: float | None = None
    cpu_overhead_percent: float | None = None
    metrics_cpu_percent: float | None = None
    memory_baseline_mb: float | None = None

    def stated(self) -> dict[str, float]:
        """The budgets this contract states: key -> limit."""
        from obsconf.contract.kinds import BUDGET_KEYS

        return {k: getattr(self, k) for k in BUDGET_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class DashboardSpec(Located):
    """A PromQL query of the seed's dashboards: after the workload it must return series of the service."""

    name: str
    expr: str


@dataclass(frozen=True)
class SkipSpec(Located):
    """A check kind this contract opts out of, with the reason (never silent)."""

    check: str
    reason: str


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
