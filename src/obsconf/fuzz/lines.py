"""Log injection, as a pure check: whatever a client sent, the log is one well-formed JSON object per line.

A line store (stdout, a file, Loki) splits on ``\\n``; readers in Python also split on U+2028, U+2029, NEL
and a few control characters (``str.splitlines``). A value that brings any of them raw into a line either
breaks the line into fragments that are not JSON, or - worse - lets a client forge a whole line of its own
(``"\\n{\\"level\\":\\"ERROR\\",...}"``). The check also bounds every string value, so a 1 MB header or body
field cannot make a 1 MB line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

#: A top-level key that only a forged line has: the hostile inputs carry ``{"obsconf_forged": ...}`` inside
#: string values, where a correct logger escapes it.
FORGED_KEY = "obsconf_forged"
FORGED_PAYLOAD = '"}\n{"obsconf_forged":"yes","level":"ERROR","message":"forged line"}\n{"x":"'


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def check_lines(raw: bytes, *, max_value: int, markers: Sequence[str] = (), where: str = "stdout") -> list[str]:
    """Problems with ``raw`` (a log stream): a line that is not UTF-8 or not one JSON object, a line that
    another reader would split, a forged line, a string value longer than ``max_value`` characters (plus
    room for a truncation note), or a ``marker`` (one per event sent) that appears in no line."""
    problems: list[str] = []
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    seen = dict.fromkeys(markers, 0)
    for n, chunk in enumerate(chunks, 1):
        excerpt = chunk[:120].decode("utf-8", "replace")
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{where} line {n} is not UTF-8 ({exc.reason}): {excerpt!r}")
            continue
        if len(text.splitlines()) != 1:
            problems.append(f"{where} line {n} holds a raw line separator (CR, U+2028, U+2029, NEL or a control "
                            f"character) that readers split on: {excerpt!r}")
        try:
            record = json.loads(text)
        except ValueError as exc:
            problems.append(f"{where} line {n} is not JSON ({exc}): {excerpt!r}")
            continue
        if not isinstance(record, dict):
            problems.append(f"{where} line {n} is JSON but not an object: {excerpt!r}")
            continue
        if FORGED_KEY in record:
            problems.append(f"{where} line {n} was forged by a client: {excerpt!r}")
        longest = max((len(s) for s in _strings(record)), default=0)
        if longest > max_value + 64:
            problems.append(f"{where} line {n} has a string value of {longest} characters; values must be bounded "
                            f"(at most {max_value})")
        for marker in seen:
            if marker in text:
                seen[marker] += 1
    missing = [m for m, count in seen.items() if count == 0]
    if missing:
        problems.append(f"{where}: {len(missing)} event(s) left no line at all (markers {missing[:5]})")
    return problems


def forged_lines(raw: bytes) -> int:
    """How many lines of ``raw`` carry the forged key at top level (for reports)."""
    count = 0
    for chunk in raw.split(b"\n"):
        try:
            record = json.loads(chunk)
        except ValueError:
            continue
        count += isinstance(record, dict) and FORGED_KEY in record
    return count
