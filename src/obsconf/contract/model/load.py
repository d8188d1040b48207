"""The ``load`` section: a Locust load, its cross-signal accounting and the SLOs measured under it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obsconf.contract.model.located import Located
from obsconf.contract.model.service import FieldMatch


@dataclass(frozen=True)
class CounterSpec(Located):
    """The request counter the load accounting reads from Prometheus: family name as exposed (with
    ``_total``) and which of its labels carry the route, the status code and (optionally) the method."""

    name: str
    route_label: str
    status_label: str
    method_label: str | None = None


@dataclass(frozen=True)
class HistogramCountSpec(Located):
    """A request-duration histogram whose ``_count`` must equal the request counter, grouped by the labels
    named here (a label left out is summed over); its buckets also give the telemetry's p95."""

    name: str  # family name, without _count/_bucket
    route_label: str
    method_label: str | None = None
    status_label: str | None = None


@dataclass(frozen=True)
class SpanAccountingSpec(Located):
    """Where a server span carries route, status code and method (alternatives, first present wins)."""

    route_attribute: tuple[str, ...] = ("http.route",)
    status_attribute: tuple[str, ...] = ("http.response.status_code", "http.status_code")
    method_attribute: tuple[str, ...] = ("http.request.method", "http.method")


@dataclass(frozen=True)
class AccessLogSpec(Located):
    """The service's access-log lines: which lines they are, and the fields holding route, status, method."""

    match: FieldMatch
    route_field: str
    status_field: str
    method_field: str | None = None


@dataclass(frozen=True)
class AccountingSpec(Located):
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


@dataclass(frozen=True)
class LoadSloSpec(Located):
    """SLOs measured under load, from the client's numbers and from the service's telemetry: both must meet
    the target and agree within their resolution. ``routes`` limits them (default: every accounted route),
    ``exclude`` removes routes (e.g. a route that fails on purpose)."""

    availability: float | None = None  # share of requests answered, not with a 5xx (at least)
    error_rate: float | None = None  # share of answers that are 5xx (at most)
    p95_ms: float | None = None  # 95th percentile latency (at most); the telemetry side needs a histogram
    routes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadSpec(Located):
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
