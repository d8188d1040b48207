"""Delivery under load, the pure half: the run's settings, traces and numbered lines accounted (on
:mod:`obsconf.faults.accounting`), the service's own counters, and the ``delivery`` section of overhead.json.

Unit-tested in ``tests/overhead/test_delivery.py``; the network side is :mod:`obsconf.overhead.delivery`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from obsconf.faults.accounting import DelayStats, Delivery, account, delays_s
from obsconf.model import MetricFamily

PROFILE = "syncd"  # the only profile with POST /logs/emit (numbered lines)
SERVICE = "sync-daemon"
SPAN_PATH = "/api/ok"
EMIT_EVERY_S = 0.1
POLL_EVERY_S = 0.5
SETTLE_S = 3.0  # arrivals have settled when nothing new came for this long
DEFAULT_SPAN_RATE = 200.0
DEFAULT_LINE_RATE = 1000.0
DEFAULT_SECONDS = 5.0
DEFAULT_LATE_AFTER_S = 5.0
CALIBRATION_REQUESTS = 5

#: Shipping settings of the measured service. The seed's PocketBase default flushes every 30 s, which would
#: make every line "late" by design; 1 s matches the log store shipper's default. Stated in the report.
SERVICE_ENV = {
    "SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS": "1",
    "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0",  # our own scrapes must not be refused
    "SYNCD_LOG_ROTATION_ENABLED": "false",
}


@dataclass(frozen=True)
class DeliveryPlan:
    """How hard and how long to load, and how to judge lateness (a rate of 0 skips that phase)."""

    span_rate: float = DEFAULT_SPAN_RATE
    line_rate: float = DEFAULT_LINE_RATE
    seconds: float = DEFAULT_SECONDS
    late_after_s: float = DEFAULT_LATE_AFTER_S
    module: str = "obsconf.reference"
    connections: int = 8
    settle_timeout: float = 20.0
    env: Mapping[str, str] = field(default_factory=dict)  # extra service variables, stated in the config


@dataclass(frozen=True)
class SpanDelivery:
    """Traces of requests answered, compared with what Jaeger holds (one trace per request)."""

    rate_rps: float
    seconds: float
    duration_s: float  # from the first request due to the last answer: > seconds when the service lagged
    requests_sent: int
    requests_answered: int  # 2xx/3xx answers with an X-Trace-Id
    request_errors: int
    expected_spans_per_trace: int
    traces_received: int
    traces_lost: int
    traces_incomplete: int  # received with fewer spans than expected
    spans_expected: int
    spans_received: int
    late: int  # traces first seen more than late_after_s after their request was sent
    late_after_s: float
    delay: DelayStats
    missing_sample: tuple[str, ...] = ()
    counters: dict[str, float] = field(default_factory=dict)  # obsconf_telemetry_* increase during the phase

    @property
    def spans_lost(self) -> int:
        return max(0, self.spans_expected - self.spans_received)

    @property
    def spans_not_exported(self) -> int | None:
        """Spans the service never handed to its exporter (dropped by the batch span processor, or still
        queued): expected minus ``spans_exported_total`` success + failure. None without the counters."""
        ok = self.counters.get('obsconf_telemetry_spans_exported_total{result="success"}')
        failed = self.counters.get('obsconf_telemetry_spans_exported_total{result="failure"}')
        if ok is None and failed is None:
            return None
        return max(0, self.spans_expected - int((ok or 0) + (failed or 0)))

    @property
    def spans_export_failed(self) -> int | None:
        failed = self.counters.get('obsconf_telemetry_spans_exported_total{result="failure"}')
        return None if failed is None else int(failed)

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), missing_sample=list(self.missing_sample), spans_lost=self.spans_lost,
                    spans_not_exported=self.spans_not_exported, spans_export_failed=self.spans_export_failed)


@dataclass(frozen=True)
class SpanLoad:
    """The span phase's load as sent: its rate and length, and how many requests were sent and failed."""

    rate_rps: float
    seconds: float
    duration_s: float  # from the first request due to the last answer
    requests_sent: int
    request_errors: int


