"""Circuit breaker state machine and the metrics rate limiter, on a fake clock."""

from obsconf.reference.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from obsconf.reference.ratelimit import TokenBucket


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_opens_after_threshold_consecutive_failures():
    clock = Clock()
    b = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.record(False)
    assert b.state == CLOSED
    b.record(False)
    assert b.state == OPEN and not b.allow() and b.opened_count == 1


def test_success_resets_failure_count():
    b = CircuitBreaker(failure_threshold=2, clock=Clock())
    b.record(False)
    b.record(True)
    b.record(False)
    assert b.state == CLOSED


def test_half_open_lets_one_probe_through_and_closes_on_success():
    clock = Clock()
    changes = []
    b = CircuitBreaker(failure_threshold=1, reset_timeout=5, clock=clock, on_change=lambda o, n: changes.append(n))
    b.record(False)
    clock.now += 4.9
    assert not b.allow()
    clock.now += 0.2
    assert b.state == HALF_OPEN
    assert b.allow()
    assert not b.allow()  # only one probe at a time
    b.record(True)
    assert b.state == CLOSED and b.allow()
    assert changes == [OPEN, HALF_OPEN, CLOSED]


def test_half_open_failure_reopens_and_restarts_timer():
    clock = Clock()
    b = CircuitBreaker(failure_threshold=5, reset_timeout=5, clock=clock)
    for _ in range(5):
        b.record(False)
    clock.now += 5
    assert b.allow()
    b.record(False)
    assert b.state == OPEN
    clock.now += 4
    assert b.state == OPEN
    clock.now += 1
    assert b.state == HALF_OPEN


def test_token_bucket_burst_then_refill():
    clock = Clock()
    tb = TokenBucket(rate=2, burst=3, clock=clock)
    assert [tb.allow() for _ in range(4)] == [True, True, True, False]
    assert tb.refused == 1
    clock.now += 0.5
    assert tb.allow() and not tb.allow()


def test_token_bucket_zero_rate_is_unlimited():
    tb = TokenBucket(rate=0, burst=1)
    assert all(tb.allow() for _ in range(100))
