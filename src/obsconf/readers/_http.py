"""One place that turns a backend going away mid-run into :class:`~obsconf.errors.BackendUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import BackendUnavailable

#: transport failures (the backend is gone, or hangs); HTTP error statuses are the readers' own business
UNAVAILABLE = (requests.ConnectionError, requests.Timeout)


@contextmanager
def answering(backend: str, url: str, log_file: Path | None) -> Iterator[None]:
    """``with answering("Jaeger", url, log):`` - a refused, reset or timed-out request raises
    BackendUnavailable naming the backend, the URL and its log file."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise BackendUnavailable(backend, url, exc, log_file) from None


class HttpReader:
    """A session to one backend's HTTP API. A transport failure names the backend (``backend``), the URL and
    the backend's log file."""

    backend = "the backend"

    def __init__(self, url: str, *, timeout: float = 10.0, log_file: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.log_file = log_file  # named when the backend stops answering
        self._session = requests.Session()

    def _fetch(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET ``path`` (below the base URL), whatever HTTP status it answers."""
        with answering(self.backend, f"{self.url}{path}", self.log_file):
            return self._session.get(f"{self.url}{path}", params=params, timeout=self.timeout)


def log_file_of(stack: Any, backend: str) -> Path | None:
    """The log file the stack keeps for ``backend`` (its ``log_files`` keys start with the backend's name:
    ``logs (victoria-logs)``), or None (container and external stacks keep none)."""
    files = getattr(stack, "log_files", None) or {}
    for name, path in files.items():
        if name == backend or name.startswith(backend + " "):
            return Path(path)
    return None