def account_traces(load: SpanLoad, *, sent_ns: Mapping[str, int], span_counts: Mapping[str, int],
                   first_seen_ns: Mapping[str, int], expected_spans: int, late_after_s: float = DEFAULT_LATE_AFTER_S,
                   counters: Mapping[str, float] | None = None) -> SpanDelivery:
    """Count traces received, lost, incomplete and late. ``sent_ns``: trace id -> when its request was sent;
    ``span_counts`` / ``first_seen_ns``: what Jaeger showed (ids not sent, e.g. probes, are ignored)."""
    if expected_spans < 1:
        raise ValueError(f"expected_spans must be >= 1, got {expected_spans}")
    wanted = set(sent_ns)
    got = {t: n for t, n in span_counts.items() if t in wanted and n > 0}
    missing = sorted(wanted - set(got))
    delays = delays_s(sent_ns, {t: first_seen_ns[t] for t in got if t in first_seen_ns})
    return SpanDelivery(
        rate_rps=load.rate_rps, seconds=load.seconds, duration_s=round(load.duration_s, 3),
        requests_sent=load.requests_sent, requests_answered=len(wanted), request_errors=load.request_errors,
        expected_spans_per_trace=expected_spans, traces_received=len(got), traces_lost=len(missing),
        traces_incomplete=sum(1 for n in got.values() if n < expected_spans),
        spans_expected=len(wanted) * expected_spans,
        spans_received=sum(min(n, expected_spans) for n in got.values()),
        late=sum(1 for d in delays if d > late_after_s), late_after_s=late_after_s, delay=DelayStats.of(delays),
        missing_sample=tuple(missing[:5]), counters=dict(counters or {}),
    )


@dataclass(frozen=True)
class LogDelivery:
    """One sink's numbered lines: :class:`obsconf.faults.Delivery` plus arrival delays and late lines."""

    counts: Delivery
    late: int
    late_after_s: float
    delay: DelayStats

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {"sink": c.sink, "sent": c.sent, "received": c.received, "lost": c.lost,
                "duplicated": c.duplicated, "out_of_order": c.out_of_order, "unexpected": c.unexpected,
                "missing_sample": list(c.missing_sample), "late": self.late, "late_after_s": self.late_after_s,
                "delay": asdict(self.delay)}


def account_lines(sink: str, sent: Sequence[int], arrived: Sequence[int], *, emitted_ns: Mapping[int, int],
                  first_seen_ns: Mapping[int, int], late_after_s: float = DEFAULT_LATE_AFTER_S) -> LogDelivery:
    """Account one sink's lines by sequence number (``arrived`` in the sink's order) and time their arrival."""
    counts = account(sink, sent, arrived, emitted_ns=emitted_ns, first_seen_ns=first_seen_ns)
    wanted = set(sent)
    delays = delays_s(emitted_ns, {s: t for s, t in first_seen_ns.items() if s in wanted})
    return LogDelivery(counts, sum(1 for d in delays if d > late_after_s), late_after_s, DelayStats.of(delays))


def telemetry_counters(families: Iterable[MetricFamily]) -> dict[str, float]:
    """The service's own ``obsconf_telemetry_*_total`` samples, keyed ``name{label="v",...}``."""
    out: dict[str, float] = {}
    for fam in families:
        if not fam.name.startswith("obsconf_telemetry_"):
            continue
        for s in fam.samples:
            if not s.name.endswith("_total"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = float(s.value)
    return out


def counter_increase(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """How much each counter grew (a counter missing before counts from 0)."""
    return {k: v - before.get(k, 0.0) for k, v in sorted(after.items())}


def first_seen_update(first_seen: dict[Any, int], keys: Iterable[Any], now_ns: int) -> int:
    """Record ``now_ns`` for keys seen for the first time; return how many were new."""
    new = 0
    for k in keys:
        if k not in first_seen:
            first_seen[k] = now_ns
            new += 1
    return new


@dataclass
class DeliveryResult:
    """The ``delivery`` section of ``overhead.json``."""

    config: dict[str, Any]
    spans: SpanDelivery | None = None
    logs: list[LogDelivery] = field(default_factory=list)
    lines_sent: int = 0
    line_rate: float = 0.0
    line_seconds: float = 0.0
    line_duration_s: float = 0.0  # first emit request to the last answer: > line_seconds when the service lagged
    emit_errors: int = 0
    log_counters: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "spans": self.spans.to_dict() if self.spans else None,
            "logs": {"rate_lines_per_s": self.line_rate, "seconds": self.line_seconds,
                     "duration_s": round(self.line_duration_s, 3), "lines_sent": self.lines_sent,
                     "emit_errors": self.emit_errors, "sinks": [d.to_dict() for d in self.logs],
                     "counters": self.log_counters},
            "notes": self.notes,
        }
