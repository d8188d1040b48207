"""Helpers shared by the pure checks: problem grouping, value-type tests, short examples for messages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterator
from typing import Any

from obsconf.model import Finding

__all__ = ["ProblemGroups", "clip", "describe", "mask", "no_log_lines", "trace_link"]


class ProblemGroups:
    """Lines grouped by problem: how many lines had each problem, and the first of them with the value to
    show, so one finding covers every line with the same problem and a run over thousands stays readable."""

    def __init__(self) -> None:
        self._count: Counter[Hashable] = Counter()
        self._first: dict[Hashable, tuple[str, Any]] = {}

    def add(self, key: Hashable, line: str, shown: Any) -> None:
        self._count[key] += 1
        self._first.setdefault(key, (line, shown))

    def __iter__(self) -> Iterator[tuple[Any, int, str, Any]]:
        """(key, how many lines, first line, its shown value) per problem, in the order first seen."""
        for key, count in self._count.items():
            line, shown = self._first[key]
            yield key, count, line, shown


def no_log_lines(check: str, where: str, what: str, query: str, link: str) -> Finding:
    """The finding for a log check that got no line at all: nothing checked is not a pass."""
    return Finding(
        check=check,
        where=where,
        message=f"no log line arrived, so {what} could not be checked: does the service push its log lines to "
        "LOKI_PUSH_URL (or write them to stdout, with logs.source: console), with the stream labels of "
        "logs.stream, and did the workload run?",
        expected="at least one log line",
        actual="0 lines",
        query=query,
        link=link,
    )


def trace_link(trace_url: str, trace_id: str) -> str:
    """``trace_url`` (a template with ``{trace_id}``) for one trace, or "" without a template or an id."""
    return trace_url.format(trace_id=trace_id) if trace_url and trace_id else ""


def describe(value: Any) -> str:
    """``'abc' (string)`` - the value and its JSON type, for expected/actual lines."""
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        dict: "object",
        list: "array",
        tuple: "array",
    }.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


def clip(text: str, limit: int = 200) -> str:
    """Shorten an example line for a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mask(secret: str) -> str:
    """Show enough of a secret to recognise it, not enough to leak it."""
    return secret[:4] + "..." if len(secret) > 6 else "***"
