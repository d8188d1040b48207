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
    "spans.semconv",
    "metrics",
    "metrics.present",
    "metrics.type",
    "metrics.labels",
    "metrics.buckets",
    "metrics.help",
    "metrics.increase",
    "metrics.promtool",
    "metrics.semconv",
    "retries",
    "health",
    "alerts",
    "slos",
    "correlation",
    "budgets",
    "faults",
    "auth",
    "load",
    "load.requests",
    "load.accounting",
    "load.histogram",
    "load.slos",
)

#: Fault modes a contract may inject on a dependency (``retries[].fault.mode``, ``faults[].mode``), with what
#: each does; the fault runner maps each to a Toxiproxy toxic, and a test keeps the two tables equal.
FAULT_MODES: dict[str, str] = {
    "down": "the proxy stops listening: every connection is refused",
    "reset_peer": "every connection is reset (TCP RST) as soon as data arrives",
    "latency": "every answer is delayed by `latency` ms (default 1000; `jitter` ms)",
    "slow_close": "connections close only after `delay` ms (default 1000)",
    "timeout": "data stops, and the connection is closed after `timeout` ms (default 500)",
    "hang": "the dependency accepts connections but answers nothing until the fault ends, then processes what "
            "it received (its process is stopped and continued, or Toxiproxy holds the bytes)",
}

#: Sinks a fault scenario can require to receive every item of the workload (``faults[].expect.delivered``).
DELIVERY_SINKS: tuple[str, ...] = ("logs", "console", "store", "spans")
