"""Exponential backoff schedules, deterministic unless jitter is asked for.

Used by the S3 retry loop (persist), the Loki shipper and the PocketBase shipper, so one schedule
describes every retry the reference service makes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry ``n`` (1-based) is ``min(max_delay, base * factor ** (n - 1))``.

    ``jitter`` in [0, 1] spreads each delay uniformly over ``[d * (1 - jitter), d]`` ("equal jitter"),
    so clients that failed together do not retry together. ``max_retries`` retries follow the first try.
    """

    base: float = 0.1
    factor: float = 2.0
    max_delay: float = 5.0
    max_retries: int = 3
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.base < 0 or self.factor < 1 or self.max_delay < 0 or self.max_retries < 0:
            raise ValueError(
                f"Backoff(base={self.base}, factor={self.factor}, max_delay={self.max_delay}, "
                f"max_retries={self.max_retries}): base/max_delay must be >= 0, factor >= 1, max_retries >= 0"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Backoff jitter={self.jitter} must be within [0, 1]")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        raw = min(self.max_delay, self.base * self.factor ** (retry - 1))
        if self.jitter and rng is not None:
            return raw * (1.0 - self.jitter * rng.random())
        return raw

    def schedule(self, rng: random.Random | None = None) -> list[float]:
        """Every delay, in order: one per allowed retry."""
        return [self.delay(n, rng) for n in range(1, self.max_retries + 1)]
