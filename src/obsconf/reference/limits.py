"""Pure ASGI guard that refuses oversized requests with a 4xx before a handler sees them.

uvicorn with httptools accepts a 2 MB header and any number of headers, and nothing bounds a body, so a
client could make the service hold, log and trace arbitrarily large input. Limits (env, see
:mod:`obsconf.reference.config`): header block ``OBSCONF_MAX_HEADER_BYTES`` (16 KiB) -> 431, target (path
and query) ``OBSCONF_MAX_URL_BYTES`` (8 KiB) -> 414, body ``OBSCONF_MAX_BODY_BYTES`` (4 MiB) -> 413. A
chunked body is read up to the limit first and replayed to the app, so it is refused the same way.

It runs inside the telemetry middleware: a refused request still gets its span, RED metrics and access line.
"""

from __future__ import annotations

from typing import Any

import orjson

Scope = dict[str, Any]
MAX_HEADERS = 100  # header fields per request


def _refuse(status: int, error: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = orjson.dumps({"error": error})
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class InputLimits:
    """``app.add_middleware(InputLimits, max_header_bytes=..., max_url_bytes=..., max_body_bytes=...)``."""

    def __init__(self, app: Any, *, max_header_bytes: int, max_url_bytes: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_url_bytes = max_url_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        size = 0
        length: int | None = None
        for key, val in headers:
            size += len(key) + len(val) + 4
            if key == b"content-length":
                try:
                    length = int(val)
                except ValueError:
                    length = None
        refusal = None
        if size > self.max_header_bytes or len(headers) > MAX_HEADERS:
            refusal = _refuse(431, "request header fields too large")
        elif len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > self.max_url_bytes:
            refusal = _refuse(414, "URI too long")
        elif length is not None and length > self.max_body_bytes:
            refusal = _refuse(413, "request body too large")
        if refusal is None and length is None and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            receive, refusal = await self._buffer(receive)
        if refusal is not None:
            for message in refusal:
                await send(message)
            return
        await self.app(scope, receive, send)

    async def _buffer(self, receive: Any) -> tuple[Any, tuple[dict[str, Any], dict[str, Any]] | None]:
        """Read a body of unknown length (chunked) up to the limit; replay it to the app if it fits."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks = []
                break  # the client went away: let the app see the disconnect
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                return receive, _refuse(413, "request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> dict[str, Any]:
            if replay:
                return replay.pop()
            return await receive()

        return replayed, None
