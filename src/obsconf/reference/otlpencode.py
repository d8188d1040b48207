"""OTLP/protobuf encoding of finished spans, written straight to bytes.

The SDK's encoder builds one protobuf object per span, attribute and value, then serialises them: about
12 us per span plus 2 us per attribute, on the export thread but still this process's CPU. Here a span
is a handful of byte concatenations, and each (key, value) attribute pair is encoded once and reused
from a bounded cache (method, path, route, status and the child spans' bucket and operation repeat on
every request), so a typical server span costs 2-3 us. The wire format is the same message
(``ExportTraceServiceRequest``, opentelemetry-proto ``trace/v1``); tests parse both encodings and
compare them.

Span attributes are redacted here too, on a cache miss only: the redacted encoding is what is cached, so
the exporter needs no per-span copy to mask a secret.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from obsconf.reference.redact import MASK, Redactor, bound
from obsconf.reference.tracebacks import relative_paths

_CACHE_MAX = 8192  # (key, value) pairs remembered per type; a full cache starts over (hot pairs come back)
_CACHE_STR_MAX = 256  # longer strings (messages, stack traces) are encoded each time, never kept
MAX_ATTRIBUTE_CHARS = 4096  # a string attribute from client input (a body field, a header) is cut here
_FIXED64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_FIXED32 = struct.Struct("<I")


# SpanFlags: the exporter always says whether it knows the parent is remote, and if so that it is
_FLAGS_LOCAL = b"\x85\x01" + _FIXED32.pack(0x100)
_FLAGS_REMOTE = b"\x85\x01" + _FIXED32.pack(0x300)


def _raw(span: ReadableSpan, private: str, public: str) -> Any:
    """A finished span's own container, or the public (copying) property if the SDK renamed it."""
    try:
        return getattr(span, private)
    except AttributeError:
        return getattr(span, public)


def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while True:
        bits = n & 0x7F
        n >>= 7
        if n:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    n = len(payload)
    return tag + (bytes((n,)) if n < 0x80 else _varint(n)) + payload


def _str_field(tag: bytes, text: str) -> bytes:
    return _field(tag, text.encode("utf-8", "surrogatepass"))


# proto SpanKind = SDK SpanKind + 1 (0 is UNSPECIFIED); Status codes are the same numbers
_KINDS = {kind: bytes((0x30, kind.value + 1)) for kind in SpanKind}
_STATUS_CODES = {code: bytes((0x18, code.value)) if code.value else b"" for code in StatusCode}
_STATUSES = {code: _field(b"\x7a", _STATUS_CODES[code]) for code in StatusCode}


def encode_value(value: Any) -> bytes:
    """The fields of an ``AnyValue`` (without its own tag and length). Raises TypeError on other types."""
    if value is None:
        return b""
    if value is True:
        return b"\x10\x01"
    if value is False:
        return b"\x10\x00"
    if isinstance(value, str):
        return _str_field(b"\x0a", value)
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise TypeError(f"integer {value} does not fit int64")
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", encode_value(v)) for v in value))
    if isinstance(value, Mapping):
        return _field(b"\x32", b"".join(_field(b"\x0a", encode_key_value(str(k), v)) for k, v in value.items()))
    raise TypeError(f"invalid attribute type {type(value).__name__} of value {value!r}")


def _repeated(parts: list[bytes], tag: bytes, items: Sequence[Any], encode: Callable[[Any], bytes],
              dropped_tag: bytes, dropped: int) -> None:
    """Append one ``tag`` field per item (a span's events or links), then how many were dropped, if any."""
    for item in items:
        parts.append(_field(tag, encode(item)))
    if dropped:
        parts.append(dropped_tag + _varint(dropped))


def encode_key_value(key: str, value: Any) -> bytes:
    """The fields of a ``KeyValue`` (without its own tag and length)."""
    return _str_field(b"\x0a", key) + _field(b"\x12", encode_value(value))


