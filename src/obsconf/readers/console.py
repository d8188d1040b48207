"""A service's console output (the stdout file obsconf captured) -> :class:`~obsconf.model.LogRecord`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from obsconf.model import LogRecord


def console_records(lines: Iterable[str], *, source: str = "stdout") -> list[LogRecord]:
    """One record per non-empty line; ``fields`` is the parsed JSON object ({} for a line that is not one)."""
    now = time.time_ns()
    out = []
    for line in lines:
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = {}
        out.append(LogRecord(now, line, parsed if isinstance(parsed, dict) else {}, {}, source=source))
    return out
