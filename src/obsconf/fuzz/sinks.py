"""Read back everything a service left in every sink of a real stack, as text to scan for canaries.

The log store (every line of the service's stream, labels included), PocketBase's ``daemon_logs`` records,
Jaeger's raw trace JSON (names, tags, events, status), Prometheus' series of the service's job (label
values), the service's own ``/metrics``, its stdout, its log file and every rotated (gzipped) file, and the
trace API aurum serves. Readers only; nothing here judges.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader
from obsconf.readers.prometheus import PrometheusReader
from obsconf.waiting import settle


@dataclass
class SinkSources:
    """Where one service's output can be read back."""

    service: str  # service.name / log stream label / Jaeger service
    job: str  # Prometheus job that scrapes it
    base_url: str
    stdout: Path
    files: tuple[Path, ...] = ()  # log files; rotated siblings (<file>.*) are read too
    started_ns: int = 0
    pocketbase_filter: str = ""  # e.g. daemon_id = '...' (empty: the service writes no records)
    trace_api: bool = False  # aurum's /v1/observability/traces
    headers: Mapping[str, str] = field(default_factory=dict)  # for the service's own endpoints


def _rotated(path: Path) -> list[tuple[str, str]]:
    out = []
    if path.exists():
        out.append((f"file {path.name}", path.read_text("utf-8", "replace")))
    for rotated in sorted(path.parent.glob(path.name + ".*")):
        raw = rotated.read_bytes()
        data = gzip.decompress(raw) if rotated.name.endswith(".gz") else raw
        out.append((f"file {rotated.name}", data.decode("utf-8", "replace")))
    return out


def read_all(src: SinkSources, *, logs: LogReader, jaeger: JaegerReader, prometheus: PrometheusReader,
             pocketbase: Any | None, settle_timeout: float = 30.0) -> list[tuple[str, str]]:
    """(sink, text) for every sink, after waiting for each to stop growing."""
    labels = {"service": src.service}

    def log_lines() -> list[Any]:
        return logs.lines(labels, start_ns=src.started_ns - 5_000_000_000, limit=200_000)

    settle(lambda: len(log_lines()), timeout=settle_timeout)
    out: list[tuple[str, str]] = []
    records = log_lines()
    out.append(("log store", "\n".join(json.dumps(r.labels) + " " + r.line for r in records)))
    if pocketbase is not None and src.pocketbase_filter:
        def pb_rows() -> list[dict[str, Any]]:
            return pocketbase.records("daemon_logs", filter=src.pocketbase_filter)

        settle(lambda: len(pb_rows()), timeout=settle_timeout)
        out.append(("pocketbase", "\n".join(json.dumps(r, ensure_ascii=False) for r in pb_rows())))
    settle(lambda: jaeger.raw_traces(src.service, lookback_s=3600, limit=100_000).count('"traceID"'),
           timeout=settle_timeout)
    out.append(("jaeger", json.dumps(json.loads(jaeger.raw_traces(src.service, lookback_s=3600, limit=100_000)),
                                     ensure_ascii=False)))
    # a new scrape target is first scraped within seconds (file_sd refresh, then the scrape interval)
    prometheus.wait_for_target_up(src.job, timeout=settle_timeout)
    settle(lambda: len(prometheus.query(f'{{job="{src.job}"}}')), timeout=settle_timeout)
    series = prometheus.query(f'{{job="{src.job}"}}')
    out.append(("prometheus", "\n".join(json.dumps(s.labels, ensure_ascii=False) for s in series)))
    out.append(("metrics", requests.get(src.base_url + "/metrics", headers=dict(src.headers), timeout=10).text))
    if src.trace_api:
        listing = requests.get(f"{src.base_url}/v1/observability/traces?limit=1000", headers=dict(src.headers),
                               timeout=10)
        texts = [listing.text]
        for trace in listing.json().get("traces", []) if listing.status_code == 200 else []:
            texts.append(requests.get(f"{src.base_url}/v1/observability/traces/{trace['trace_id']}",
                                      headers=dict(src.headers), timeout=10).text)
        out.append(("trace api", "\n".join(texts)))
    out.append(("stdout", src.stdout.read_text("utf-8", "replace") if src.stdout.exists() else ""))
    for path in src.files:
        out.extend(_rotated(path))
    return out
