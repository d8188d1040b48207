"""Metric label values taken from client input: redacted, short, and of bounded cardinality.

A label value is a sink like a log field (Prometheus stores it, ``/metrics`` shows it to anyone who may
scrape), and every distinct value is a new series held in memory until the process ends. A tenant header,
a model name from a request body or a job name from a path must therefore neither leak a secret
(``X-Tenant-Id: Bearer ...``) nor grow without bound under hostile traffic.
"""

from __future__ import annotations

from obsconf.reference.redact import Redactor

#: HTTP methods kept as label values; any other method token is reported as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
OTHER = "other"


class LabelGuard:
    """``guard(raw)`` -> the label value: secrets masked, at most ``max_len`` characters, and at most
    ``max_values`` distinct values; later new values all become :data:`OTHER`. Thread-safe enough: a race
    may admit a value or two beyond the cap, never an unbounded number."""

    def __init__(self, redactor: Redactor, *, max_values: int = 100, max_len: int = 64,
                 allowed: frozenset[str] | None = None) -> None:
        self.redactor = redactor
        self.max_values = max_values
        self.max_len = max_len
        self.allowed = allowed  # when set, only these values pass as themselves
        self._seen: dict[str, str] = {}
        self.folded = 0  # values reported as OTHER because the cap was reached or they were not allowed

    def __call__(self, raw: str | None) -> str:
        key = "" if raw is None else raw
        hit = self._seen.get(key)
        if hit is not None:
            return hit
        if (self.allowed is not None and key not in self.allowed) or len(self._seen) >= self.max_values:
            self.folded += 1
            return OTHER
        value = self.redactor.label(key, self.max_len)
        self._seen[key] = value
        return value


def method_guard(redactor: Redactor) -> LabelGuard:
    """The standard HTTP methods as themselves, any other method token as ``other``."""
    return LabelGuard(redactor, max_values=len(METHODS), allowed=METHODS)
