"""A retry loop with exponential backoff that reports every attempt (used by persist's S3 calls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from obsconf.reference.backoff import Backoff

T = TypeVar("T")


@dataclass
class RetryOutcome(Generic[T]):
    """What happened: the value (if any), the last error (if any) and how many retries were made."""

    value: T | None
    error: BaseException | None
    retries: int

    @property
    def ok(self) -> bool:
        return self.error is None


def run_with_retries(
    call: Callable[[int], T],
    *,
    backoff: Backoff,
    transient: Callable[[BaseException], bool],
    on_retry: Callable[[int, BaseException, float], None] = lambda attempt, exc, delay: None,
    sleep: Callable[[float], None] = time.sleep,
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> RetryOutcome[T]:
    """Call ``call(attempt)`` (attempt 0 is the first try) until it succeeds, fails permanently, or
    ``backoff.max_retries`` retries are used up. ``on_retry(retry_attempt, error, delay)`` runs before
    each retry's sleep. Errors outside ``catch`` propagate (control flow is not telemetry's business).
    """
    retries = 0
    while True:
        try:
            return RetryOutcome(call(retries), None, retries)
        except catch as exc:
            if not transient(exc) or retries >= backoff.max_retries:
                return RetryOutcome(None, exc, retries)
            retries += 1
            delay = backoff.delay(retries)
            on_retry(retries, exc, delay)
            sleep(delay)
