"""The overhead report: its dataclasses and its versioned JSON schema (``reports/overhead.json``).

The report keeps every round's raw numbers, so a reader (the gate, a later comparison) recomputes what it
needs instead of trusting a summary. ``schema_version`` changes whenever a field changes meaning or is
removed; adding an optional field keeps the version (``delivery``, written by ``--delivery``, is optional).
Version 2 added the variants beside A and B (``bare``, ``stock``, ``burn``; ``pair`` is then the block of
rounds, one of each variant) and the machine-independent ``figures``.

A baseline (``reports/baseline/overhead.json``) is a second, smaller document: per-block *ratios* only
(instrumented/off CPU, added CPU in bare-request units, p99 on/off), so it holds on another machine of the
same kind; :func:`obsconf.overhead.figures.write_baseline` writes it and :func:`load_baseline_ratios` reads it (or a full
report) for the gate's regression check.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from obsconf.errors import ContractError

SCHEMA_VERSION = 2
REPORT_KIND = "obsconf-overhead-report"
BASELINE_KIND = "obsconf-overhead-baseline"
BASELINE_VERSION = 1

#: The project's own goal: instrumentation (span, RED metrics, a log line, export) costs at most this much
#: extra CPU per request, at the median.
GOAL_MAX_OVERHEAD_US = 100.0
#: The same goal in machine-independent units: added CPU per request at most 0.4 bare requests (a bare request
#: is an empty ASGI app served by the same server, measured in the same run) ...
GOAL_MAX_OVERHEAD_BARE = 0.4
#: ... and p99 latency, at a fixed arrival rate of half the uninstrumented capacity, at most 1.5x the off p99.
GOAL_MAX_P99_RATIO = 1.5

#: Variant keys: A instrumented, B off (the pair every report has), ``bare`` the calibration request,
#: ``stock`` stock OpenTelemetry auto-instrumentation, ``burn`` A plus an injected CPU burn (test hook).
VARIANT_KEYS = ("A", "B", "bare", "stock", "burn")


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of one round's latencies, in microseconds."""

    p50_us: float
    p95_us: float
    p99_us: float
    max_us: float
    mean_us: float


@dataclass(frozen=True)
class RoundResult:
    """One measured round of one variant.

    ``latency`` runs from the moment a request was *due* (fixed arrival rate) to the end of its answer,
    so queueing behind a slow answer counts (no coordinated omission); ``service_time`` runs from the
    moment it was actually written to the socket. ``late_sends`` counts requests written more than 2 ms
    after they were due: many of them mean the service (or the generator) could not keep up.
    """

    index: int
    pair: int
    variant: str  # one of VARIANT_KEYS: "A" (instrumented), "B" (instrumentation off), ...
    requests: int
    errors: int
    duration_s: float
    target_rate_rps: float
    throughput_rps: float
    latency: LatencySummary
    service_time: LatencySummary
    late_sends: int
    max_send_lag_us: float
    cpu_us_per_request: float  # from per-thread schedstat (ns resolution)
    cpu_us_per_request_ticks: float  # from /proc/PID/stat utime+stime (10 ms ticks, includes exited threads)
    rss_bytes: int


@dataclass(frozen=True)
class MicroResult:
    """Cost of one operation, measured in many samples of ``ops_per_sample`` calls each (microseconds)."""

    name: str
    description: str
    median_us: float
    q1_us: float
    q3_us: float
    p5_us: float
    p95_us: float
    samples: int
    ops_per_sample: int
    budget_us: float | None = None
    budget_source: str = ""

    @property
    def within_budget(self) -> bool | None:
        return None if self.budget_us is None else self.median_us <= self.budget_us


@dataclass
class OverheadReport:
    """Everything one ``obsconf overhead`` run found; :meth:`to_dict` is the JSON document."""

    created_utc: str
    obsconf_version: str
    machine: dict[str, Any]
    config: dict[str, Any]
    variants: dict[str, str]
    rounds: list[RoundResult] = field(default_factory=list)
    comparison: dict[str, dict[str, float | int]] = field(default_factory=dict)
    latency_histogram: dict[str, list[float]] = field(default_factory=dict)
    micro: list[MicroResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    goal_max_overhead_us: float = GOAL_MAX_OVERHEAD_US
    figures: dict[str, Any] = field(default_factory=dict)  # see :func:`obsconf.overhead.figures.compute`
    baseline: dict[str, Any] | None = None  # ``--baseline``: the regression against it and its resolution
    delivery: dict[str, Any] | None = None  # ``--delivery``: see :mod:`obsconf.overhead.delivery`

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "schema_version": SCHEMA_VERSION,
            "kind": REPORT_KIND,
            "created_utc": self.created_utc,
            "obsconf_version": self.obsconf_version,
            "machine": self.machine,
            "config": self.config,
            "variants": self.variants,
            "goal": {"max_overhead_us_per_request": self.goal_max_overhead_us,
                     "max_overhead_bare_units": GOAL_MAX_OVERHEAD_BARE, "max_p99_ratio": GOAL_MAX_P99_RATIO},
            "rounds": [asdict(r) for r in self.rounds],
            "comparison": self.comparison,
            "latency_histogram": self.latency_histogram,
            "micro": [dict(asdict(m), within_budget=m.within_budget) for m in self.micro],
            "figures": self.figures,
            "warnings": self.warnings,
        }
        if self.baseline is not None:
            doc["baseline"] = self.baseline
        if self.delivery is not None:
            doc["delivery"] = self.delivery
        return doc


