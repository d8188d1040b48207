"""``reports/security.json``: what the hostile-input run tried per profile and what it found. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from obsconf.fuzz.canary import Leak
from obsconf.fuzz.execute import Outcome

SCHEMA_VERSION = 1
MAX_EXAMPLES = 20


@dataclass
class ProfileRun:
    """One profile's run: inputs tried, answers, leaks per sink, oversize refusals and memory."""

    profile: str
    requests: int = 0
    canaries: int = 0
    placements: dict[str, int] = field(default_factory=dict)  # kind -> canaries placed
    statuses: dict[str, int] = field(default_factory=dict)
    unexpected_5xx: list[dict[str, Any]] = field(default_factory=list)
    unexpected_5xx_count: int = 0
    leaks: list[dict[str, Any]] = field(default_factory=list)
    leak_count: int = 0
    sinks: dict[str, int] = field(default_factory=dict)  # sink -> characters read back and scanned
    oversize: dict[str, int] = field(default_factory=dict)  # what was sent -> status answered
    peak_rss_mb: float | None = None
    rss_start_mb: float | None = None
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Count statuses and keep the first unexpected 5xx answers."""
        self.requests += len(outcomes)
        for o in outcomes:
            self.statuses[str(o.status)] = self.statuses.get(str(o.status), 0) + 1
            if o.server_error:
                self.unexpected_5xx_count += 1
                if len(self.unexpected_5xx) < MAX_EXAMPLES:
                    self.unexpected_5xx.append({"method": o.method, "route": o.route, "target": o.target,
                                                "status": o.status, "error": o.error})
        self.statuses = dict(sorted(self.statuses.items()))

    def add_leaks(self, leaks: Sequence[Leak]) -> None:
        self.leak_count += len(leaks)
        for leak in leaks[: max(0, MAX_EXAMPLES - len(self.leaks))]:
            p = leak.placement
            self.leaks.append({"sink": leak.sink, "kind": p.kind if p else "?", "where": p.where if p else "?",
                               "shape": p.shape if p else "?", "context": leak.context})

    def problems(self) -> list[str]:
        out = []
        if self.requests == 0:
            out.append(f"{self.profile}: no request was sent")
        if not self.sinks or not any(self.sinks.values()):
            out.append(f"{self.profile}: no sink was read back (nothing to scan)")
        if self.leak_count:
            kinds = sorted({f"{x['sink']} <- {x['where']}" for x in self.leaks})
            out.append(f"{self.profile}: {self.leak_count} canary secret(s) reached a sink: {kinds[:5]}")
        if self.unexpected_5xx_count:
            routes = sorted({f"{x['method']} {x['route']} -> {x['status']}" for x in self.unexpected_5xx})
            out.append(f"{self.profile}: {self.unexpected_5xx_count} unexpected 5xx answer(s): {routes[:5]}")
        bad = {k: v for k, v in self.oversize.items() if not 400 <= v < 500}
        if bad:
            out.append(f"{self.profile}: oversized input not refused with 4xx: {bad}")
        return out


def summary(runs: Sequence[ProfileRun]) -> dict[str, Any]:
    return {
        "profiles": len(runs),
        "requests": sum(r.requests for r in runs),
        "canaries": sum(r.canaries for r in runs),
        "leaks": sum(r.leak_count for r in runs),
        "unexpected_5xx": sum(r.unexpected_5xx_count for r in runs),
        "peak_rss_mb": max((r.peak_rss_mb for r in runs if r.peak_rss_mb is not None), default=None),
        "passed": not any(r.problems() for r in runs),
    }


def render_json(runs: Sequence[ProfileRun], *, meta: Mapping[str, Any] | None = None) -> str:
    """The document written to ``reports/security.json``."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "meta": dict(meta or {}),
        "summary": summary(runs),
        "problems": [p for r in runs for p in r.problems()],
        "profiles": {r.profile: asdict(r) for r in runs},
    }
    return json.dumps(doc, indent=2, default=str)
