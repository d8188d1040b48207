"""A circuit breaker: stop calling a failing backend for a while, then let one probe through.

States: ``closed`` (calls flow; consecutive failures are counted), ``open`` (calls are refused until
``reset_timeout`` has passed), ``half_open`` (one probe call is allowed; success closes, failure reopens).
The clock is injectable so the state machine is tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe breaker. Ask :meth:`allow` before a call and report it with :meth:`record`."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.opened_count = 0  # how many times the breaker tripped, for status endpoints

    @property
    def state(self) -> str:
        """The state now (an open breaker whose timeout passed reports ``half_open``)."""
        with self._lock:
            self._maybe_half_open()
            return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """True if a call may go out now. In ``half_open`` only one probe is let through at a time."""
        with self._lock:
            self._maybe_half_open()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def record(self, success: bool) -> None:
        """Report the outcome of a call that :meth:`allow` let through."""
        with self._lock:
            self._probe_out = False
            if success:
                self._failures = 0
                self._set(CLOSED)
                return
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                if self._state != OPEN:
                    self.opened_count += 1
                self._set(OPEN)

    def _maybe_half_open(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._set(HALF_OPEN)

    def _set(self, state: str) -> None:
        old, self._state = self._state, state
        if old != state and self._on_change is not None:
            self._on_change(old, state)