_NUM = {"type": "number"}
_LAT = {
    "type": "object",
    "required": ["p50_us", "p95_us", "p99_us", "max_us", "mean_us"],
    "properties": {k: _NUM for k in ("p50_us", "p95_us", "p99_us", "max_us", "mean_us")},
}
_DELAY = {"type": "object", "required": ["count", "p50_s", "p95_s", "max_s"]}
_COUNT = {"type": "integer", "minimum": 0}
_DELIVERY = {
    "type": "object",
    "required": ["config", "spans", "logs", "notes"],
    "properties": {
        "config": {"type": "object", "required": ["profile", "late_after_s"]},
        "spans": {
            "type": ["object", "null"],
            "required": ["rate_rps", "seconds", "requests_sent", "requests_answered", "traces_received", "traces_lost",
                         "traces_incomplete", "spans_expected", "spans_received", "late", "delay"],
            "properties": {k: _COUNT for k in ("requests_sent", "requests_answered", "traces_received",
                                               "traces_lost", "traces_incomplete", "spans_expected",
                                               "spans_received", "late")} | {"delay": _DELAY},
        },
        "logs": {
            "type": "object",
            "required": ["rate_lines_per_s", "seconds", "lines_sent", "sinks"],
            "properties": {"sinks": {"type": "array", "items": {
                "type": "object",
                "required": ["sink", "sent", "received", "lost", "duplicated", "late", "delay"],
                "properties": {k: _COUNT for k in ("sent", "received", "lost", "duplicated", "late")}
                | {"delay": _DELAY},
            }}},
        },
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
_COMPARISON = {
    "type": "object",
    "required": ["pairs", "ratio_median", "ratio_ci_low", "ratio_ci_high", "diff_median", "diff_ci_low",
                 "diff_ci_high", "detection_limit_pct"],
    "properties": {"pairs": {"type": "integer", "minimum": 1}},
}

#: JSON Schema (draft 2020-12) of ``overhead.json``.
REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "obsconf overhead report",
    "type": "object",
    "required": ["schema_version", "kind", "created_utc", "config", "variants", "rounds", "comparison", "goal",
                 "micro", "warnings"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "kind": {"const": REPORT_KIND},
        "created_utc": {"type": "string"},
        "obsconf_version": {"type": "string"},
        "machine": {"type": "object"},
        "config": {
            "type": "object",
            "required": ["profile", "rounds", "round_seconds", "rate", "path"],
            "properties": {
                "profile": {"type": ["string", "null"]},
                "rounds": {"type": "integer", "minimum": 1},
                "round_seconds": _NUM,
                "rate": _NUM,
                "path": {"type": "string"},
            },
        },
        "variants": {"type": "object", "required": ["A", "B"], "propertyNames": {"enum": list(VARIANT_KEYS)}},
        "goal": {"type": "object", "required": ["max_overhead_us_per_request"]},
        "rounds": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "pair", "variant", "requests", "errors", "duration_s", "throughput_rps",
                             "latency", "service_time", "cpu_us_per_request", "rss_bytes"],
                "properties": {
                    "index": {"type": "integer", "minimum": 0},
                    "pair": {"type": "integer", "minimum": 0},
                    "variant": {"enum": list(VARIANT_KEYS)},
                    "requests": {"type": "integer", "minimum": 0},
                    "errors": {"type": "integer", "minimum": 0},
                    "duration_s": _NUM,
                    "throughput_rps": _NUM,
                    "latency": _LAT,
                    "service_time": _LAT,
                    "cpu_us_per_request": _NUM,
                    "rss_bytes": {"type": "integer"},
                },
            },
        },
        "comparison": {"type": "object", "additionalProperties": _COMPARISON},
        "latency_histogram": {"type": "object"},
        "micro": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "median_us", "q1_us", "q3_us", "p5_us", "p95_us", "samples"],
            },
        },
        "figures": {"type": "object"},
        "baseline": {"type": "object"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "delivery": _DELIVERY,
    },
}

_RATIO_BLOCK = {
    "type": "object",
    "required": ["cpu_ratio"],
    "properties": {k: {"type": ["number", "null"]} for k in ("cpu_ratio", "overhead_bare_units", "p99_ratio")},
}

