"""W3C trace context in HTTP headers: make a ``traceparent``, find a header by name, read a trace id from it.

Pure (no network), so the workload, the load recorder, the reference middleware and the checks share one
reading of the header: a request's trace id is the second field of ``version-traceid-parentid-flags``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

#: the W3C request header that carries the caller's trace context
TRACEPARENT = "traceparent"

_V = TypeVar("_V")


@dataclass(frozen=True)
class TraceParent:
    """The fields of a valid W3C ``traceparent`` value, as numbers."""

    version: int
    trace_id: int
    span_id: int
    flags: int  # the trace-flags byte; bit 0 is "sampled"

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 1)


def _fields(value: str) -> list[str]:
    return value.strip().split("-")


def header_value(headers: Mapping[str, _V], name: str) -> _V | None:
    """The value of header ``name`` in ``headers``, compared without case (HTTP header names have none)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def new_traceparent(sampled: bool = True) -> tuple[str, str]:
    """A fresh W3C ``traceparent`` and its trace id: the service's server span joins that trace, so the
    workload knows every request's trace id before it is sent."""
    trace_id = os.urandom(16).hex()
    return f"00-{trace_id}-{os.urandom(8).hex()}-{'01' if sampled else '00'}", trace_id


def parse_traceparent(value: str) -> TraceParent | None:
    """The fields of a W3C ``traceparent`` value, or None when it is malformed (wrong field lengths, not hex,
    version ``ff``, an all-zero id, or extra fields after a version-00 value)."""
    parts = _fields(value)
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff" or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        version, trace_id, span_id = int(parts[0], 16), int(parts[1], 16), int(parts[2], 16)
        flags = int(parts[3][:2], 16)
    except ValueError:
        return None
    if trace_id == 0 or span_id == 0 or (version == 0 and len(parts) != 4):
        return None
    return TraceParent(version, trace_id, span_id, flags)


def trace_id_of(traceparent: str) -> str:
    """The trace id (lower case) of a ``traceparent``-shaped value: its second field when that has 32
    characters, else ""."""
    parts = _fields(traceparent.lower())
    return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else ""


def header_trace_id(value: str) -> str:
    """The trace id (lower case) a response header names: a bare id (``X-Trace-Id``), or the second field of a
    W3C ``version-traceid-spanid-flags`` value (``traceresponse``)."""
    parts = _fields(value.lower())
    return parts[1] if len(parts) == 4 else value.strip().lower()
