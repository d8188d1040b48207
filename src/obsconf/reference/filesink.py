"""Logger sink writing JSON lines to a :class:`~obsconf.reference.rotation.RotatingFile`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obsconf.reference.rotation import RotatingFile


class FileSink:
    def __init__(self, file: RotatingFile) -> None:
        self.file = file
        self.errors = 0

    def emit(self, line: bytes, record: Mapping[str, Any], event: Any) -> None:
        try:
            self.file.write(line + b"\n")
        except OSError:
            self.errors += 1  # disk full or removed directory: counted, never raised into a request

    def flush(self) -> None:
        try:
            self.file.flush()
        except OSError:
            self.errors += 1

    def close(self, timeout: float = 0.0) -> None:
        self.file.close()
