"""Numbered log lines: the sequence number each line carries, so what arrived can be compared with what was
sent (pure: records in, numbers out)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from obsconf.model import MISSING, LogRecord, get_field


def seq_of(fields: dict[str, Any] | None, seq_field: str) -> int | None:
    """The integer at the dotted ``seq_field`` of a line's fields; None when absent or not an integer."""
    value = get_field(fields, seq_field) if fields else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def seqs_seen(records: Iterable[LogRecord], seq_field: str) -> set[int]:
    """The integer ``seq_field`` values (dotted path) of ``records``: which numbered lines arrived."""
    return {seq for seq in (seq_of(rec.fields, seq_field) for rec in records) if seq is not None}


def global_seq(run: str, record: dict[str, Any], lines_per_request: int) -> int | None:
    """``i * lines_per_request + seq`` of a line (or PocketBase record) whose ``fields.tag`` is ``<run>-<i>``
    and whose ``fields.seq`` is below ``lines_per_request``; None for any other line."""
    if not isinstance(record.get("fields"), dict):
        return None
    tag, seq = get_field(record, "fields.tag"), seq_of(record, "fields.seq")
    prefix = f"{run}-"
    text = "" if tag is MISSING else str(tag)
    if not text.startswith(prefix) or seq is None or not 0 <= seq < lines_per_request:
        return None
    try:
        return int(text[len(prefix):]) * lines_per_request + seq
    except ValueError:
        return None
