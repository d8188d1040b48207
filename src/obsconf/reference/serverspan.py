"""The middleware's server span without the SDK's span machinery: about 3 us where the SDK's costs 13.

The SDK's span pays, per request, for a sampler call, a lock, bounded attribute and event containers that
check every value, ``on_start`` on each processor, and at its end a read-only copy of itself for the
processors. When none of that can change the outcome (every span is recorded and the only processor is
the batch exporter) the middleware uses :class:`ServerSpan` instead: a plain recording span, started and
ended into the provider's processors (so one added later, a test's in-memory exporter, sees it too). To the processor and to the OTLP encoder it looks like a finished SDK span
(context, parent, name, kind, times, attributes, events, links, status, resource, scope), so what reaches
the collector is the same message (tests compare the encodings). Child spans and log lines find it in
the context as usual.

``Telemetry`` decides whether its setup qualifies (``Telemetry.server_spans`` is then a
:class:`ServerSpanFactory`); otherwise the middleware keeps the SDK's span (sampling, tail keeping, the
span store and extra processors all need it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, SpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from obsconf.reference.tracebacks import format_exception

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)  # W3C level 2, as the SDK sets it
_UNSET = Status(StatusCode.UNSET)


class ServerSpan(trace_api.Span):
    """A recording span that hands itself to ``processor.on_end`` when it ends (see the module docstring)."""
    # Processors get the span itself, not a read-only copy: nothing writes to it once it has ended.

    __slots__ = ("context", "parent", "name", "kind", "start_time", "end_time", "_attributes", "_events",
                 "_links", "status", "resource", "instrumentation_scope", "_processor")

    dropped_attributes = 0
    dropped_events = 0
    dropped_links = 0

    def __init__(self, processor: SpanProcessor | None, context: SpanContext, parent: SpanContext | None, name: str,
                 kind: SpanKind, attributes: dict[str, Any], resource: Resource,
                 scope: InstrumentationScope) -> None:
        self._processor = processor
        self.context = context
        self.parent = parent
        self.name = name
        self.kind = kind
        self.start_time = time.time_ns()
        self.end_time: int | None = None
        self._attributes = attributes
        self._events: list[Event] = []
        self._links: list[Link] = []
        self.status = _UNSET
        self.resource = resource
        self.instrumentation_scope = scope

    # ---- what processors and exporters read (ReadableSpan's public view) ----
    @property
    def attributes(self) -> Mapping[str, Any]:
        return MappingProxyType(self._attributes)

    @property
    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    @property
    def links(self) -> Sequence[Link]:
        return tuple(self._links)

    def get_span_context(self) -> SpanContext:
        return self.context

    # ---- the span API, as the SDK behaves for a recording span ----
    def is_recording(self) -> bool:
        return self.end_time is None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self.end_time is None:
            self._attributes.update(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        if self.end_time is None:
            self._attributes[key] = value

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None) -> None:
        if self.end_time is None:
            self._events.append(Event(name, attributes, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        if self.end_time is None and context.is_valid:
            self._links.append(Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self.end_time is not None or self.status.status_code is StatusCode.OK:
            return  # OK is final, as in the SDK
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self.status = status

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        """The SDK's ``exception`` event: type (module-qualified), message, stack trace, escaped."""
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        event = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": format_exception(exception),
            "exception.escaped": str(escaped),
        }
        self.add_event("exception", {**event, **(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self.end_time is not None:
            return
        self.end_time = end_time or time.time_ns()
        if self._processor is not None:
            self._processor.on_end(self)  # type: ignore[arg-type]  # quacks like a ReadableSpan


class ServerSpanFactory:
    """Starts :class:`ServerSpan` objects for one telemetry instance."""

    def __init__(self, processor: SpanProcessor | None, resource: Resource, scope: InstrumentationScope,
                 ids: IdGenerator) -> None:
        self.processor = processor
        self.resource = resource
        self.scope = scope
        self.ids = ids
        self._new_trace_flags = _SAMPLED_RANDOM if ids.is_trace_id_random() else _SAMPLED

    def start(self, name: str, parent: SpanContext | None, attributes: dict[str, Any]) -> ServerSpan:
        """A SERVER span, child of ``parent`` (a remote ``traceparent``) when given, else a new trace;
        ``on_start`` of the processors has seen it."""
        if parent is not None and parent.is_valid:
            flags = _SAMPLED_RANDOM if parent.trace_flags.random_trace_id else _SAMPLED
            context = SpanContext(parent.trace_id, self.ids.generate_span_id(), False, flags, parent.trace_state)
        else:
            parent = None
            context = SpanContext(self.ids.generate_trace_id(), self.ids.generate_span_id(), False,
                                  self._new_trace_flags)
        span = ServerSpan(self.processor, context, parent, name, SpanKind.SERVER, attributes, self.resource,
                          self.scope)
        if self.processor is not None:
            self.processor.on_start(span)  # type: ignore[arg-type]  # quacks like the SDK's span
        return span
