"""Ships syncd's log entries to PocketBase's ``daemon_logs`` collection (seed 001) in batches.

Records carry the seed's fields: timestamp, level, message, target, module_path, file, line, fields,
daemon_id, session_id. Batches go through PocketBase's batch API (``POST /api/batch``, at most 100
requests per call; the stack enables it), authenticated as a superuser
(``POST /api/collections/_superusers/auth-with-password``, then ``Authorization: <token>``).
Records are validated before sending because PocketBase silently coerces bad values (``line: "abc"``
becomes 0) and one bad item rolls back the whole batch.

Idempotent: every record carries its own ``id`` (15 characters, made by the sink), so a batch resent after a
push that was sent but never answered (PocketBase hung, then resumed and stored it) cannot be stored twice:
before resending, the shipper asks which of its ids PocketBase already has and sends only the others; a
record refused as ``validation_not_unique`` on its id was stored before. Both count as ``deduplicated``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
import requests
import urllib3

from obsconf.reference.logs import LogEvent
from obsconf.reference.shipping import BatchShipper, ShipError, classify_status

PB_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID = re.compile(r"[a-z0-9]{15}")
PB_MAX_BATCH = 100  # PocketBase's default settings.batch.maxRequests

# The collection itself (seed 001's `daemon_logs`) is the service's own migration: profiles/syncd/migration.py.


def pb_timestamp(time_ns: int) -> str:
    """PocketBase's date format: ``2024-01-01 12:00:00.123Z``."""
    sec, frac = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec)) + f".{frac // 1_000_000:03d}Z"


def validate_record(rec: Mapping[str, Any]) -> str | None:
    """Why PocketBase would reject or silently mangle ``rec``, or None if it is fine."""
    if rec.get("level") not in PB_LEVELS:
        return f"level {rec.get('level')!r} is not one of {PB_LEVELS}"
    if not isinstance(rec.get("message"), str) or not rec["message"]:
        return "message must be a non-empty string"
    if not isinstance(rec.get("line"), int) or isinstance(rec.get("line"), bool):
        return f"line {rec.get('line')!r} must be an integer"
    for key in ("daemon_id", "session_id", "timestamp"):
        if not isinstance(rec.get(key), str) or not rec[key]:
            return f"{key} must be a non-empty string"
    if not isinstance(rec.get("fields"), dict):
        return "fields must be an object"
    if "id" in rec and not (isinstance(rec["id"], str) and _ID.fullmatch(rec["id"])):
        return f"id {rec.get('id')!r} must be 15 characters of a-z0-9"
    return None


