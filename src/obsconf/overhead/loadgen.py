"""A small open-loop HTTP/1.1 load generator for loopback: a fixed arrival rate over keep-alive connections.

Why not a closed loop (each user waits for its answer, then sends again): a slow answer then delays the
requests that should have been sent meanwhile, and the latency they would have seen is never recorded
(coordinated omission). Here requests are *due* at a fixed rate whatever happens; a request that finds
every connection busy waits in a queue, and that wait is part of its latency.

Kept deliberately small and cheap (raw sockets, one event loop, ~tens of microseconds of CPU per request)
so that on a 2-core machine the generator on one core barely disturbs the service on the other.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from obsconf.errors import UsageError
from obsconf.ports import LOOPBACK

LATE_THRESHOLD_S = 0.002  # written > 2 ms after it was due: late (timers alone lag up to ~1 ms)
DRAIN_TIMEOUT_S = 10.0
MIN_SLEEP_S = 0.001


@dataclass
class LoadResult:
    """What one fixed-rate run measured. Times in microseconds.

    ``latency_us``: from the moment the request was dispatched at its due time to the end of the answer
    (includes waiting for a free connection); ``service_us``: from writing it to the end of the answer;
    ``send_lag_us``: how late it was written after its due time.
    """

    target_rate: float
    duration_s: float = 0.0
    ok: int = 0
    errors: int = 0
    latency_us: list[float] = field(default_factory=list)
    service_us: list[float] = field(default_factory=list)
    send_lag_us: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def late_sends(self) -> int:
        return sum(1 for lag in self.send_lag_us if lag > LATE_THRESHOLD_S * 1e6)

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def _error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text)


class _Conn:
    """One keep-alive connection that reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        chunked = close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lname == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length > 0:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _request(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: obsconf-loadgen\r\n\r\n".encode()


async def _exchange(conn: _Conn, raw: bytes, path: str, result: LoadResult) -> float | None:
    """Send one request on ``conn``; the clock when a 2xx/3xx answer ended, or None (counted as an error)."""
    try:
        status = await conn.request(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        conn.close()
        result._error(f"{type(exc).__name__}: {exc}")
        return None
    if not 200 <= status < 400:
        result._error(f"HTTP {status} on GET {path}")
        return None
    result.ok += 1
    return time.perf_counter()


async def _run(host: str, port: int, path: str, rate: float, seconds: float, connections: int) -> LoadResult:
    raw = _request(host, port, path)
    result = LoadResult(target_rate=rate)
    queue: asyncio.Queue[tuple[float, float] | None] = asyncio.Queue()
    conns = [_Conn(host, port) for _ in range(connections)]
    clock = time.perf_counter

    async def worker(conn: _Conn) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            due, dispatched = item
            sent = clock()
            end = await _exchange(conn, raw, path, result)
            if end is not None:
                result.latency_us.append((end - dispatched) * 1e6)
                result.service_us.append((end - sent) * 1e6)
                result.send_lag_us.append((sent - due) * 1e6)

    workers = [asyncio.create_task(worker(c)) for c in conns]
    # due times from an integer index: adding 1/rate repeatedly drifts and can send one request too many
    total = round(rate * seconds)
    start = clock()
    sent = 0
    while sent < total:
        now = clock()
        while sent < total and start + sent / rate <= now:
            queue.put_nowait((start + sent / rate, now))
            sent += 1
        if sent < total:
            # at least one timer tick: event loops round shorter sleeps to 0 ms (uvloop, libuv) and the
            # dispatcher would spin, eating the generator's core; requests due meanwhile go out together
            await asyncio.sleep(max(MIN_SLEEP_S, start + sent / rate - clock()))
    await _drain(workers, queue, result)
    result.duration_s = clock() - start
    for conn in conns:
        conn.close()
    return result


async def _drain(workers: list[asyncio.Task[None]], queue: asyncio.Queue[tuple[float, float] | None],
                 result: LoadResult) -> None:
    """After the last request was dispatched: stop the workers once the queue is empty, waiting at most
    :data:`DRAIN_TIMEOUT_S` for their last answers; what was never answered or sent is an error."""
    for _ in workers:
        queue.put_nowait(None)
    _done, pending = await asyncio.wait(workers, timeout=DRAIN_TIMEOUT_S)
    for task in pending:
        task.cancel()
    if pending:
        result._error(f"{len(pending)} connection(s) still waiting for an answer {DRAIN_TIMEOUT_S:g} s after the end")
    while not queue.empty():  # requests never sent because every connection hung
        if queue.get_nowait() is not None:
            result._error("never sent: every connection was stuck")


async def _saturate(host: str, port: int, path: str, seconds: float, connections: int) -> LoadResult:
    """Closed loop: every connection sends its next request as soon as the last one is answered."""
    raw = _request(host, port, path)
    result = LoadResult(target_rate=0.0)
    clock = time.perf_counter
    start = clock()
    end = start + seconds

    async def worker(conn: _Conn) -> None:
        while clock() < end:
            sent = clock()
            answered = await _exchange(conn, raw, path, result)
            if answered is not None:
                result.service_us.append((answered - sent) * 1e6)

    conns = [_Conn(host, port) for _ in range(connections)]
    await asyncio.wait([asyncio.create_task(worker(c)) for c in conns], timeout=seconds + DRAIN_TIMEOUT_S)
    result.duration_s = clock() - start
    for conn in conns:
        conn.close()
    return result


def _check(host: str, seconds: float, connections: int) -> None:
    if host not in (LOOPBACK, "localhost", "::1"):
        raise UsageError(f"load generator target {host!r} is not loopback: obsconf only loads servers it started "
                         "on 127.0.0.1")
    if seconds <= 0 or connections < 1:
        raise UsageError(f"seconds ({seconds}) and connections ({connections}) must be positive")


def _loop_run(coro: Any) -> LoadResult:
    try:
        import uvloop  # cheaper event loop; comes with uvicorn[standard]
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_fixed_rate(
    port: int, path: str, *, rate: float, seconds: float, connections: int = 8, host: str = LOOPBACK
) -> LoadResult:
    """Send ``GET path`` to ``host:port`` at ``rate`` requests per second for ``seconds``; loopback only."""
    _check(host, seconds, connections)
    if rate <= 0:
        raise UsageError(f"rate ({rate}), seconds ({seconds}) and connections ({connections}) must be positive")
    return _loop_run(_run(host, port, path, rate, seconds, connections))


def run_saturated(port: int, path: str, *, seconds: float, connections: int = 8, host: str = LOOPBACK) -> LoadResult:
    """Send ``GET path`` as fast as ``connections`` keep-alive connections allow (closed loop), for ``seconds``.

    Its ``throughput_rps`` is the service's capacity on this route (the latencies are not meaningful: a
    closed loop waits for each answer). Used to set the fixed arrival rate of a run.
    """
    _check(host, seconds, connections)
    return _loop_run(_saturate(host, port, path, seconds, connections))
