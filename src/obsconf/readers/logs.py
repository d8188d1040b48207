"""Log lines read back from the log store -> :class:`~obsconf.model.LogRecord`.

Two query dialects behind one reader: ``logql`` (Grafana Loki's ``/loki/api/v1/query_range``) for users who
run Loki, and ``logsql`` (VictoriaLogs' ``/select/logsql/query``), which the process stack runs here because
it accepts the Loki push protocol and Loki 3 is ruled out (AGPL). Both return the raw line as pushed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from obsconf.errors import ObsconfError
from obsconf.model import LogRecord
from obsconf.readers._http import answering

DIALECTS = ("logql", "logsql")


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid quoted string in LogQL and LogsQL


def selector(labels: dict[str, str], contains: str | None = None, dialect: str = "logql") -> str:
    """The query that selects a stream by its labels and, optionally, lines containing ``contains``."""
    stream = "{" + ",".join(f"{k}={_quote(v)}" for k, v in sorted(labels.items())) + "}"
    if contains is None:
        return stream
    return f"{stream} |= {_quote(contains)}" if dialect == "logql" else f"{stream} {_quote(contains)}"


def _parse_line(line: str) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _rfc3339_ns(text: str) -> int:
    """'2026-11-24T20:21:23.852716602Z' -> nanoseconds since the epoch (datetime keeps only microseconds)."""
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


class LogReader:
    """Query the log store; ``dialect`` is ``logql`` (Loki) or ``logsql`` (VictoriaLogs)."""

    def __init__(self, url: str, dialect: str = "logql", *, timeout: float = 10.0, log_file: Path | None = None) -> None:
        if dialect not in DIALECTS:
            raise ObsconfError(f"unknown log query dialect {dialect!r}: use one of {DIALECTS}")
        self.url = url.rstrip("/")
        self.dialect = dialect
        self.timeout = timeout
        self.log_file = log_file  # named when the log store stops answering
        self._session = requests.Session()

    def query_range(self, query: str, start_ns: int, end_ns: int, *, limit: int = 5000) -> list[LogRecord]:
        """Run ``query`` (in this reader's dialect) over [start, end]; records sorted oldest first."""
        if self.dialect == "logql":
            records = self._logql(query, start_ns, end_ns, limit)
        else:
            records = self._logsql(query, start_ns, end_ns, limit)
        return sorted(records, key=lambda r: r.timestamp_ns)

    def window(self, query: str, start_ns: int, end_ns: int, *, limit: int = 5000) -> list[LogRecord]:
        """Every line of ``query`` in [start, end]: a slice that returns ``limit`` lines is split in two until
        none does (a load writes more lines than one answer holds)."""
        records = self.query_range(query, start_ns, end_ns, limit=limit)
        if len(records) >= limit and end_ns - start_ns > 1_000_000:
            middle = (start_ns + end_ns) // 2
            return self.window(query, start_ns, middle, limit=limit) + self.window(query, middle + 1, end_ns,
                                                                                    limit=limit)
        return records

    def _logql(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogRecord]:
        with answering("the log store (Loki)", f"{self.url}/loki/api/v1/query_range", self.log_file):
            resp = self._session.get(f"{self.url}/loki/api/v1/query_range", timeout=self.timeout, params={
                "query": query, "start": start_ns, "end": end_ns, "limit": limit, "direction": "forward"})
        if resp.status_code != 200:
            raise ObsconfError(f"Loki {self.url} rejected LogQL {query!r}: {resp.status_code} {resp.text[:300]}")
        out = []
        for stream in resp.json()["data"]["result"]:
            labels = dict(stream.get("stream", {}))
            for ts, line in stream.get("values", []):
                out.append(LogRecord(int(ts), line, _parse_line(line), labels, source="loki"))
        return out

    def _logsql(self, query: str, start_ns: int, end_ns: int, limit: int) -> list[LogRecord]:
        with answering("the log store (VictoriaLogs)", f"{self.url}/select/logsql/query", self.log_file):
            resp = self._session.post(f"{self.url}/select/logsql/query", timeout=self.timeout, data={
                "query": query, "start": str(start_ns), "end": str(end_ns), "limit": str(limit)})
        if resp.status_code != 200:
            raise ObsconfError(f"log store {self.url} rejected LogsQL {query!r}: {resp.status_code} {resp.text[:300]}")
        out = []
        for text in resp.text.split("\n"):  # JSON lines: never splitlines(), which also splits on U+2028
            if not text.strip():
                continue
            row = json.loads(text)
            line = row.get("_msg", "")
            labels = {k: v for k, v in row.items() if not k.startswith("_")}
            out.append(LogRecord(_rfc3339_ns(row["_time"]), line, _parse_line(line), labels, source="loki"))
        return out

    def lines(self, labels: dict[str, str], *, contains: str | None = None, start_ns: int | None = None,
              end_ns: int | None = None, limit: int = 5000) -> list[LogRecord]:
        """Lines of the stream with ``labels`` (default: the last hour), optionally containing a string."""
        end_ns = end_ns or time.time_ns() + 5_000_000_000
        start_ns = start_ns or end_ns - 3600 * 1_000_000_000
        return self.query_range(selector(labels, contains, self.dialect), start_ns, end_ns, limit=limit)

    def wait_for(self, labels: dict[str, str], *, contains: str | None = None, min_count: int = 1,
                 timeout: float = 10.0, start_ns: int | None = None) -> list[LogRecord]:
        """Poll until at least ``min_count`` matching lines arrived or ``timeout`` passes; returns what arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.lines(labels, contains=contains, start_ns=start_ns)
            if len(found) >= min_count or time.monotonic() >= deadline:
                return found
            time.sleep(0.3)

    def link(self, query: str) -> str:
        if self.dialect == "logql":
            return f"{self.url}/loki/api/v1/query_range?{urlencode({'query': query})}"
        return f"{self.url}/select/vmui/?{urlencode({'query': query})}"


def push(url: str, labels: dict[str, str], lines: list[str], *, timeout: float = 10.0) -> None:
    """Push lines with the Loki push protocol (JSON). Used by the stack smoke test; services push their own."""
    now = time.time_ns()
    body = {"streams": [{"stream": labels, "values": [[str(now + i), line] for i, line in enumerate(lines)]}]}
    with answering("the log store", url, None):
        resp = requests.post(url, json=body, timeout=timeout)
    if resp.status_code not in (200, 204):
        raise ObsconfError(f"Loki push to {url} failed: {resp.status_code} {resp.text[:300]}")
