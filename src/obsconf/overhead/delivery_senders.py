"""Delivery under load, the sending side: spans requested open-loop at a fixed rate over keep-alive
connections (each answer's ``X-Trace-Id`` kept), and numbered log lines emitted in fixed batches."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import requests

from obsconf.overhead.delivery_result import EMIT_EVERY_S
from obsconf.ports import LOOPBACK


@dataclass
class Sent:
    """What the span load sent: trace id -> wall clock when its request was sent, counts and failures."""

    sent_ns: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    duration_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(text)

    def answered(self, status: int, trace_id: str, sent: int) -> None:
        if 200 <= status < 400 and len(trace_id) == 32:
            self.sent_ns[trace_id] = sent
        else:
            self.fail(f"HTTP {status} (X-Trace-Id {trace_id!r})")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
                    ) -> tuple[int, dict[str, str]]:
    """One request on a kept-alive connection: (status, lower-cased headers); the body is read and dropped."""
    writer.write(raw)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
    if "content-length" not in headers:
        raise ValueError("answer without Content-Length")
    await reader.readexactly(int(headers["content-length"]))
    return int(head[0][9:12]), headers


async def fire(port: int, path: str, rate: float, seconds: float, connections: int) -> Sent:
    """Open loop: ``GET path`` due every 1/rate s over keep-alive connections; keeps each X-Trace-Id."""
    raw = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUser-Agent: obsconf-delivery\r\n\r\n".encode()
    out = Sent()
    queue: asyncio.Queue[bool | None] = asyncio.Queue()

    async def worker() -> None:
        reader = writer = None
        while await queue.get() is not None:
            sent = time.time_ns()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(LOOPBACK, port)
                assert reader is not None
                status, headers = await _exchange(reader, writer, raw)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if writer is not None:
                    writer.close()
                reader = writer = None
                out.fail(f"{type(exc).__name__}: {exc}")
                continue
            out.answered(status, headers.get("x-trace-id", ""), sent)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    interval, start = 1.0 / rate, time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        queue.put_nowait(True)
        out.requests += 1
    for _ in tasks:
        queue.put_nowait(None)
    _done, pending = await asyncio.wait(tasks, timeout=10.0)
    for task in pending:
        task.cancel()
        out.fail("a connection still waited for an answer 10 s after the end")
    out.duration_s = time.perf_counter() - start
    return out


def emit(base: str, run: str, per_request: int, seconds: float) -> tuple[dict[int, int], int]:
    """``POST /logs/emit`` every :data:`EMIT_EVERY_S`; (request index -> wall clock sent, failed requests)."""
    session = requests.Session()
    sent: dict[int, int] = {}
    failed = 0
    start = time.monotonic()
    for i in range(max(1, round(seconds / EMIT_EVERY_S))):
        time.sleep(max(0.0, start + i * EMIT_EVERY_S - time.monotonic()))
        sent[i] = time.time_ns()
        try:
            resp = session.post(f"{base}/logs/emit", params={"n": per_request, "level": "INFO", "tag": f"{run}-{i}"},
                                timeout=10)
            ok = resp.status_code == 200
        except requests.RequestException:
            ok = False
        if not ok:
            failed += 1
            del sent[i]  # its lines were (maybe) never emitted: do not count them as lost
    return sent, failed
