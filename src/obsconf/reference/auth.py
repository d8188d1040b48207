"""Bearer-token protection of observability endpoints (seed 002 "Access Control: Secure observability
endpoints", seed 001 "Optional authentication integration" for metrics), as a pure ASGI guard.

A path is protected when it equals a configured path or starts with a configured prefix ending in ``/``.
The request must carry ``Authorization: Bearer <token>``; the token is compared in constant time
(``hmac.compare_digest`` of SHA-256 digests, so neither content nor length leaks through timing). A refusal
is ``401 {"error": "unauthorized"}`` with ``WWW-Authenticate: Bearer``: the same answer for a missing, a
malformed and a wrong token, so it tells a caller nothing. Tokens come from the environment
(``OBSCONF_METRICS_AUTH_TOKEN`` for every profile's ``/metrics``, ``AURUM_OBSERVABILITY_TOKEN`` for aurum's
``/v1/observability/*``); an unset token leaves its paths open.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

Scope = dict[str, Any]
_UNAUTHORIZED = orjson.dumps({"error": "unauthorized"})


@dataclass(frozen=True)
class AuthRule:
    """``paths``: exact paths, or prefixes ending in ``/`` (``/v1/observability/``)."""

    token: str
    paths: tuple[str, ...]

    def covers(self, path: str) -> bool:
        return any(path == p or (p.endswith("/") and (path.startswith(p) or path == p[:-1])) for p in self.paths)


def bearer_token(headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    for key, val in headers:
        if key == b"authorization":
            scheme, _, token = val.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
            return None
    return None


def token_matches(given: bytes | None, expected: str) -> bool:
    """Constant-time comparison (digests first, so the length of the token does not leak either)."""
    if given is None:
        return False
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected.encode()).digest())


class BearerAuth:
    """``app.add_middleware(BearerAuth, rules=[AuthRule(token, paths), ...])``; rules without a token are
    dropped. A path covered by several rules accepts any of their tokens."""

    def __init__(self, app: Any, *, rules: Sequence[AuthRule]) -> None:
        self.app = app
        self.rules = tuple(r for r in rules if r.token)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.rules:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        wanted = [r.token for r in self.rules if r.covers(path)]
        if wanted:
            given = bearer_token(scope["headers"])
            # every token is compared (no early exit), so the time taken does not say which one was close
            ok = [token_matches(given, token) for token in wanted]
            if not any(ok):
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                    (b"www-authenticate", b'Bearer realm="obsconf"')]})
                await send({"type": "http.response.body", "body": _UNAUTHORIZED})
                return
        await self.app(scope, receive, send)
