"""Copy a finished span with changed flags or attributes (ReadableSpan is immutable once ended)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, TraceFlags


def copy_span(
    span: ReadableSpan, *, sampled: bool | None = None, attributes: Mapping[str, Any] | None = None
) -> ReadableSpan:
    """A new ReadableSpan equal to ``span`` but with the sampled flag and/or attributes replaced."""
    ctx = span.context
    assert ctx is not None
    if sampled is not None:
        flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
        ctx = SpanContext(ctx.trace_id, ctx.span_id, ctx.is_remote, flags, ctx.trace_state)
    return ReadableSpan(
        name=span.name,
        context=ctx,
        parent=span.parent,
        resource=span.resource,
        attributes=dict(span.attributes or {}) if attributes is None else attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
