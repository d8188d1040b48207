"""The one polling loop: it stops when the data is complete, when it stops growing, or at the deadline."""

from __future__ import annotations

from obsconf.sequence import global_seq, seq_of
from obsconf.waiting import poll, settle


def test_poll_stops_as_soon_as_done() -> None:
    calls = iter(range(100))
    assert poll(lambda: next(calls), lambda n: n == 3, timeout=30, interval=0) == 3


def test_poll_stops_once_progress_settles_but_never_on_nothing() -> None:
    sizes = iter([0, 0, 0, 2, 2, 2, 2] + [2] * 10_000)
    got = poll(lambda: next(sizes), lambda _: False, timeout=30, interval=0.001, progress=lambda n: n, quiet=0.01)
    assert got == 2  # the zeros before the first arrival never end the wait


def test_poll_returns_the_last_value_at_the_deadline() -> None:
    assert poll(lambda: "partial", lambda _: False, timeout=0, interval=0) == "partial"


def test_settle_returns_the_last_count() -> None:
    counts = iter([1, 3, 5] + [5] * 10_000)
    assert settle(lambda: next(counts), timeout=30, quiet=0.01, interval=0.001) == 5


def test_sequence_numbers_are_integers_not_booleans() -> None:
    assert seq_of({"fields": {"seq": 4}}, "fields.seq") == 4
    assert seq_of({"fields": {"seq": True}}, "fields.seq") is None
    assert seq_of({}, "fields.seq") is None
    assert global_seq("r", {"fields": {"tag": "r-2", "seq": True}}, 10) is None
