"""A keep-alive HTTP POST client on ``http.client``: about 100 us of CPU per request where ``requests``
costs about 500 us, which matters for a shipper that posts ten batches a second at 1000 requests/s.

One connection, used by one thread at a time (the shipper's worker or its final flush, which
:class:`~obsconf.reference.shipping.BatchShipper` serialises). An idle connection the server has
closed is noticed before reuse, and a reused connection that breaks before any answer is retried once
on a fresh one (what ``requests`` does with its pool); every other failure is the caller's to handle.
"""

from __future__ import annotations

import http.client
import select
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

#: failures that mean "the connection was stale", not "the server is down"
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)


@dataclass(frozen=True)
class PostResult:
    """The answer to one POST."""

    status: int
    body: bytes


class HttpPoster:
    """``HttpPoster("http://127.0.0.1:9428/insert/loki/api/v1/push").post(body, timeout, headers)``.

    Raises ``OSError`` (refused, reset, timed out) or ``http.client.HTTPException`` (a broken answer) when
    no answer arrives; ``ValueError`` at construction for a URL that is not http(s).
    """

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r}: expected an http:// or https:// URL with a host")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn: http.client.HTTPConnection | None = None
        #: whether the last :meth:`post` handed its whole request to the socket (a failure after that may
        #: still have reached the server: the caller cannot know whether it was processed)
        self.request_sent = False

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                readable, _, _ = select.select([conn.sock], [], [], 0)
            except (OSError, ValueError):
                readable = [conn.sock]
            if not readable:  # an idle keep-alive socket that is readable has been closed by the server
                conn.sock.settimeout(timeout)
                return conn, True
            self.close()
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        self._conn = cls(self._host, self._port, timeout=timeout)
        return self._conn, False

    def post(self, body: bytes, timeout: float, headers: Mapping[str, str], *,
             connect_timeout: float | None = None) -> PostResult:
        """POST ``body``; the response is read whole (the connection is then ready for the next POST).
        ``connect_timeout`` (default ``timeout``) bounds connecting, ``timeout`` the wait for the answer."""
        connect = timeout if connect_timeout is None else connect_timeout
        conn, reused = self._connection(connect)
        try:
            return self._exchange(conn, body, headers, timeout)
        except _STALE:
            if not reused:
                raise
        # the server dropped the idle connection just as we reused it: once more, on a fresh one
        conn, _ = self._connection(connect)
        return self._exchange(conn, body, headers, timeout)

    def _exchange(self, conn: http.client.HTTPConnection, body: bytes, headers: Mapping[str, str],
                  timeout: float) -> PostResult:
        self.request_sent = False
        try:
            if conn.sock is None:
                conn.connect()  # under the connect timeout the connection was made with
            conn.sock.settimeout(timeout)
            conn.request("POST", self._target, body=body, headers=dict(headers))
            self.request_sent = True
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.will_close:
            self.close()
        return PostResult(resp.status, data)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
