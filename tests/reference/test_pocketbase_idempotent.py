"""PocketBase shipping is idempotent on a real PocketBase: records carry their own ids, a batch resent after
an unanswered push sends only what PocketBase does not have, and a record it already has is not stored
twice - each counted as deduplicated, not as refused."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator

import pytest
import requests

from obsconf.reference.pbship import PocketBaseShipper, pb_timestamp, record_id
from obsconf.reference.shipping import ShipError

pytestmark = [pytest.mark.slow, pytest.mark.stack]


@pytest.fixture(scope="module")
def stack() -> Iterator[object]:
    from obsconf.reference.profiles.syncd.migration import migrate_log_collection
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    s = start_stack(Settings.from_env(stack="process"), progress=lambda line: None)
    try:
        # the service migrates its own collection at start-up (the stack creates none); so does this test
        e = s.endpoints
        migrate_log_collection(e.pocketbase_url, e.pocketbase_admin_email, e.pocketbase_admin_password, "daemon_logs")
        yield s
    finally:
        s.stop()


def _records(daemon: str, n: int) -> list[dict[str, object]]:
    rng = random.Random(daemon)
    return [{"id": record_id(rng), "timestamp": pb_timestamp(1_700_000_000_000_000_000 + i), "level": "INFO",
             "message": f"line {i}", "target": "t", "module_path": "t", "file": "f.rs", "line": i, "fields": {"seq": i},
             "daemon_id": daemon, "session_id": "s"} for i in range(n)]


def _shipper(stack: object) -> PocketBaseShipper:
    e = stack.endpoints  # type: ignore[attr-defined]
    return PocketBaseShipper(e.pocketbase_url, e.pocketbase_admin_email, e.pocketbase_admin_password)


def _stored(stack: object, daemon: str) -> list[dict[str, object]]:
    return stack.pocketbase().records("daemon_logs", filter=f"daemon_id = '{daemon}'")  # type: ignore[attr-defined]


def test_a_batch_resent_after_an_unanswered_push_is_stored_once(stack: object) -> None:
    daemon = str(uuid.uuid4())
    batch = _records(daemon, 120)
    ship = _shipper(stack)
    ship.send(batch[:70], timeout=10)  # the push that "went unanswered": PocketBase stored it
    ship.unanswered(batch)  # what the retry loop calls after a timeout once the request was sent
    ship.send(batch, timeout=10)
    rows = _stored(stack, daemon)
    assert len(rows) == 120 and len({r["id"] for r in rows}) == 120
    assert ship.deduplicated == 70 and ship.duplicates_possible == 0


def test_a_record_pocketbase_already_has_is_refused_as_a_duplicate_and_not_counted_as_bad(stack: object) -> None:
    daemon = str(uuid.uuid4())
    batch = _records(daemon, 5)
    ship = _shipper(stack)
    ship.send(batch[:3], timeout=10)
    ship.send(batch, timeout=10)  # no verify: PocketBase answers validation_not_unique, one record at a time
    assert len(_stored(stack, daemon)) == 5
    assert ship.deduplicated == 3 and ship.dropped_rejected == 0


def test_records_are_read_by_a_json_field_among_other_writers(stack: object) -> None:
    # the fault runner reads a scenario's records by trace id while other instances write the same collection
    daemon = str(uuid.uuid4())
    batch = _records(daemon, 90)
    for i, rec in enumerate(batch):
        rec["fields"] = {"seq": i, "trace_id": f"{i % 45:032x}" if i < 60 else uuid.uuid4().hex}
    _shipper(stack).send(batch, timeout=10)
    wanted = {f"{i:032x}" for i in range(45)}  # 60 records carry these (15 of them twice)
    found = stack.pocketbase().records_matching("daemon_logs", "fields.trace_id", wanted)  # type: ignore[attr-defined]
    assert sorted(r["fields"]["trace_id"] for r in found) == sorted(str(r["fields"]["trace_id"]) for r in batch[:60])
    with pytest.raises(ValueError, match="not a plain token"):
        stack.pocketbase().records_matching("daemon_logs", "fields.trace_id", ["x' || 1=1 || '"])  # type: ignore[attr-defined]


class _Answers(PocketBaseShipper):
    """The shipper with PocketBase's answers to /api/batch given, to see how it classifies each one."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__("http://127.0.0.1:9", "admin@example.com", "pw")
        self.answer = requests.Response()
        self.answer.status_code, self.answer._content = status, json.dumps(body).encode()

    def _auth(self, timeout: float) -> str:
        return "token"

    def _call(self, method: str, path: str, body: object, timeout: float, headers: dict[str, str]) -> requests.Response:
        return self.answer


def test_a_batch_that_fails_naming_no_record_is_sent_again_not_dropped() -> None:
    # seen under four services writing at once: PocketBase rolled the transaction back (busy database or
    # the batch timeout) and named no record, so nothing was stored and nothing is invalid
    ship = _Answers(400, {"status": 400, "message": "Batch transaction failed.", "data": {}})
    with pytest.raises(ShipError) as failed:
        ship.send(_records("d", 3), timeout=1)
    assert failed.value.retryable and failed.value.rejected == 0


def test_a_batch_that_names_every_record_invalid_is_not_sent_again() -> None:
    invalid = {"code": "batch_request_failed", "response": {"data": {"level": {"code": "validation_invalid"}}}}
    ship = _Answers(400, {"message": "Batch transaction failed.", "data": {"requests": {"0": invalid}}})
    with pytest.raises(ShipError) as failed:
        ship.send(_records("d", 1), timeout=1)
    assert not failed.value.retryable
