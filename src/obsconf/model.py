"""Collected data and findings: what readers return and what pure checks consume and produce.

Readers (network) build these; checks (pure) read them. Nothing here talks to a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MISSING: Any = object()  # what :func:`get_field` returns for an absent path


def get_field(data: dict[str, Any], path: str) -> Any:
    """Value at dotted ``path`` of a JSON object (a log line's fields, a store record): the contract names
    nested fields that way (``fields.job_name`` is ``data["fields"]["job_name"]``); a literal key containing
    dots wins. :data:`MISSING` if absent (test it with :func:`is_missing`: ``None`` is a value)."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def is_missing(value: Any) -> bool:
    """Whether ``value`` is what :func:`get_field` returns for an absent path."""
    return value is MISSING


@dataclass(frozen=True)
class Span:
    """One span as read back from a trace backend (Jaeger) or built by a test."""

    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_id: str | None  # None for a root span
    name: str
    service: str
    start_us: int  # microseconds since the epoch
    duration_us: int
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "unset"  # "unset" | "ok" | "error"
    kind: str = "internal"  # "server" | "client" | "internal" | "producer" | "consumer"
    events: tuple[dict[str, Any], ...] = ()
    resource: dict[str, Any] = field(default_factory=dict)  # the process's resource attributes (service.version ...)


@dataclass(frozen=True)
class LogRecord:
    """One log line as read back from a log backend (Loki API), a file, stdout or PocketBase."""

    timestamp_ns: int
    line: str  # the raw line as emitted
    fields: dict[str, Any]  # the parsed JSON object ({} when the line is not JSON)
    labels: dict[str, str] = field(default_factory=dict)  # stream labels (Loki) or collection info
    source: str = ""  # where it was read: "loki", "pocketbase", "stdout", a file path


@dataclass(frozen=True)
class MetricSample:
    """One sample of a metric family from the exposition text (``name`` carries _bucket/_sum/...)."""

    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class MetricFamily:
    """One metric family as exposed on /metrics (parsed with prometheus_client's parser)."""

    name: str
    type: str  # "counter" | "gauge" | "histogram" | "summary" | "info" | "stateset" | "unknown"
    help: str
    samples: tuple[MetricSample, ...] = ()


@dataclass(frozen=True)
class Series:
    """One time series as returned by a PromQL query (instant: one point; range: several)."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]  # (unix seconds, value)


@dataclass(frozen=True)
class HttpExchange:
    """One request the workload made and what came back, for health, trace-id and retry checks."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON when the response was JSON, else the text
    elapsed_ms: float
    sent_at_ns: int = 0
    trace_id: str = ""  # the trace id the request's W3C traceparent carried ("" when none was sent)


@dataclass(frozen=True)
class Finding:
    """One way in which collected data does not meet the contract.

    ``check`` is a stable id (e.g. ``spans.parent``), ``where`` names the contract item
    (e.g. ``persist.yaml: spans[0] save_snapshot``), ``expected``/``actual`` are shown side by side,
    ``query`` is what was asked of the backend and ``link`` a URL to see it in the backend's UI.
    """

    check: str
    where: str
    message: str
    expected: Any = None
    actual: Any = None
    query: str = ""
    link: str = ""

    def render(self) -> str:
        """A person-readable, multi-line description used in assertion messages and reports."""
        lines = [f"[{self.check}] {self.where}: {self.message}"]
        if self.expected is not None or self.actual is not None:
            lines.append(f"    expected: {self.expected!r}")
            lines.append(f"    actual:   {self.actual!r}")
        if self.query:
            lines.append(f"    query:    {self.query}")
        if self.link:
            lines.append(f"    see:      {self.link}")
        return "\n".join(lines)


@dataclass(frozen=True)
class AuthExchange:
    """One protected endpoint asked three times: with no token, with a wrong one and with the right one."""

    method: str
    path: str
    anonymous: HttpExchange
    wrong: HttpExchange
    authorised: HttpExchange
    wrong_token: str = ""  # what was sent as the wrong token (a response must not echo it)
