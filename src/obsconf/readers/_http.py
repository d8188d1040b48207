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


def log_file_of(stack: Any, backend: str) -> Path | None:
    """The log file the stack keeps for ``backend`` (its ``log_files`` keys start with the backend's name:
    ``logs (victoria-logs)``), or None (container and external stacks keep none)."""
    files = getattr(stack, "log_files", None) or {}
    for name, path in files.items():
        if name == backend or name.startswith(backend + " "):
            return Path(path)
    return None