#: JSON Schema of a baseline: per-block ratios of A (instrumented) to B (off) and to the bare request.
BASELINE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "obsconf overhead baseline (ratios only)",
    "type": "object",
    "required": ["schema_version", "kind", "created_utc", "config", "blocks"],
    "properties": {
        "schema_version": {"const": BASELINE_VERSION},
        "kind": {"const": BASELINE_KIND},
        "created_utc": {"type": "string"},
        "config": {"type": "object"},
        "blocks": {"type": "array", "minItems": 2, "items": _RATIO_BLOCK},
        "summary": {"type": "object"},
    },
}


def _validate(doc: Any, source: str, schema: dict[str, Any], version: int, what: str) -> dict[str, Any]:
    if isinstance(doc, dict) and doc.get("schema_version") not in (None, version):
        raise ContractError(
            source, "schema_version",
            f"version {doc.get('schema_version')!r} is not supported (this obsconf reads {version}); "
            f"re-run `obsconf overhead` with this version to produce a comparable {what}",
        )
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = ".".join(str(p) for p in err.absolute_path)
        raise ContractError(source, path, f"{err.message} (is this an `obsconf overhead` {what}?)")
    return doc  # type: ignore[no-any-return]


def validate_report(doc: Any, source: str) -> dict[str, Any]:
    """Check ``doc`` against :data:`REPORT_SCHEMA`; raise :class:`ContractError` naming ``source`` and the field."""
    doc = _validate(doc, source, REPORT_SCHEMA, SCHEMA_VERSION, "report")
    for i, rnd in enumerate(doc["rounds"]):
        if rnd["variant"] not in doc["variants"]:
            raise ContractError(source, f"rounds.{i}.variant",
                                f"{rnd['variant']!r} is not one of the report's variants {sorted(doc['variants'])}")
    return doc


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(str(path), "", "no such file; run `obsconf overhead --out-dir DIR` first") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(str(path), f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None


def load_report(path: Path) -> dict[str, Any]:
    """Read and validate an overhead report; errors name the file and the field."""
    return validate_report(_read_json(path), str(path))


def _metric(rnd: dict[str, Any], metric: str) -> float:
    value: Any = rnd
    for part in metric.split("."):  # "latency.p99_us" reaches into a summary
        value = value[part]
    return float(value)


def block_values(doc: dict[str, Any], keys: tuple[str, ...],
                 metric: str = "cpu_us_per_request") -> list[tuple[float, ...]]:
    """``metric`` of variants ``keys`` in every block (``pair``) that has a round of each, in block order."""
    by_block: dict[int, dict[str, float]] = {}
    for rnd in doc["rounds"]:
        by_block.setdefault(int(rnd["pair"]), {})[rnd["variant"]] = _metric(rnd, metric)
    return [tuple(by_block[k][v] for v in keys) for k in sorted(by_block) if set(keys) <= set(by_block[k])]


def pair_values(doc: dict[str, Any], metric: str = "cpu_us_per_request", a: str = "A",
                b: str = "B") -> tuple[list[float], list[float]]:
    """The values of ``metric`` for variants ``a`` and ``b`` in every block that has both, in block order."""
    blocks = block_values(doc, (a, b), metric)
    return [x for x, _ in blocks], [y for _, y in blocks]


def validate_baseline(doc: Any, source: str) -> dict[str, Any]:
    """Check ``doc`` against :data:`BASELINE_SCHEMA`; errors name ``source`` and the field."""
    return _validate(doc, source, BASELINE_SCHEMA, BASELINE_VERSION, "baseline")


@dataclass(frozen=True)
class Baseline:
    """What a regression check needs of a baseline: per-block A/B CPU ratios, and how they were measured."""

    ratios: list[float]
    config: dict[str, Any]


#: Settings that change the A/B ratio: a baseline measured otherwise is noted by the gate.
COMPARABLE_CONFIG = ("profile", "target_cmd", "path", "sinks")


def load_baseline(path: Path) -> Baseline:
    """A baseline file, or a full report (its ratios computed from its rounds); errors name file and field."""
    doc = _read_json(path)
    if isinstance(doc, dict) and doc.get("kind") == REPORT_KIND:
        report = validate_report(doc, str(path))
        a, b = pair_values(report)
        return Baseline([x / y for x, y in zip(a, b, strict=True)], report["config"])
    doc = validate_baseline(doc, str(path))
    return Baseline([float(blk["cpu_ratio"]) for blk in doc["blocks"]], doc["config"])


def load_baseline_ratios(path: Path) -> list[float]:
    """Per-block A/B CPU ratios of :func:`load_baseline`."""
    return load_baseline(path).ratios


def config_differences(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """``"sinks: stack in the baseline, discard now"`` for each comparable setting that differs."""
    return [f"{key}: {baseline.get(key)} in the baseline, {report.get(key)} now" for key in COMPARABLE_CONFIG
            if key in baseline and baseline.get(key) != report.get(key)]
