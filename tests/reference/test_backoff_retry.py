"""Backoff schedule and the retry loop built on it."""

import random

import pytest

from obsconf.reference.backoff import Backoff
from obsconf.reference.retry import run_with_retries


def test_schedule_doubles_and_caps():
    assert Backoff(base=0.1, factor=2, max_delay=0.5, max_retries=5).schedule() == pytest.approx(
        [0.1, 0.2, 0.4, 0.5, 0.5])


def test_seed_default_three_retries():
    assert len(Backoff().schedule()) == 3


def test_jitter_stays_within_band_and_is_seeded():
    b = Backoff(base=1.0, factor=2, max_delay=100, max_retries=4, jitter=0.5)
    one = b.schedule(random.Random(7))
    assert one == b.schedule(random.Random(7))
    for got, raw in zip(one, [1, 2, 4, 8], strict=True):
        assert raw * 0.5 <= got <= raw


@pytest.mark.parametrize("kwargs", [{"base": -1}, {"factor": 0.5}, {"max_retries": -1}, {"jitter": 2}])
def test_invalid_parameters_refused(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_delay_numbers_start_at_one():
    with pytest.raises(ValueError):
        Backoff().delay(0)


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


def _flaky(failures, exc=Transient):
    calls = []

    def call(attempt):
        calls.append(attempt)
        if len(calls) <= failures:
            raise exc(f"fail {len(calls)}")
        return "ok"

    return call, calls


def test_retries_transient_errors_then_succeeds():
    call, calls = _flaky(2)
    slept, retried = [], []
    out = run_with_retries(call, backoff=Backoff(base=0.1, max_retries=3), transient=lambda e: isinstance(e, Transient),
                           on_retry=lambda n, e, d: retried.append((n, d)), sleep=slept.append)
    assert out.ok and out.value == "ok" and out.retries == 2
    assert calls == [0, 1, 2]
    assert retried == [(1, pytest.approx(0.1)), (2, pytest.approx(0.2))]
    assert slept == pytest.approx([0.1, 0.2])


def test_gives_up_after_max_retries():
    call, calls = _flaky(10)
    out = run_with_retries(call, backoff=Backoff(max_retries=3), transient=lambda e: True, sleep=lambda d: None)
    assert not out.ok and isinstance(out.error, Transient) and out.retries == 3 and len(calls) == 4


def test_permanent_error_is_not_retried():
    call, calls = _flaky(1, Permanent)
    out = run_with_retries(call, backoff=Backoff(), transient=lambda e: isinstance(e, Transient), sleep=lambda d: None)
    assert isinstance(out.error, Permanent) and out.retries == 0 and len(calls) == 1


def test_errors_outside_catch_propagate():
    def call(attempt):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_with_retries(call, backoff=Backoff(), transient=lambda e: True, catch=(Transient,))
