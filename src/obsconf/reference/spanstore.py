"""Keeps the spans this process finished, grouped by trace, for aurum's trace listing/detail/export."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from obsconf.reference.redact import Redactor, bound

_KINDS = {0: "internal", 1: "server", 2: "client", 3: "producer", 4: "consumer"}


class SpanStore(SpanProcessor):
    """Bounded: at most ``max_traces`` traces (oldest evicted) of at most ``max_spans_per_trace`` spans."""

    def __init__(self, redactor: Redactor, max_traces: int = 1000, max_spans_per_trace: int = 1000) -> None:
        self.redactor = redactor
        self.max_traces = max_traces
        self.max_spans = max_spans_per_trace
        self._traces: OrderedDict[str, list[ReadableSpan]] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None:
            return
        tid = f"{span.context.trace_id:032x}"
        with self._lock:
            spans = self._traces.get(tid)
            if spans is None:
                if len(self._traces) >= self.max_traces:
                    self._traces.popitem(last=False)
                    self.evicted += 1
                spans = self._traces[tid] = []
            if len(spans) < self.max_spans:
                spans.append(span)

    def span_dict(self, span: ReadableSpan) -> dict[str, Any]:
        ctx = span.context
        assert ctx is not None
        return {
            "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
            "name": span.name,
            "kind": _KINDS.get(span.kind.value, "internal"),
            "start_time_unix_nano": span.start_time,
            "end_time_unix_nano": span.end_time,
            "duration_ms": round(((span.end_time or 0) - (span.start_time or 0)) / 1e6, 3),
            "status": span.status.status_code.name.lower(),
            "status_message": self.redactor.text(bound(span.status.description or "")),
            "attributes": self.redactor.record(dict(span.attributes or {})),
            "events": [{"name": e.name, "time_unix_nano": e.timestamp,
                        "attributes": self.redactor.record(dict(e.attributes or {}))} for e in span.events],
        }

    def summaries(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first: trace id, root span name, span count, start, duration, status."""
        with self._lock:
            items = list(self._traces.items())[-limit:][::-1] if limit > 0 else []
        out = []
        for tid, spans in items:
            root = next((s for s in spans if s.parent is None or s.parent.is_remote), spans[-1])
            start = min(s.start_time or 0 for s in spans)
            end = max(s.end_time or 0 for s in spans)
            error = any(s.status.status_code is StatusCode.ERROR for s in spans)
            out.append({"trace_id": tid, "root_span": root.name, "span_count": len(spans),
                        "start_time_unix_nano": start, "duration_ms": round((end - start) / 1e6, 3),
                        "status": "error" if error else "ok",
                        "service": (root.resource.attributes.get("service.name") if root.resource else None)})
        return out

    def get(self, trace_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            spans = list(self._traces.get(trace_id.lower(), ()))
        if not spans:
            return None
        return [self.span_dict(s) for s in sorted(spans, key=lambda s: s.start_time or 0)]

    def count(self) -> int:
        return len(self._traces)

    def cleanup(self, max_age_seconds: float) -> int:
        """Drop traces whose last span ended more than ``max_age_seconds`` ago; returns how many."""
        cutoff = time.time_ns() - int(max_age_seconds * 1e9)
        with self._lock:
            old = [tid for tid, spans in self._traces.items() if max(s.end_time or 0 for s in spans) < cutoff]
            for tid in old:
                del self._traces[tid]
        return len(old)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def otlp_json(spans: list[dict[str, Any]], service: str) -> dict[str, Any]:
    """Spans (as :meth:`SpanStore.span_dict` gives them) as an OTLP/JSON ``ExportTraceServiceRequest``."""
    def attr(key: str, val: Any) -> dict[str, Any]:
        if isinstance(val, bool):
            return {"key": key, "value": {"boolValue": val}}
        if isinstance(val, int):
            return {"key": key, "value": {"intValue": str(val)}}
        if isinstance(val, float):
            return {"key": key, "value": {"doubleValue": val}}
        return {"key": key, "value": {"stringValue": str(val)}}

    kinds = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
    codes = {"unset": 0, "ok": 1, "error": 2}
    return {"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "obsconf.reference"}, "spans": [{
            "traceId": s["trace_id"], "spanId": s["span_id"], "parentSpanId": s["parent_span_id"] or "",
            "name": s["name"], "kind": kinds.get(s["kind"], 1),
            "startTimeUnixNano": str(s["start_time_unix_nano"]), "endTimeUnixNano": str(s["end_time_unix_nano"]),
            "attributes": [attr(k, v) for k, v in s["attributes"].items()],
            "status": {"code": codes.get(s["status"], 0), "message": s["status_message"]},
        } for s in spans]}],
    }]}
