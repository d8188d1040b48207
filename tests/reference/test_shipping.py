"""Batch shipper mechanics without a network: overflow accounting, retries, breaker, rejection, close."""

from obsconf.reference.backoff import Backoff
from obsconf.reference.breaker import CircuitBreaker
from obsconf.reference.shipping import BatchShipper, ShipError, classify_status


class Scripted(BatchShipper):
    """Fails according to ``script`` (a list of ShipError or None per send call), records what it got."""

    name = "test"

    def __init__(self, script=(), **kwargs):
        kwargs.setdefault("backoff", Backoff(base=0.0, max_retries=2))
        kwargs.setdefault("breaker", CircuitBreaker(failure_threshold=2, reset_timeout=3600))
        super().__init__(**kwargs)
        self.script = list(script)
        self.sent = []

    def send(self, batch, timeout):
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(list(batch))


def test_overflow_drops_oldest_and_counts_exactly():
    s = Scripted(buffer_max=5, batch_size=100)
    for i in range(12):
        s.offer(i)
    st = s.stats()
    assert st.buffer_size == 5 and st.dropped_overflow == 7 and st.offered == 12
    s.drain(deadline=None)
    assert s.sent == [[7, 8, 9, 10, 11]]
    assert s.stats().shipped == 5


def test_batches_are_cut_at_batch_size():
    s = Scripted(batch_size=3)
    for i in range(7):
        s.offer(i)
    assert s.drain(deadline=None)
    assert s.sent == [[0, 1, 2], [3, 4, 5], [6]]
    assert s.stats().batches == 3


def test_transient_failure_is_retried_then_delivered():
    s = Scripted(script=[ShipError("503", retryable=True)], batch_size=10)
    for i in range(3):
        s.offer(i)
    assert s.drain(deadline=None)
    st = s.stats()
    assert s.sent == [[0, 1, 2]] and st.retries == 1 and st.send_errors == 1 and st.shipped == 3


def test_exhausted_retries_put_batch_back_and_count_breaker_failure():
    s = Scripted(script=[ShipError("down", retryable=True)] * 3, batch_size=10)
    for i in range(3):
        s.offer(i)
    assert not s.drain(deadline=None)
    st = s.stats()
    assert st.buffer_size == 3 and st.shipped == 0 and st.send_errors == 3 and st.breaker_state == "closed"
    assert s.breaker.consecutive_failures == 1


def test_open_breaker_stops_sending_and_buffer_keeps_growing():
    s = Scripted(script=[ShipError("down", retryable=True)] * 6, batch_size=10, buffer_max=4)
    s.offer("a")
    s.drain(deadline=None)
    s.drain(deadline=None)
    assert s.stats().breaker_state == "open"
    calls_before = len(s.script)
    for i in range(6):
        s.offer(i)
    assert not s.drain(deadline=None)
    assert len(s.script) == calls_before  # no send attempted while open
    st = s.stats()
    assert st.buffer_size == 4 and st.dropped_overflow == 3  # "a" + 6 offered, cap 4


def test_put_back_respects_cap():
    s = Scripted(script=[ShipError("down", retryable=True)] * 3, batch_size=3, buffer_max=4)
    for i in range(3):
        s.offer(i)
    batch = s._take()
    for i in range(3, 6):
        s.offer(i)
    s._put_back(batch)
    st = s.stats()
    assert st.buffer_size == 4 and st.dropped_overflow == 2
    assert list(s._buf) == [2, 3, 4, 5]  # the newest of the unsent batch survives, in order


def test_non_retryable_error_drops_the_batch_as_rejected():
    s = Scripted(script=[ShipError("400 bad", retryable=False)], batch_size=10)
    for i in range(4):
        s.offer(i)
    assert s.drain(deadline=None)
    st = s.stats()
    assert st.dropped_rejected == 4 and st.shipped == 0 and st.buffer_size == 0 and st.breaker_state == "closed"


def test_partial_delivery_is_accounted_and_rest_retried():
    s = Scripted(script=[ShipError("conn reset", retryable=True, consumed=2, delivered=1, rejected=1)],
                 batch_size=10)
    for i in range(5):
        s.offer(i)
    assert s.drain(deadline=None)
    st = s.stats()
    assert s.sent == [[2, 3, 4]] and st.shipped == 4 and st.dropped_rejected == 1


def test_close_flushes_once_and_counts_leftovers():
    s = Scripted(script=[ShipError("down", retryable=True)] * 10, batch_size=10)
    for i in range(5):
        s.offer(i)
    s.close(timeout=0.5)
    st = s.stats()
    assert st.buffer_size == 0 and st.dropped_shutdown == 5 and st.shipped == 0


def test_close_delivers_when_backend_is_up():
    s = Scripted(batch_size=2)
    for i in range(5):
        s.offer(i)
    s.close(timeout=1.0)
    assert s.stats().shipped == 5 and s.stats().dropped_shutdown == 0


def test_classify_status():
    assert classify_status(204) is None
    assert classify_status(429) is True and classify_status(503) is True
    assert classify_status(400) is False and classify_status(401) is False


def test_full_only_drain_leaves_partial_batch_for_the_timer():
    s = Scripted(batch_size=3)
    for i in range(7):
        s.offer(i)
    assert s.drain(deadline=None, full_only=True)
    assert s.sent == [[0, 1, 2], [3, 4, 5]] and s.stats().buffer_size == 1


def test_on_retry_is_told_each_retry_number_and_delay_before_sleeping():
    seen = []
    err = ShipError("down", retryable=True)
    s = Scripted(script=[err, err, err], backoff=Backoff(base=0.0, max_retries=2),
                 on_retry=lambda n, top, delay, exc: seen.append((n, top, delay, str(exc))))
    s.offer(1)
    assert not s.drain(deadline=None)  # 1 try + 2 retries, all failed: the batch goes back
    assert seen == [(1, 2, 0.0, "down"), (2, 2, 0.0, "down")]
