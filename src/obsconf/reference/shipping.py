"""Batched shipping of log lines with retry, backoff, a circuit breaker and a bounded buffer.

:class:`BatchShipper` holds the mechanics shared by the Loki shipper (here) and the PocketBase shipper
(:mod:`obsconf.reference.pbship`): callers :meth:`~BatchShipper.offer` items without blocking; a
background thread sends batches of ``batch_size`` every ``flush_interval`` seconds (or as soon as a
batch is full), retries transient failures with exponential backoff, stops calling a backend that keeps
failing (breaker) and keeps at most ``buffer_max`` items, counting what it had to drop. Failures are
reported through ``on_error`` and counted; they never reach the request that logged.

Duplicates. A push that was sent but never answered (the backend hangs: a stopped process, a full disk)
may still be stored when the backend resumes; sending it again can store it twice. So a sent push waits
for its answer up to ``read_timeout`` (30 s, ``OBSCONF_LOGS_HTTP_TIMEOUT``; connecting gives up after
2 s), much longer than a hang that a resend would otherwise turn into duplicates. When a push does time out
after it was sent, the batch is resent and counted in ``duplicates_possible`` (stored <= sent +
duplicates_possible, exact when the backend processes what it received), unless the shipper can ask the
backend what it already stored (PocketBase: records carry their own ids).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import orjson

from obsconf.reference.backoff import Backoff
from obsconf.reference.breaker import CircuitBreaker
from obsconf.reference.httppost import HttpPoster

_JSON = {"Content-Type": "application/json"}

T = TypeVar("T")


class ShipError(Exception):
    """A batch could not be delivered. ``retryable`` tells the shipper whether to try again."""

    def __init__(self, message: str, *, retryable: bool, consumed: int = 0, delivered: int = 0,
                 rejected: int = 0, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.ambiguous = ambiguous  # the request was sent but not answered: the backend may have stored it
        self.consumed = consumed  # leading items of the batch that are settled (delivered or refused)
        self.delivered = delivered  # of those, stored by the backend
        self.rejected = rejected  # of those, refused for good (their data was bad)


@dataclass(frozen=True)
class ShipperStats:
    """Counters of one shipper, for ``/telemetry/status`` and the ``obsconf_telemetry_*`` metrics."""

    name: str
    buffer_size: int
    buffer_max: int
    offered: int
    shipped: int
    dropped_overflow: int
    dropped_rejected: int
    dropped_shutdown: int
    send_errors: int
    retries: int
    batches: int
    breaker_state: str
    breaker_opened: int
    last_error: str
    duplicates_possible: int = 0  # entries resent after an unanswered push (each may be stored twice)
    deduplicated: int = 0  # entries the backend already had when a push was retried (not stored again)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: the ShipperStats fields a shipper keeps as attributes of the same name
_STAT_ATTRIBUTES = ("buffer_max", "offered", "shipped", "dropped_overflow", "dropped_rejected", "dropped_shutdown",
             "send_errors", "retries", "batches", "last_error", "duplicates_possible", "deduplicated")


class BatchShipper(Generic[T]):
    """Subclasses set :attr:`name` and implement :meth:`send` (raise :class:`ShipError` on failure)."""

    name: ClassVar[str] = ""  # the backend, in stats and in the worker thread's name
    connect_timeout: ClassVar[float] = 2.0  # connecting gives up early; an answer is waited for (read_timeout)

    def __init__(
        self,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        buffer_max: int = 10000,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        on_error: Callable[[str, Mapping[str, Any]], None] | None = None,
        on_retry: Callable[[int, int, float, ShipError], None] | None = None,
        read_timeout: float = 30.0,
    ) -> None:
        self.read_timeout = max(0.05, read_timeout)
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.buffer_max = max(1, buffer_max)
        self.backoff = backoff or Backoff(base=0.2, factor=2.0, max_delay=5.0, max_retries=3, jitter=0.5)
        self.breaker = breaker or CircuitBreaker(failure_threshold=5, reset_timeout=10.0)
        self.on_error = on_error
        # called before each retry sleep with (retry number from 1, max_retries, delay s, the error): a
        # profile logs its "retrying" line here (bounded: max_retries per batch, and the breaker stops batches)
        self.on_retry = on_retry
        self._rng = random.Random()  # backoff jitter
        self._buf: deque[T] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sending = threading.Lock()  # one batch in flight: the worker or the final flush
        self.offered = 0
        self.shipped = 0
        self.dropped_overflow = 0
        self.dropped_rejected = 0
        self.dropped_shutdown = 0
        self.send_errors = 0
        self.retries = 0
        self.batches = 0
        self.duplicates_possible = 0
        self.deduplicated = 0
        self.last_error = ""
        self._last_report = 0.0

    # ---- producer side (request hot path) ----
    def offer(self, item: T) -> None:
        """Queue one item; never blocks on I/O. When the buffer is full the *oldest* item is dropped."""
        with self._lock:
            if len(self._buf) >= self.buffer_max:
                self._buf.popleft()
                self.dropped_overflow += 1
            self._buf.append(item)
            self.offered += 1
            full = len(self._buf) >= self.batch_size
        if full and not self._wake.is_set():
            self._wake.set()

    def __len__(self) -> int:
        return len(self._buf)

    # ---- consumer side ----
    def send(self, batch: list[T], timeout: float) -> None:  # pragma: no cover - abstract
        """Deliver ``batch``; ``timeout`` bounds the wait for the answer (connecting: ``connect_timeout``)."""
        raise NotImplementedError

    def unanswered(self, batch: list[T]) -> None:
        """``batch`` was sent and not answered, and will be sent again: count the possible duplicates. A
        shipper that can ask the backend what it already has overrides this."""
        self.duplicates_possible += len(batch)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"obsconf-ship-{self.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        last_flush = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(max(0.0, self.flush_interval - (time.monotonic() - last_flush)))
            self._wake.clear()
            if self._stop.is_set():
                break
            if time.monotonic() - last_flush >= self.flush_interval:
                self.drain(deadline=None)  # the interval is up: send everything, partial batch included
                last_flush = time.monotonic()
            else:
                # woken by a full batch: send full batches only, so a steady trickle of lines is not
                # shipped as hundreds of tiny requests (each costs ~1 ms of CPU in requests)
                self.drain(deadline=None, full_only=True)

    def _take(self) -> list[T]:
        with self._lock:
            n = min(self.batch_size, len(self._buf))
            return [self._buf.popleft() for _ in range(n)]

    def _put_back(self, batch: list[T]) -> None:
        """Return an unsent batch to the front of the buffer, dropping the oldest beyond the cap."""
        with self._lock:
            room = self.buffer_max - len(self._buf)
            keep = batch[len(batch) - room:] if room < len(batch) else batch
            self.dropped_overflow += len(batch) - len(keep)
            self._buf.extendleft(reversed(keep))

    def drain(self, deadline: float | None, http_timeout: float | None = None, full_only: bool = False) -> bool:
        """Send batches until the buffer is empty (or, ``full_only``, holds less than a batch); False if a
        send gave up. With a ``deadline`` (monotonic seconds) no retry sleeps past it: the final flush.
        """
        with self._sending:
            while self._buf and (not full_only or len(self._buf) >= self.batch_size):
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if not self.breaker.allow():
                    return False
                batch = self._take()
                if not batch:
                    return True
                if not self._send_with_retries(batch, deadline,
                                               self.read_timeout if http_timeout is None else http_timeout):
                    return False
            return True

    def _send_with_retries(self, batch: list[T], deadline: float | None, http_timeout: float) -> bool:
        attempt = 0
        while True:
            timeout = http_timeout
            if deadline is not None:
                timeout = min(timeout, max(0.05, deadline - time.monotonic()))
            try:
                self.send(batch, timeout)
            except ShipError as exc:
                self.send_errors += 1
                self.last_error = str(exc)[:300]
                self._report(f"{self.name}: shipping {len(batch)} log entries failed", exc, attempt)
                self.shipped += exc.delivered
                if not exc.retryable:
                    self.dropped_rejected += len(batch) - exc.delivered
                    self.breaker.record(True)  # the backend answered; the data was bad
                    return True
                self.dropped_rejected += exc.rejected
                batch = batch[exc.consumed:]
                if not batch:
                    self.breaker.record(True)
                    return True
                if exc.ambiguous:
                    self.unanswered(batch)
                attempt += 1
                if attempt > self.backoff.max_retries:
                    self.breaker.record(False)
                    self._put_back(batch)
                    return False
                delay = self.backoff.delay(attempt, self._rng)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    self.breaker.record(False)
                    self._put_back(batch)
                    return False
                self.retries += 1
                if self.on_retry is not None:
                    self.on_retry(attempt, self.backoff.max_retries, delay, exc)
                if deadline is not None:
                    time.sleep(delay)  # final flush: bounded by the deadline checked above
                elif self._stop.wait(delay):
                    self._put_back(batch)  # shutting down: the final flush takes over
                    return False
                continue
            self.breaker.record(True)
            self.shipped += len(batch)
            self.batches += 1
            return True

    def _report(self, message: str, exc: Exception, attempt: int) -> None:
        # at most one diagnostic line every 5 s per shipper: a dead backend must not flood stdout
        now = time.monotonic()
        if self.on_error is None or now - self._last_report < 5.0:
            return
        self._last_report = now
        self.on_error(message, {"error": str(exc)[:300], "retry_attempt": attempt,
                                "breaker_state": self.breaker.state, "buffer_size": len(self._buf)})

    def close(self, timeout: float) -> None:
        """Stop the worker and make one bounded final attempt to deliver what is buffered."""
        deadline = time.monotonic() + max(0.0, timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._buf and time.monotonic() < deadline:
            self.drain(deadline=deadline, http_timeout=max(0.05, min(self.read_timeout, deadline - time.monotonic())))
        with self._lock:
            self.dropped_shutdown += len(self._buf)
            self._buf.clear()

    def stats(self) -> ShipperStats:
        mirrored = {name: getattr(self, name) for name in _STAT_ATTRIBUTES}
        return ShipperStats(name=self.name, buffer_size=len(self._buf), breaker_state=self.breaker.state,
                            breaker_opened=self.breaker.opened_count, **mirrored)


def classify_status(status: int) -> bool | None:
    """None if the HTTP status is success, else whether it is worth retrying (429 and 5xx are)."""
    if 200 <= status < 300:
        return None
    return status == 429 or status >= 500 or status == 408


class LokiShipper(BatchShipper[tuple[int, bytes]]):
    """Pushes JSON log lines with the Loki push protocol to ``push_url`` (one stream: ``labels``)."""

    name = "loki"

    def __init__(self, push_url: str, labels: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.push_url = push_url
        self.labels = dict(labels)
        self._poster = HttpPoster(push_url)  # http.client keep-alive: a fifth of requests' CPU per POST

    def send(self, batch: list[tuple[int, bytes]], timeout: float) -> None:
        body = orjson.dumps({"streams": [{
            "stream": self.labels,
            "values": [[str(ts), line.decode("utf-8", "replace")] for ts, line in batch],
        }]})
        try:
            resp = self._poster.post(body, timeout, _JSON, connect_timeout=min(self.connect_timeout, timeout))
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, broken answer
            # sent but unanswered (a hang, a reset after the request left): the store may keep this push
            raise ShipError(f"POST {self.push_url}: {type(exc).__name__}: {exc}", retryable=True,
                            ambiguous=self._poster.request_sent) from None
        retry = classify_status(resp.status)
        if retry is not None:
            text = resp.body[:200].decode("utf-8", "replace")
            raise ShipError(f"POST {self.push_url} -> {resp.status} {text!r}", retryable=retry)

    def close(self, timeout: float) -> None:
        super().close(timeout)
        self._poster.close()


class LokiSink:
    """Logger sink feeding a :class:`LokiShipper` (the line itself is the JSON log line)."""

    def __init__(self, shipper: LokiShipper) -> None:
        self.shipper = shipper

    def emit(self, line: bytes, record: Mapping[str, Any], event: Any) -> None:
        self.shipper.offer((event.time_ns, line))
