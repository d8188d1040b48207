"""A log file that rotates daily or hourly and by size, compresses old files and keeps the newest N.

Seed 001: ``[telemetry.log_rotation] enabled, frequency = "daily" | "hourly", keep_files = 7,
max_size_mb = 100``, "automatic compression of old log files". Rotated files are named
``<file>.<period>[.<n>].gz`` (period ``YYYY-MM-DD`` or ``YYYY-MM-DD-HH``, UTC). The clock is injectable.
"""

from __future__ import annotations

import gzip
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FREQUENCIES = {"daily": 86400, "hourly": 3600, "never": 0}


def period_label(epoch: float, frequency: str) -> str:
    """The period a timestamp belongs to, as used in rotated file names."""
    fmt = "%Y-%m-%d-%H" if frequency == "hourly" else "%Y-%m-%d"
    return time.strftime(fmt, time.gmtime(epoch))


def next_boundary(epoch: float, frequency: str) -> float:
    """The first instant of the period after the one ``epoch`` is in (``inf`` when never rotating)."""
    step = FREQUENCIES[frequency]
    if not step:
        return float("inf")
    return (int(epoch) // step + 1) * step


class RotatingFile:
    """Append-only, thread-safe. ``write`` rotates first when the period changed or the size cap is hit."""

    def __init__(
        self,
        path: Path,
        *,
        frequency: str = "daily",
        keep_files: int = 7,
        max_size_mb: float = 100.0,
        compress: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if frequency not in FREQUENCIES:
            raise ValueError(f"log rotation frequency {frequency!r}: use one of {sorted(FREQUENCIES)}")
        if keep_files < 0:
            raise ValueError(f"keep_files must be >= 0, got {keep_files}")
        self.path = Path(path)
        self.frequency = frequency
        self.keep_files = keep_files
        self.max_bytes = int(max_size_mb * 1024 * 1024) if max_size_mb > 0 else 0
        self.compress = compress
        self._clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._size = self.path.stat().st_size
        now = clock()
        # an existing file belongs to the period of its last write
        started = self.path.stat().st_mtime if self._size else now
        self._period = period_label(started, frequency)
        self._boundary = next_boundary(started, frequency)
        self.rotations = 0

    def write(self, data: bytes) -> None:
        with self._lock:
            now = self._clock()
            if now >= self._boundary or (self.max_bytes and self._size and self._size + len(data) > self.max_bytes):
                self._rotate(now)
            self._fh.write(data)
            self._size += len(data)

    def flush(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()

    def rotated_files(self) -> list[Path]:
        """Rotated files of this log, oldest first."""
        return sorted(self.path.parent.glob(self.path.name + ".*"), key=_rotation_order)

    def _rotate(self, now: float) -> None:
        self._fh.close()
        if self._size:
            target = self._free_name(self._period)
            self.path.rename(target)
            if self.compress:
                with open(target, "rb") as src, gzip.open(str(target) + ".gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                target.unlink()
            self.rotations += 1
        self._fh = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._size = 0
        self._period = period_label(now, self.frequency)
        self._boundary = next_boundary(now, self.frequency)
        self._prune()

    def _free_name(self, period: str) -> Path:
        base = self.path.with_name(f"{self.path.name}.{period}")
        n = 0
        candidate = base
        while candidate.exists() or Path(str(candidate) + ".gz").exists():
            n += 1
            candidate = base.with_name(f"{base.name}.{n}")
        return candidate

    def _prune(self) -> None:
        files = self.rotated_files()
        for old in files[: max(0, len(files) - self.keep_files)]:
            old.unlink(missing_ok=True)


def _rotation_order(path: Path) -> tuple[str, int]:
    """Sort key: period label, then the size-rotation counter (``.gz`` ignored)."""
    name = path.name.removesuffix(".gz")
    parts = name.split(".")
    if parts[-1].isdigit():  # period labels contain "-", counters do not
        return parts[-2], int(parts[-1])
    return parts[-1], 0
