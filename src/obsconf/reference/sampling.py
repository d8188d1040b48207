"""Trace sampling that keeps what matters: errors, slow requests and critical paths, over a base rate.

Seed 004's "intelligent sampler" decides at span start, when neither the outcome nor the duration is
known. Here the decision is split:

* at start (:class:`IntelligentSampler`): a sampled remote parent, a critical path (``/api/chat``,
  ``/api/agents``, ``/api/memory`` for the assistant) or the trace-id ratio -> sampled; anything else
  is *recorded but not sampled* (cheap, kept in memory only);
* at the end of the local root span (:class:`TailKeepProcessor`): a recorded-only trace is exported
  anyway if any of its spans has error status or the root lasted at least ``slow_seconds``.

The pure functions :func:`head_decision` and :func:`tail_keep` hold the rules, for tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, StatusCode, TraceState, get_current_span

from obsconf.reference.spancopy import copy_span

_RATIO_MASK = (1 << 64) - 1

SAMPLED_PARENT = "parent"
CRITICAL = "critical"
BASE = "base"
DEFERRED = "deferred"


def is_critical(path: str, critical_paths: Iterable[str]) -> bool:
    """True if ``path`` is one of ``critical_paths`` or below one (``/api/chat/x`` under ``/api/chat``)."""
    for prefix in critical_paths:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


def ratio_keeps(trace_id: int, rate: float) -> bool:
    """The W3C/OTel trace-id ratio rule: deterministic per trace id, so every service agrees."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return (trace_id & _RATIO_MASK) < int(rate * (1 << 64))


def head_decision(
    path: str, trace_id: int, base_rate: float, critical_paths: Sequence[str], parent_sampled: bool = False
) -> str:
    """Why a new server span is sampled at start: ``parent``, ``critical``, ``base`` or ``deferred``."""
    if parent_sampled:
        return SAMPLED_PARENT
    if path and is_critical(path, critical_paths):
        return CRITICAL
    if ratio_keeps(trace_id, base_rate):
        return BASE
    return DEFERRED


def tail_keep(any_error: bool, root_duration_s: float, slow_seconds: float) -> bool:
    """Whether a deferred trace is exported after all: errors and slow requests are always kept."""
    return any_error or (slow_seconds > 0 and root_duration_s >= slow_seconds)


class IntelligentSampler(Sampler):
    """Head sampler of seed 004. Unsampled traces are still recorded so the tail rule can keep them."""

    def __init__(self, base_rate: float, critical_paths: Sequence[str] = ()) -> None:
        self.base_rate = base_rate
        self.critical_paths = tuple(critical_paths)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid and not parent.is_remote:
            # a local child follows its parent: sampled, or recorded for the tail decision
            decision = Decision.RECORD_AND_SAMPLE if parent.trace_flags.sampled else Decision.RECORD_ONLY
            return SamplingResult(decision, attributes, parent.trace_state)
        path = ""
        if attributes:
            path = str(attributes.get("url.path") or attributes.get("operation.name") or "")
        why = head_decision(path, trace_id, self.base_rate, self.critical_paths,
                            parent_sampled=parent.is_valid and parent.trace_flags.sampled)
        decision = Decision.RECORD_ONLY if why == DEFERRED else Decision.RECORD_AND_SAMPLE
        return SamplingResult(decision, attributes, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return f"IntelligentSampler{{rate={self.base_rate},critical={list(self.critical_paths)}}}"


class TailKeepProcessor(SpanProcessor):
    """Forwards sampled spans at once; holds recorded-only spans until their local root ends, then
    forwards the whole trace (re-flagged as sampled) if :func:`tail_keep` says so, else drops it.

    Pending traces are bounded (``max_pending_traces``, ``max_spans_per_trace``); evictions are counted
    in ``evicted`` so a memory cap never silently loses an error trace without a trace of it.
    """

    def __init__(
        self,
        downstream: SpanProcessor,
        slow_seconds: float,
        max_pending_traces: int = 2048,
        max_spans_per_trace: int = 256,
    ) -> None:
        self.downstream = downstream
        self.slow_seconds = slow_seconds
        self.max_pending_traces = max_pending_traces
        self.max_spans_per_trace = max_spans_per_trace
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._lock = threading.Lock()
        self.kept = 0
        self.dropped = 0
        self.evicted = 0

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        self.downstream.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is None:
            return
        if ctx.trace_flags.sampled:
            self.downstream.on_end(span)
            return
        local_root = span.parent is None or span.parent.is_remote
        with self._lock:
            if not local_root:
                spans = self._pending.get(ctx.trace_id)
                if spans is None:
                    if len(self._pending) >= self.max_pending_traces:
                        self._pending.pop(next(iter(self._pending)))  # oldest first (dict order)
                        self.evicted += 1
                    spans = self._pending[ctx.trace_id] = []
                if len(spans) < self.max_spans_per_trace:
                    spans.append(span)
                return
            spans = self._pending.pop(ctx.trace_id, [])
        spans.append(span)
        duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        any_error = any(s.status.status_code is StatusCode.ERROR for s in spans)
        if not tail_keep(any_error, duration, self.slow_seconds):
            self.dropped += 1
            return
        self.kept += 1
        for item in spans:
            self.downstream.on_end(copy_span(item, sampled=True))

    def shutdown(self) -> None:
        self.downstream.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.downstream.force_flush(timeout_millis)