class SpanEncoder:
    """Encodes batches of finished spans as one serialised ``ExportTraceServiceRequest``.

    Thread-compatible: the batch span processor calls :meth:`encode` from its one export thread; the
    caches are plain dicts whose entries never change once written.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor
        # one cache per value type: True == 1 == 1.0 share a hash, and must not share an encoding
        self._kv: dict[type, dict[tuple[str, Any], bytes]] = {str: {}, int: {}, bool: {}, float: {}}
        self._resources: dict[int, tuple[Any, bytes]] = {}  # id -> (resource kept alive, encoding)
        self._scopes: dict[int, tuple[Any, bytes]] = {}

    # ---- attributes ----
    def _redact(self, key: str, value: Any) -> Any:
        if key == "exception.stacktrace" and isinstance(value, str):
            value = relative_paths(value)  # the SDK's own record_exception writes absolute file paths
        red = self.redactor
        if red is None:
            return value
        if value is not None and red.is_secret_key(key):
            return MASK
        if isinstance(value, str):
            return red.text(bound(value, MAX_ATTRIBUTE_CHARS))
        if isinstance(value, Mapping | list | tuple):
            return red.value(value)
        return value

    def _attributes(self, tag: bytes, attributes: Mapping[str, Any] | None, redact: bool) -> list[bytes]:
        """Encoded ``KeyValue`` fields; an attribute the SDK could not encode either is left out."""
        if not attributes:
            return []
        out = []
        caches = self._kv
        for key, value in attributes.items():
            cache = caches.get(value.__class__)
            hit = cache.get((key, value)) if cache is not None else None
            if hit is None:
                try:
                    hit = _field(tag, encode_key_value(key, self._redact(key, value) if redact else value))
                except TypeError:
                    continue  # as the SDK: an int beyond int64 or an odd type is left out
                if cache is not None and (value.__class__ is not str or len(value) <= _CACHE_STR_MAX):
                    if len(cache) >= _CACHE_MAX:
                        cache.clear()
                    cache[(key, value)] = hit
            out.append(hit)
        return out

    # ---- resource and scope (encoded once per object) ----
    def _resource(self, resource: Any) -> bytes:
        hit = self._resources.get(id(resource))
        if hit is None or hit[0] is not resource:
            body = b"".join(self._attributes(b"\x0a", resource.attributes, False))
            hit = (resource, _field(b"\x0a", body))
            if len(self._resources) < 64:
                self._resources[id(resource)] = hit
        return hit[1]

    def _scope(self, scope: Any) -> bytes:
        """The ``scope`` field of a ``ScopeSpans`` (its ``schema_url`` is added by :meth:`encode`)."""
        if scope is None:
            return _field(b"\x0a", b"")
        hit = self._scopes.get(id(scope))
        if hit is None or hit[0] is not scope:
            body = _str_field(b"\x0a", scope.name) if scope.name else b""
            if scope.version:
                body += _str_field(b"\x12", scope.version)
            body += b"".join(self._attributes(b"\x1a", scope.attributes, False))
            hit = (scope, _field(b"\x0a", body))
            if len(self._scopes) < 64:
                self._scopes[id(scope)] = hit
        return hit[1]

    # ---- spans ----
    def span(self, span: ReadableSpan) -> bytes:
        """The fields of one ``Span`` message (without its own tag and length)."""
        ctx = span.context
        parts = [b"\x0a\x10", ctx.trace_id.to_bytes(16, "big"), b"\x12\x08", ctx.span_id.to_bytes(8, "big")]
        state = ctx.trace_state
        if state:
            parts.append(_str_field(b"\x1a", ",".join(f"{k}={v}" for k, v in state.items())))
        parent = span.parent
        if parent:
            parts.append(b"\x22\x08")
            parts.append(parent.span_id.to_bytes(8, "big"))
        name = span.name
        if name:
            parts.append(_str_field(b"\x2a", name))
        parts.append(_KINDS[span.kind])
        if span.start_time:
            parts.append(b"\x39" + _FIXED64.pack(span.start_time))
        if span.end_time:
            parts.append(b"\x41" + _FIXED64.pack(span.end_time))
        # the SDK's public properties copy (``events`` and ``links`` build tuples under a lock, ``attributes``
        # wraps a proxy whose items() goes through Python): read the finished span's own containers
        raw = _raw(span, "_attributes", "attributes")
        parts.extend(self._attributes(b"\x4a", getattr(raw, "_dict", raw), True))
        if span.dropped_attributes:
            parts.append(b"\x50" + _varint(span.dropped_attributes))
        events = _raw(span, "_events", "events")
        if events:
            _repeated(parts, b"\x5a", events, self._event, b"\x60", span.dropped_events)
        links = _raw(span, "_links", "links")
        if links:
            _repeated(parts, b"\x6a", links, self._link, b"\x70", span.dropped_links)
        status = span.status
        if status is not None:  # most spans carry no description: their status field is a constant
            parts.append(self._status(status) if status.description else _STATUSES[status.status_code])
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def _status(self, status: Any) -> bytes:
        """The ``status`` field of a span; its description redacted (exception text can quote client input)."""
        code = status.status_code
        desc = status.description
        if desc and self.redactor is not None:
            desc = self.redactor.text(bound(desc, MAX_ATTRIBUTE_CHARS))
        if desc:
            return _field(b"\x7a", _str_field(b"\x12", desc) + _STATUS_CODES[code])
        return _STATUSES[code]

    def _event(self, event: Any) -> bytes:
        body = b""
        if event.timestamp:
            body += b"\x09" + _FIXED64.pack(event.timestamp)
        if event.name:
            body += _str_field(b"\x12", event.name)
        # exception events carry the exception's message and stack trace, which can quote client input
        body += b"".join(self._attributes(b"\x1a", event.attributes, self.redactor is not None))
        if event.dropped_attributes:
            body += b"\x20" + _varint(event.dropped_attributes)
        return body

    def _link(self, link: Any) -> bytes:
        lctx = link.context
        body = b"\x0a\x10" + lctx.trace_id.to_bytes(16, "big") + b"\x12\x08" + lctx.span_id.to_bytes(8, "big")
        body += b"".join(self._attributes(b"\x22", link.attributes, False))
        if link.dropped_attributes:
            body += b"\x28" + _varint(link.dropped_attributes)
        return body + b"\x35" + _FIXED32.pack(0x300 if lctx.is_remote else 0x100)

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """A serialised ``ExportTraceServiceRequest`` holding ``spans``, grouped by resource and scope."""
        groups: dict[bytes, dict[bytes, list[bytes]]] = {}
        schemas: dict[bytes, bytes] = {}  # encoded resource or scope -> its schema_url field (field 3 of both)
        span_fn: Callable[[ReadableSpan], bytes] = self.span
        for span in spans:
            resource = span.resource
            res = self._resource(resource)
            if resource.schema_url:
                schemas[res] = _str_field(b"\x1a", resource.schema_url)
            inst = span.instrumentation_scope or None
            scope = self._scope(inst)
            if inst is not None and inst.schema_url:
                schemas[scope] = _str_field(b"\x1a", inst.schema_url)
            by_scope = groups.get(res)
            if by_scope is None:
                by_scope = groups[res] = {}
            encoded = by_scope.get(scope)
            if encoded is None:
                encoded = by_scope[scope] = []
            encoded.append(_field(b"\x12", span_fn(span)))
        out = []
        for res, by_scope in groups.items():
            body = [res]
            for scope, encoded in by_scope.items():
                body.append(_field(b"\x12", scope + b"".join(encoded) + schemas.get(scope, b"")))
            body.append(schemas.get(res, b""))
            out.append(_field(b"\x0a", b"".join(body)))
        return b"".join(out)
