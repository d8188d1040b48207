"""Pure SLOs measured under load, twice: from what the client saw (every request of the load and the
workload, with its status and latency) and from the service's telemetry (the request counter's and the
duration histogram's increase over the run window, read with PromQL). Each must meet its target, and the
two must agree within their resolution. A ratio's resolution is one request (1/n). A histogram resolves
latency only to its buckets, and the client's time adds the connection and the load generator's own
scheduling to the service's, so the client's p95 agrees when it lies in the bucket that holds the
telemetry's p95 or in a bucket next to it, widened upwards by what the client's time added in this very
run (client latency minus server span duration, per request; its p95). A disagreement means the
telemetry misreports the service.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from obsconf.checks.accounting import NO_ANSWER, RouteKey
from obsconf.contract.model import LoadSloSpec
from obsconf.model import Finding

INF = float("inf")


@dataclass(frozen=True)
class SloMeasure:
    """One objective measured twice; the two agree when ``client`` lies in [``low``, ``high``], the range
    the telemetry's value resolves to."""

    name: str  # availability | error_rate | p95_ms
    target: float
    comparison: str  # ">=": at least the target; "<=": at most
    client: float | None
    telemetry: float | None
    low: float
    high: float
    client_n: int
    telemetry_n: int
    detail: str = ""  # e.g. the histogram bucket that holds the telemetry's p95

    def meets(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        return value >= self.target if self.comparison == ">=" else value <= self.target

    @property
    def agree(self) -> bool:
        if self.client is None or self.telemetry is None or math.isinf(self.high) or math.isnan(self.low):
            return False
        return self.low - 1e-9 <= self.client <= self.high + 1e-9

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "target": self.target, "comparison": self.comparison, "client": self.client,
                "telemetry": self.telemetry, "agree_low": _finite(self.low), "agree_high": _finite(self.high),
                "client_n": self.client_n,
                "telemetry_n": self.telemetry_n, "detail": self.detail, "client_meets": self.meets(self.client),
                "telemetry_meets": self.meets(self.telemetry), "agree": self.agree}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by nearest rank (as Locust's and the fault runner's)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _finite(value: float) -> float | None:
    """JSON has no infinity or NaN: None stands for "unbounded / unknown"."""
    return None if math.isinf(value) or math.isnan(value) else value


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> tuple[float, float, float]:
    """Prometheus' ``histogram_quantile`` over cumulative bucket counts ``{le: count}``: (estimate, lower
    bound, upper bound of the bucket holding it). Beyond the largest finite bucket the estimate is that
    bound and the upper bound infinite; no observation gives NaN."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return math.nan, math.nan, math.nan
    total = buckets[bounds[-1]]
    rank = q * total
    below, lower = 0.0, 0.0
    for i, le in enumerate(bounds):
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                top = bounds[i - 1] if i else 0.0
                return top, top, INF
            if i == 0 and le <= 0:
                return le, le, le
            inside = count - below
            estimate = lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
            return estimate, lower, le
        below, lower = count, le
    return math.nan, math.nan, math.nan


def neighbour_range(bounds: Sequence[float], lower: float, upper: float) -> tuple[float, float]:
    """The bucket (``lower``, ``upper``] widened by the bucket below and the bucket above it."""
    finite = sorted(b for b in bounds if not math.isinf(b))
    below = [b for b in finite if b < lower]
    above = [b for b in sorted(bounds) if b > upper]
    return (below[-1] if below else 0.0), (above[0] if above else INF)


def _ratio(value: float | None, n_client: int, n_tel: int) -> tuple[float, float]:
    if value is None:
        return math.nan, math.nan
    step = max(1 / n_client if n_client else INF, 1 / n_tel if n_tel else INF)
    return max(0.0, value - step), min(1.0, value + step)


def _selected(spec: LoadSloSpec, route: str) -> bool:
    return (not spec.routes or route in spec.routes) and route not in spec.exclude


def _is_5xx(status: str) -> bool:
    return status == "5xx"


def measure_slos(spec: LoadSloSpec, client: Sequence[tuple[RouteKey, float]], counter: Counter[RouteKey],
                 buckets: Mapping[str, Mapping[float, float]], *, client_overhead_ms: float = 0.0) -> list[SloMeasure]:
    """The contract's objectives from the client's requests ``(key, latency ms)``, the counter's increase
    per key, and the duration histogram's bucket increase per route (``{route: {le: count}}``, seconds)."""
    mine = [(k, ms) for k, ms in client if _selected(spec, k.route)]
    answered = [(k, ms) for k, ms in mine if k.status != NO_ANSWER]
    seen = {k: n for k, n in counter.items() if _selected(spec, k.route) and k.status[:1].isdigit()}
    n_client, n_answered, n_tel = len(mine), len(answered), sum(seen.values())
    errors_client = sum(1 for k, _ in answered if _is_5xx(k.status))
    errors_tel = sum(n for k, n in seen.items() if _is_5xx(k.status))
    out = []
    if spec.availability is not None:
        tel = 1 - errors_tel / n_tel if n_tel else None
        out.append(SloMeasure(
            "availability", spec.availability, ">=", (n_answered - errors_client) / n_client if n_client else None,
            tel, *_ratio(tel, n_client, n_tel), n_client, n_tel,
            "share of requests answered without a 5xx; they agree within one request (1/n)"))
    if spec.error_rate is not None:
        tel = errors_tel / n_tel if n_tel else None
        out.append(SloMeasure(
            "error_rate", spec.error_rate, "<=", errors_client / n_answered if n_answered else None,
            tel, *_ratio(tel, n_answered, n_tel), n_answered, n_tel,
            "share of answers that are 5xx; they agree within one request (1/n)"))
    if spec.p95_ms is not None:
        summed: dict[float, float] = {}
        for route, per_le in buckets.items():
            if _selected(spec, route):
                for le, count in per_le.items():
                    summed[le] = summed.get(le, 0.0) + count
        estimate, lower, upper = histogram_quantile(0.95, summed)
        latencies = [ms for _, ms in answered]
        has_tel = not math.isnan(estimate)
        low, high = neighbour_range(list(summed), lower, upper) if has_tel else (math.nan, math.nan)
        high += client_overhead_ms / 1000
        detail = (f"the telemetry's p95 lies in the bucket ({lower * 1000:g}, {upper * 1000:g}] ms; the client's "
                  f"agrees in ({low * 1000:g}, {high * 1000:g}] ms, that bucket and its neighbours plus "
                  f"{client_overhead_ms:.1f} ms the client's time added (p95 over requests paired with their "
                  f"server spans)" if has_tel else "no observation in the histogram")
        out.append(SloMeasure(
            "p95_ms", spec.p95_ms, "<=", percentile(latencies, 0.95) if latencies else None,
            estimate * 1000 if has_tel else None, low * 1000, high * 1000, len(latencies),
            int(summed.get(INF, 0.0)), detail))
    return out


