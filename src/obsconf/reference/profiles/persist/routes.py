"""persist's HTTP routes: save, load and verify a snapshot by key, with the key and ids checked first and
a storage failure answered as the persist binding would raise it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from obsconf.reference.profiles.base import json_response
from obsconf.reference.profiles.persist.store import StoreError, http_status_for

if TYPE_CHECKING:
    from obsconf.reference.profiles.persist.profile import PersistProfile

_MAX_ID_CHARS = 256


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a snapshot (S3 keys are at most 1024 bytes; a file system takes no NUL,
    no control characters, no ``.``/``..`` component and at most 255 bytes per component), or None."""
    if not key or len(key.encode()) > 1024:
        return "a snapshot key is 1 to 1024 bytes"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        return "a snapshot key holds no control characters"
    parts = key.split("/")
    if any(part in ("", ".", "..") or len(part.encode()) > 255 for part in parts):
        return "a snapshot key has no empty, '.' or '..' segment and at most 255 bytes per segment"
    return None


def _bad_request(message: str) -> Response:
    return json_response({"error": message, "error_type": "ValueError"}, 400)


def _error_response(exc: StoreError) -> Response:
    status, kind = http_status_for(exc.code)
    return json_response({"error": str(exc), "error_type": kind, "code": exc.code}, status=status)


def _answer(key: str, operation: Callable[[str], dict[str, Any]]) -> Response:
    """``operation(key)`` as a JSON answer: 400 for a bad key, the binding's status for a storage failure."""
    problem = key_problem(key)
    if problem is not None:
        return _bad_request(problem)
    try:
        return json_response(operation(key))
    except StoreError as exc:
        return _error_response(exc)


def _ids(state: Any, agent_id: str | None, session_id: str | None) -> tuple[Any, Any]:
    """The agent and session ids: from the query, else the body, else the body's ``metadata``, else "unknown"."""
    meta = state.get("metadata") if isinstance(state, dict) and isinstance(state.get("metadata"), dict) else {}
    from_body = state if isinstance(state, dict) else {}
    aid = agent_id or from_body.get("agent_id") or meta.get("agent_id") or "unknown"
    sid = session_id or from_body.get("session_id") or meta.get("session_id") or "unknown"
    return aid, sid


def _ids_problem(aid: Any, sid: Any) -> str | None:
    if not isinstance(aid, str) or not isinstance(sid, str):  # str() would log an object's repr
        return "agent_id and session_id must be strings"
    if any(len(v) > _MAX_ID_CHARS or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v) for v in (aid, sid)):
        return "agent_id and session_id are at most 256 characters, without control characters"
    return None


def add_routes(router: APIRouter, profile: PersistProfile) -> None:
    """``POST /snapshots/{key}/verify``, ``POST /snapshots/{key}`` (save) and ``GET /snapshots/{key}`` (load)."""

    # verify first: "/snapshots/a/b/verify" must not be taken for a save of key "a/b/verify"
    @router.post("/snapshots/{key:path}/verify")
    def verify(key: str) -> Response:
        return _answer(key, profile.verify)

    @router.post("/snapshots/{key:path}")
    async def save(key: str, request: Request, agent_id: str | None = Query(None),
                   session_id: str | None = Query(None)) -> Response:
        problem = key_problem(key)
        if problem is not None:
            return _bad_request(problem)
        body = await request.body()
        try:
            state = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            return _bad_request(f"body is not JSON: {exc}")
        aid, sid = _ids(state, agent_id, session_id)
        problem = _ids_problem(aid, sid)
        if problem is not None:
            return _bad_request(problem)
        import anyio.to_thread

        try:
            result = await anyio.to_thread.run_sync(profile.save, key, state, str(aid), str(sid))
        except StoreError as exc:
            return _error_response(exc)
        return json_response(result, status=201)

    @router.get("/snapshots/{key:path}")
    def load(key: str) -> Response:
        return _answer(key, profile.load)
