"""Jaeger query API (``/api/traces``) -> :class:`~obsconf.model.Span` lists."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from obsconf.model import Span
from obsconf.readers._http import HttpReader


def _tag_value(tag: dict[str, Any]) -> Any:
    return tag.get("value")


def parse_trace(trace: dict[str, Any]) -> list[Span]:
    """Convert one trace of the Jaeger JSON API into spans (status from otel.status_code, kind from span.kind)."""
    processes = {pid: p.get("serviceName", "") for pid, p in trace.get("processes", {}).items()}
    resources = {pid: {"service.name": p.get("serviceName", ""), **{t["key"]: _tag_value(t) for t in p.get("tags", [])}}
                 for pid, p in trace.get("processes", {}).items()}
    spans = []
    for raw in trace.get("spans", []):
        tags = {t["key"]: _tag_value(t) for t in raw.get("tags", [])}
        parent = next((r["spanID"] for r in raw.get("references", []) if r.get("refType") == "CHILD_OF"), None)
        status = str(tags.pop("otel.status_code", "unset")).lower()
        kind = str(tags.pop("span.kind", "internal")).lower()
        tags.pop("otel.status_description", None)
        spans.append(Span(
            trace_id=raw["traceID"].rjust(32, "0"),
            span_id=raw["spanID"].rjust(16, "0"),
            parent_id=parent.rjust(16, "0") if parent else None,
            name=raw["operationName"],
            service=processes.get(raw.get("processID", ""), ""),
            start_us=int(raw["startTime"]),
            duration_us=int(raw["duration"]),
            attributes=tags,
            status=status if status in ("ok", "error") else "unset",
            kind=kind,
            events=tuple({"timestamp_us": log.get("timestamp"), **{f["key"]: f.get("value") for f in log.get("fields", [])}}
                         for log in raw.get("logs", [])),
            resource=resources.get(raw.get("processID", ""), {}),
        ))
    return spans


class JaegerReader(HttpReader):
    """Reads traces back from Jaeger's query API."""

    backend = "Jaeger"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self._fetch(path, params)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()

    def services(self) -> list[str]:
        return list((self._get("/api/services") or {}).get("data") or [])

    def traces(self, service: str, *, operation: str | None = None, lookback_s: int = 3600, limit: int = 200,
               tags: dict[str, str] | None = None) -> list[list[Span]]:
        """Recent traces of ``service`` (each a list of spans), newest first."""
        params: dict[str, Any] = {"service": service, "limit": limit, "lookback": f"{lookback_s}s",
                                  "start": int((time.time() - lookback_s) * 1e6), "end": int(time.time() * 1e6)}
        if operation:
            params["operation"] = operation
        if tags:
            import json

            params["tags"] = json.dumps(tags)
        body = self._get("/api/traces", params) or {}
        return [parse_trace(t) for t in body.get("data") or []]

    def raw_traces(self, service: str, *, lookback_s: int = 3600, limit: int = 1000) -> str:
        """The JSON text Jaeger answers for the service's recent traces, as it is: every operation name, tag,
        event and process tag (what a redaction scan must read, including what :func:`parse_trace` drops)."""
        params = {"service": service, "limit": limit, "lookback": f"{lookback_s}s",
                  "start": int((time.time() - lookback_s) * 1e6), "end": int(time.time() * 1e6)}
        resp = self._fetch("/api/traces", params)
        resp.raise_for_status()
        return resp.text

    def traces_between(self, service: str, start_us: int, end_us: int, *, limit: int = 1500) -> list[list[Span]]:
        """Traces of ``service`` with a span that started in [start_us, end_us]. A slice that returns
        ``limit`` traces is split in two until none does, so a busy window is read whole."""
        body = self._get("/api/traces", {"service": service, "start": start_us, "end": end_us, "limit": limit}) or {}
        data = body.get("data") or []
        if len(data) >= limit and end_us - start_us > 1000:
            middle = (start_us + end_us) // 2
            return (self.traces_between(service, start_us, middle, limit=limit)
                    + self.traces_between(service, middle + 1, end_us, limit=limit))
        return [parse_trace(t) for t in data]

    def trace(self, trace_id: str) -> list[Span]:
        """All spans of one trace ([] when Jaeger does not have it)."""
        body = self._get(f"/api/traces/{trace_id}") or {}
        data = body.get("data") or []
        return parse_trace(data[0]) if data else []

    def wait_for_trace(self, trace_id: str, *, timeout: float = 10.0, min_spans: int = 1) -> list[Span]:
        """Poll until the trace has at least ``min_spans`` spans or ``timeout`` passes; returns what arrived."""
        deadline = time.monotonic() + timeout
        spans: list[Span] = []
        while True:
            spans = self.trace(trace_id)
            if len(spans) >= min_spans or time.monotonic() >= deadline:
                return spans
            time.sleep(0.25)

    def trace_link(self, trace_id: str) -> str:
        return f"{self.url}/trace/{trace_id}"

    def search_link(self, service: str, operation: str | None = None) -> str:
        params = {"service": service, **({"operation": operation} if operation else {})}
        return f"{self.url}/search?{urlencode(params)}"
