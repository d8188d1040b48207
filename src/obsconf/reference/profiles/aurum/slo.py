"""aurum's six SLOs: their definitions (targets from the environment), the in-process SLIs they are
measured by, the report the SLO endpoints answer and the ``slo_*`` gauges Prometheus scrapes."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from obsconf.reference.config import env_float


@dataclass(frozen=True)
class Slo:
    name: str
    description: str
    objective: str
    target: float
    comparison: str  # ">=" (ratio must reach target) or "<=" (value must stay under target)
    unit: str
    promql: str


#: successful business transactions of one kind over all of that kind
_SUCCESS_RATIO = ('sum(rate({p}business_transactions_total{{transaction_type="{kind}",status="success"}}[5m]))'
                  ' / sum(rate({p}business_transactions_total{{transaction_type="{kind}"}}[5m]))')

#: name, description, objective, target variable, default target, comparison, unit, PromQL ({p}: metric prefix)
SLO_TABLE: tuple[tuple[str, str, str, str, float, str, str, str], ...] = (
    ("api_availability", "API Availability", "99.9% of requests succeed (non-5xx)",
     "AURUM_SLO_API_AVAILABILITY_TARGET", 0.999, ">=", "ratio",
     '1 - (sum(rate({p}requests_total{{status_code=~"5.."}}[5m])) / sum(rate({p}requests_total[5m])))'),
    ("api_latency_p95", "API Latency", "P95 latency below the target",
     "AURUM_SLO_API_LATENCY_TARGET", 500.0, "<=", "ms",
     "histogram_quantile(0.95, sum by (le) (rate({p}request_latency_seconds_bucket[5m]))) * 1000"),
    ("scenario_creation", "Scenario Creation", "99.5% of scenario creations succeed",
     "AURUM_SLO_SCENARIO_CREATION_TARGET", 0.995, ">=", "ratio", _SUCCESS_RATIO.replace("{kind}", "scenario_create")),
    ("scenario_runs", "Scenario Runs", "95% of scenario runs succeed",
     "AURUM_SLO_SCENARIO_SUCCESS_TARGET", 0.95, ">=", "ratio", _SUCCESS_RATIO.replace("{kind}", "scenario_run")),
    ("data_freshness", "Data Freshness", "Data is less than an hour stale",
     "AURUM_SLO_DATA_FRESHNESS_TARGET", 3600.0, "<=", "seconds",
     "{p}data_freshness_seconds"),
    ("cache_hit_rate", "Cache Hit Rate", "More than 90% of cache lookups hit",
     "AURUM_SLO_CACHE_HIT_RATE_TARGET", 0.90, ">=", "ratio",
     "sum(rate({p}cache_hits_total[5m])) / (sum(rate({p}cache_hits_total[5m])) + "
     "sum(rate({p}cache_misses_total[5m])))"),
)


def build_slos(env: Mapping[str, str], prefix: str) -> list[Slo]:
    """The six SLOs, each target read from its variable (the default when unset)."""
    return [Slo(name, description, objective, env_float(env, variable, default), comparison, unit,
                promql.format(p=prefix))
            for name, description, objective, variable, default, comparison, unit, promql in SLO_TABLE]


def slo_status(current: float | None, target: float, comparison: str) -> str:
    """``met`` / ``violated`` / ``no_data`` for one SLO."""
    if current is None:
        return "no_data"
    ok = current >= target if comparison == ">=" else current <= target
    return "met" if ok else "violated"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100.0 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def _ratio(good: int, bad: int) -> float | None:
    return good / (good + bad) if good + bad else None


class SliState:
    """What the SLIs are computed from, kept in process (not Prometheus: the SLO endpoints must work
    without a Prometheus server). Thread-safe: requests finish on the event loop, operations in threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.latencies: deque[float] = deque(maxlen=10_000)
        self.outcomes = {"scenario_create": [0, 0], "scenario_run": [0, 0]}  # success, failure
        self.hits = 0
        self.misses = 0
        self.last_data_update: float | None = None

    def record_request(self, status: int, seconds: float) -> None:
        with self._lock:
            self.requests += 1
            if status >= 500:
                self.errors += 1
            self.latencies.append(seconds * 1000.0)

    def record_outcome(self, kind: str, ok: bool) -> None:
        with self._lock:
            self.outcomes[kind][0 if ok else 1] += 1
            if ok:
                self.last_data_update = time.time()

    def record_lookup(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def request_figures(self) -> tuple[list[float], int, int]:
        """The latencies (ms) of the last 10,000 requests, the request count and the error count."""
        with self._lock:
            return list(self.latencies), self.requests, self.errors

    def sli(self, name: str) -> float | None:
        """The current value of SLO ``name``'s indicator, None before it has data."""
        with self._lock:
            if name == "api_availability":
                return 1.0 - self.errors / self.requests if self.requests else None
            if name == "api_latency_p95":
                return percentile(list(self.latencies), 95)
            if name in ("scenario_creation", "scenario_runs"):
                return _ratio(*self.outcomes["scenario_create" if name == "scenario_creation" else "scenario_run"])
            if name == "data_freshness":
                return None if self.last_data_update is None else time.time() - self.last_data_update
            if name == "cache_hit_rate":
                return _ratio(self.hits, self.misses)
        raise KeyError(name)


def slo_report(slos: Iterable[Slo], sli: Callable[[str], float | None]) -> list[dict[str, Any]]:
    """One entry per SLO, as ``GET /v1/observability/slos`` answers it: the definition, the current value,
    the status and (for ratio objectives below 1) the error budget left."""
    out = []
    for slo in slos:
        current = sli(slo.name)
        status = slo_status(current, slo.target, slo.comparison)
        budget = None
        if current is not None and slo.comparison == ">=" and slo.unit == "ratio" and slo.target < 1:
            budget = round(1.0 - (1.0 - current) / (1.0 - slo.target), 6)
        out.append({"name": slo.name, "description": slo.description, "objective": slo.objective,
                    "target": slo.target, "comparison": slo.comparison, "unit": slo.unit,
                    "current": None if current is None else round(current, 6), "status": status,
                    "error_budget_remaining": budget, "promql": slo.promql})
    return out


class SloCollector(Collector):
    """``<prefix>slo_target``, ``slo_current`` and ``slo_compliant`` {slo}, from the report at scrape time."""

    def __init__(self, prefix: str, report: Callable[[], list[dict[str, Any]]]) -> None:
        self.prefix = prefix
        self.report = report

    def collect(self) -> Iterable[Any]:
        prefix = self.prefix
        target = GaugeMetricFamily(f"{prefix}slo_target", "SLO target", labels=["slo"])
        current = GaugeMetricFamily(f"{prefix}slo_current", "Current SLI value", labels=["slo"])
        compliant = GaugeMetricFamily(f"{prefix}slo_compliant", "1 when the SLO is met, 0 when violated",
                                      labels=["slo"])
        for item in self.report():
            target.add_metric([item["name"]], item["target"])
            if item["current"] is not None:
                current.add_metric([item["name"]], item["current"])
                compliant.add_metric([item["name"]], 1.0 if item["status"] == "met" else 0.0)
        yield from (target, current, compliant)