class PocketBaseShipper(BatchShipper[dict[str, Any]]):
    """Batch shipper to ``<base_url>/api/batch`` for the ``collection`` records of seed 001."""

    name = "pocketbase"

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        collection: str = "daemon_logs",
        on_request: Callable[[str, str, float], None] | None = None,
        on_connection_error: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.email = email
        self._password = password
        self.collection = collection
        self.on_request = on_request
        self.on_connection_error = on_connection_error
        self._token = ""
        self._session = requests.Session()
        self._verify = False  # a push went unanswered: ask which records are stored before sending again

    def _call(self, method: str, path: str, body: Any, timeout: float, headers: dict[str, str]) -> requests.Response:
        start = time.perf_counter()
        status = "error"
        try:
            resp = self._session.request(method, self.base_url + path, data=orjson.dumps(body) if body is not None
                                         else None, timeout=(min(self.connect_timeout, timeout), timeout),
                                         headers={"Content-Type": "application/json", **headers})
            status = str(resp.status_code)
            return resp
        except (requests.ConnectionError, requests.Timeout) as exc:
            if self.on_connection_error is not None:
                self.on_connection_error()
            raise ShipError(f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}", retryable=True,
                            ambiguous=_maybe_sent(exc)) from None
        except requests.RequestException as exc:
            raise ShipError(f"{method} {self.base_url}{path}: {exc}", retryable=False) from None
        finally:
            if self.on_request is not None:
                self.on_request(method, status, time.perf_counter() - start)

    def _auth(self, timeout: float) -> str:
        if self._token:
            return self._token
        if not self.email:
            raise ShipError("PocketBase admin credentials are not set (OBSCONF_POCKETBASE_ADMIN=email:password)",
                            retryable=False)
        resp = self._call("POST", "/api/collections/_superusers/auth-with-password",
                          {"identity": self.email, "password": self._password}, timeout, {})
        if resp.status_code != 200:
            raise ShipError(f"PocketBase superuser login as {self.email} -> {resp.status_code} {resp.text[:200]!r}",
                            retryable=resp.status_code >= 500 or resp.status_code == 429)
        self._token = str(resp.json().get("token", ""))
        return self._token

    def unanswered(self, batch: list[dict[str, Any]]) -> None:
        self._verify = True  # records carry ids: ask PocketBase what it has instead of counting duplicates

    def send(self, batch: list[dict[str, Any]], timeout: float) -> None:
        """Send in chunks of 100; a chunk that PocketBase refuses for bad items is resent without them, and
        records it already has (after an unanswered push) are not sent again."""
        consumed = delivered = rejected = 0
        for start in range(0, len(batch), PB_MAX_BATCH):
            chunk = batch[start:start + PB_MAX_BATCH]
            try:
                pending, stored = self._unstored(chunk, timeout) if self._verify else (chunk, 0)
                bad, dup = self._send_all(pending, timeout)
            except ShipError as exc:
                raise ShipError(str(exc), retryable=exc.retryable, consumed=consumed, delivered=delivered,
                                rejected=rejected, ambiguous=exc.ambiguous) from None
            consumed += len(chunk)
            delivered += len(chunk) - bad
            rejected += bad
            self.deduplicated += stored + dup
        self._verify = False
        if rejected:
            raise ShipError(f"PocketBase refused {rejected} log records as invalid", retryable=False,
                            consumed=consumed, delivered=delivered, rejected=rejected)

    def _unstored(self, chunk: list[dict[str, Any]], timeout: float) -> tuple[list[dict[str, Any]], int]:
        """The records of ``chunk`` PocketBase does not have yet (asked by id), and how many it has."""
        ids = [str(rec["id"]) for rec in chunk if rec.get("id")]
        if not ids:
            return chunk, 0
        query = " || ".join(f"id = '{i}'" for i in ids)
        resp = self._call("GET", f"/api/collections/{self.collection}/records?" + urlencode(
            {"filter": f"({query})", "fields": "id", "perPage": len(ids), "skipTotal": 1}), None, timeout,
            {"Authorization": self._auth(timeout)})
        if resp.status_code != 200:
            raise ShipError(f"GET {self.base_url}/api/collections/{self.collection}/records (which ids are stored) "
                            f"-> {resp.status_code} {resp.text[:200]!r}", retryable=True, ambiguous=True)
        stored = {str(item.get("id")) for item in resp.json().get("items", [])}
        return [rec for rec in chunk if rec.get("id") not in stored], len(stored)

    def _send_all(self, chunk: list[dict[str, Any]], timeout: float) -> tuple[int, int]:
        """POST ``chunk`` until PocketBase takes what is left; returns (refused as invalid, already stored).
        PocketBase names one refused item per attempt (the transaction stops there), so a few rounds."""
        bad = dup = 0
        for _ in range(8):
            refused = self._send_chunk(chunk, timeout)
            if not refused:
                return bad, dup
            dup += sum(1 for stored in refused.values() if stored)
            bad += sum(1 for stored in refused.values() if not stored)
            chunk = [rec for i, rec in enumerate(chunk) if i not in refused]
        raise ShipError(f"PocketBase keeps refusing a batch ({bad} invalid records so far)", retryable=False)

    def _send_chunk(self, chunk: list[dict[str, Any]], timeout: float) -> dict[int, bool]:
        """POST one batch; returns the indexes PocketBase refused, each True when the record is already stored
        (its id exists). The rest of a refused batch was rolled back, not stored."""
        if not chunk:
            return {}
        url = f"/api/collections/{self.collection}/records"
        body = {"requests": [{"method": "POST", "url": url, "body": rec} for rec in chunk]}
        resp = self._call("POST", "/api/batch", body, timeout, {"Authorization": self._auth(timeout)})
        if resp.status_code in (401, 403):
            self._token = ""  # expired or revoked: log in again on the retry
            raise ShipError(f"POST /api/batch -> {resp.status_code} (token refused)", retryable=True)
        if resp.status_code == 400:
            refused = _refused(resp)
            if refused and (len(refused) < len(chunk) or all(refused.values())):
                return refused
            if not refused:
                # the transaction failed naming no request (a busy database, the batch timeout): PocketBase
                # rolled it back, so nothing is stored and nothing was judged invalid; send it again
                raise ShipError(f"POST {self.base_url}/api/batch -> 400 naming no record (rolled back) "
                                f"{resp.text[:300]!r}", retryable=True)
        retry = classify_status(resp.status_code)
        if retry is not None:
            raise ShipError(f"POST {self.base_url}/api/batch -> {resp.status_code} {resp.text[:300]!r}",
                            retryable=retry)
        return {}

    def close(self, timeout: float) -> None:
        super().close(timeout)
        self._session.close()


