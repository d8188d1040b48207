"""The check kinds a contract may name (in ``skip``), one id per pure check family.

Finding ids (``Finding.check``) start with one of these, so ``skip: [{check: spans.tree}]`` matches them.
"""

from __future__ import annotations

CHECK_KINDS: tuple[str, ...] = (
    "http.status",
    "logs",
    "logs.schema",
    "logs.levels",
    "logs.redaction",
    "logs.trace_id",
    "logs.events",
    "logs.store",
    "logs.delivery",
    "spans",
    "spans.present",
    "spans.parent",
    "spans.attributes",
    "spans.status",
    "spans.sampling",
    "spans.redaction",
    "metrics",
    "metrics.present",
    "metrics.type",
    "metrics.labels",
    "metrics.buckets",
    "metrics.help",
    "metrics.increase",
    "metrics.promtool",
    "retries",
    "health",
    "alerts",
    "slos",
    "correlation",
    "budgets",
    "auth",
)