def _fmt(value: float | None, name: str) -> str:
    if value is None:
        return "no data"
    return f"{value:.1f} ms" if name == "p95_ms" else f"{value:.4f}"


def check_load_slo(measure: SloMeasure, *, where: str = "", query: str = "") -> list[Finding]:
    """Both measurements meet the target and agree within their resolution."""
    where = where or "load.slos"
    name, target = measure.name, f"{measure.comparison} {measure.target:g}{' ms' if measure.name == 'p95_ms' else ''}"
    both = f"client {_fmt(measure.client, name)} (n={measure.client_n}), telemetry " \
           f"{_fmt(measure.telemetry, name)} (n={measure.telemetry_n})"
    if measure.client is None or measure.telemetry is None:
        return [Finding("load.slos", f"{where} {name}", f"{name} could not be measured both ways: {both}",
                        expected="requests on the SLO's routes, and their telemetry", actual=measure.as_dict(),
                        query=query)]
    findings = []
    for side, value in (("the client's", measure.client), ("the telemetry's", measure.telemetry)):
        if not measure.meets(value):
            findings.append(Finding("load.slos", f"{where} {name}", f"{name} misses its target by {side} numbers: "
                                    f"{both}", expected=target, actual=_fmt(value, name), query=query))
    if not measure.agree:
        why = ("the telemetry cannot resolve it (beyond the histogram's largest finite bucket)"
               if math.isinf(measure.high) else
               f"the client's value agrees between {_fmt(measure.low, name)} and {_fmt(measure.high, name)}")
        findings.append(Finding("load.slos", f"{where} {name}", f"{name}: the telemetry misreports the service: "
                                f"{both}; {why} ({measure.detail})", expected=_fmt(measure.client, name),
                                actual=_fmt(measure.telemetry, name), query=query))
    return findings
