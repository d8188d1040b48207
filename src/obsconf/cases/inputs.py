"""What the live side hands the cases besides the collected workload run: data only, nothing that reads.

The network side builds these (:mod:`obsconf.live.probe` the retry runs, :mod:`obsconf.live.seedruns` the sampling
runs, :mod:`obsconf.live.alertdrives` the drives); the case builders (:mod:`obsconf.cases`) hand them to the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from obsconf.model import Finding, HttpExchange, LogRecord, MetricFamily, Span


@dataclass
class RetryRun:
    """What one retry fault produced: the requests made during the fault and what they left behind."""

    exchanges: list[HttpExchange]
    spans: list[Span]
    logs: list[LogRecord]
    before: list[MetricFamily]
    after: list[MetricFamily]
    query: str = ""
    trace_url: str = ""
    traffic: int = -1  # connections through the faulted dependency's proxy (-1: not measured)


@dataclass
class SamplingRun:
    """The requests of a sampling run and the server spans found for them."""

    exchanges: list[HttpExchange]
    spans: list[Span]
    rate: float
    query: str = ""
    findings: list[Finding] = field(default_factory=list)


@dataclass
class DriveRun:
    """What one alert drive observed: each rule's state before it and the most active state during it."""

    job: str
    rule_names: list[str]
    before: dict[str, str]
    seen: dict[str, str]
    passes: list[list[HttpExchange]] = field(default_factory=list)
    query: str = ""
    link: str = ""
    findings: list[Finding] = field(default_factory=list)