def _refused(resp: requests.Response) -> dict[int, bool]:
    """The items a 400 batch answer names (``data.requests.<i>``), each True when refused because a record
    with its id exists (``validation_not_unique`` on ``id``: stored by an earlier push)."""
    try:
        requests_data = resp.json().get("data", {}).get("requests", {})
        out = {}
        for i, item in requests_data.items():
            errors = (((item or {}).get("response") or {}).get("data") or {})
            out[int(i)] = (errors.get("id") or {}).get("code") == "validation_not_unique"
        return out
    except (ValueError, AttributeError, TypeError):
        return {}


def _maybe_sent(exc: requests.RequestException) -> bool:
    """False when the request certainly never left (refused, or no connection within the connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)


def record_id(rng: random.Random) -> str:
    """A PocketBase record id: 15 characters of ``a-z0-9`` (about 77 random bits)."""
    n = rng.getrandbits(78)
    out = []
    for _ in range(15):
        n, digit = divmod(n, 36)
        out.append(_ID_ALPHABET[digit])
    return "".join(out)


def source_file(path: str) -> str:
    """The source file of a log call relative to the package root, as Rust's ``file!()`` is to its crate: no
    absolute path of the machine in a record (seed 001 l.279, path normalization)."""
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.relpath(path, root) if path and os.path.isabs(path) else path


class PocketBaseSink:
    """Logger sink turning each syncd log event into a ``daemon_logs`` record."""

    def __init__(self, shipper: PocketBaseShipper, daemon_id: str, session_id: str) -> None:
        self.shipper = shipper
        self.daemon_id = daemon_id
        self.session_id = session_id
        self.invalid = 0  # records that failed validation and were not queued
        self._rng = random.Random()  # record ids: unique enough, and cheaper than uuid4

    def emit(self, line: bytes, record: Mapping[str, Any], event: LogEvent) -> None:
        fields = record.get("fields")
        fields = dict(fields) if isinstance(fields, Mapping) else {}
        if event.trace_id:
            fields.setdefault("trace_id", record.get("trace_id", event.trace_id))
            fields.setdefault("span_id", record.get("span_id", event.span_id))
        rec = {
            "id": record_id(self._rng),
            "timestamp": pb_timestamp(event.time_ns),
            "level": event.level,
            "message": str(record.get("message", event.message)) or "(empty)",
            "target": event.target,
            "module_path": event.target,
            "file": source_file(event.file),
            "line": int(event.line),
            "fields": fields,
            "daemon_id": self.daemon_id,
            "session_id": self.session_id,
        }
        # validated here, on the producer side, so a bad record never poisons a batch (one bad item rolls
        # back all 100) and the buffer only holds sendable records
        if validate_record(rec) is not None:
            self.invalid += 1
            return
        self.shipper.offer(rec)
