"""The machine-independent figures of an overhead report, computed from its rounds. Pure: numbers in, numbers out.

A CPU time per request differs twice over between two machines of the same kind; a ratio measured within
one run does not. So every figure here is a per-block ratio (a block is one round of each variant, run
back to back), summarised by its median and a bootstrap 95% interval:

* ``overhead_x_off``: added CPU of A as a multiple of B's whole request, ``A/B - 1``;
* ``overhead_bare_units``: added CPU in *bare-request units*, ``(A - B) / bare``, where ``bare`` is an empty
  ASGI app served by the same server in the same run (the calibration request);
* ``p99_on_off``: latency p99 of A over B at the same fixed arrival rate;
* ``stock_*``: stock OpenTelemetry auto-instrumentation against A (CPU and p99), and in bare units;
* ``burn_*``: what an injected burn of known size was measured as (the proof that a change is seen);
* ``regression_resolution_pct``: the smallest growth of A/B this run tells reliably from noise against
  a baseline of the same length (the full width of that comparison's interval).

The gate (:mod:`obsconf.overhead.gate`) uses the same functions, so a report and its verdict never disagree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from obsconf.overhead.schema import BASELINE_KIND, BASELINE_VERSION, block_values, validate_baseline
from obsconf.overhead.stats import Estimate, compare_pairs, estimate, ratio_change, spread

CPU = "cpu_us_per_request"
P99 = "latency.p99_us"


def _estimate(values: list[float]) -> Estimate | None:
    values = [v for v in values if math.isfinite(v)]
    return estimate(values) if values else None


def ratio(doc: dict[str, Any], treatment: str, control: str, metric: str = CPU) -> Estimate | None:
    """Per-block ``treatment / control`` of ``metric``; None when no block has both (or control is 0)."""
    return _estimate([t / c for t, c in block_values(doc, (treatment, control), metric) if c > 0])


def bare_units(doc: dict[str, Any], treatment: str, control: str = "B") -> Estimate | None:
    """Per-block added CPU of ``treatment`` over ``control`` in bare requests: ``(T - C) / bare``."""
    return _estimate([(t - c) / z for t, c, z in block_values(doc, (treatment, control, "bare")) if z > 0])


def regression_resolution_pct(doc: dict[str, Any], treatment: str = "A") -> float | None:
    """Full width (%) of the interval of the change of ``treatment``/B between two runs like this one.

    Estimated by comparing the run with itself, resampled independently: the interval is as wide as two
    independent runs of this length and noise would give.
    """
    ratios = [t / c for t, c in block_values(doc, (treatment, "B")) if c > 0]
    if len(ratios) < 2:
        return None
    return ratio_change(ratios, ratios).resolution_pct


def suggested_regression_limit_pct(resolution_pct: float) -> float:
    """A ``--max-regression-pct`` this run length can hold: the resolution, rounded up to 5%.

    An unchanged service then passes (its interval reaches about half a resolution above zero) and a
    regression of one and a half limits fails (its interval stays about half a resolution above it).
    """
    return 5.0 * math.ceil(resolution_pct / 5.0)


def _put(out: dict[str, Any], key: str, value: Estimate | None) -> None:
    if value is not None:
        out[key] = value.to_dict()


def compute(doc: dict[str, Any]) -> dict[str, Any]:
    """Every figure the report can give from its rounds (keys only for variants that ran)."""
    out: dict[str, Any] = {}
    variants = set(doc["variants"])
    x_off = ratio(doc, "A", "B")
    if x_off is not None:
        out["overhead_x_off"] = Estimate(x_off.n, x_off.median - 1, x_off.ci_low - 1, x_off.ci_high - 1,
                                         x_off.confidence).to_dict()
    _put(out, "p99_on_off", ratio(doc, "A", "B", P99))
    if "bare" in variants:
        bare = [r[CPU] for r in doc["rounds"] if r["variant"] == "bare" and math.isfinite(r[CPU])]
        if bare:
            sp = spread(bare)
            out["bare_cpu_us"] = {"n": sp.n, "median": sp.median, "q1": sp.q1, "q3": sp.q3}
        _put(out, "overhead_bare_units", bare_units(doc, "A"))
        _put(out, "A_bare_units", ratio(doc, "A", "bare"))
        _put(out, "B_bare_units", ratio(doc, "B", "bare"))
    if "stock" in variants:
        _put(out, "stock_cpu_vs_A", ratio(doc, "stock", "A"))
        _put(out, "stock_p99_vs_A", ratio(doc, "stock", "A", P99))
        if "bare" in variants:
            _put(out, "stock_bare_units", bare_units(doc, "stock"))
            _put(out, "stock_whole_bare_units", ratio(doc, "stock", "bare"))
    if "burn" in variants:
        pairs = block_values(doc, ("burn", "A"))
        if pairs:
            out["burn_detected_us"] = compare_pairs([p[0] for p in pairs], [p[1] for p in pairs]).to_dict()
        if "bare" in variants:
            _put(out, "burn_bare_units", bare_units(doc, "burn"))
    resolution = regression_resolution_pct(doc)
    if resolution is not None:
        out["regression_resolution_pct"] = resolution
        out["suggested_max_regression_pct"] = suggested_regression_limit_pct(resolution)
    return out


def _ratio_blocks(doc: dict[str, Any]) -> list[dict[str, float | None]]:
    by_block: dict[int, dict[str, dict[str, Any]]] = {}
    for rnd in doc["rounds"]:
        by_block.setdefault(int(rnd["pair"]), {})[rnd["variant"]] = rnd
    blocks: list[dict[str, float | None]] = []
    for key in sorted(by_block):
        rounds = by_block[key]
        if not {"A", "B"} <= set(rounds):
            continue
        a, b, bare = rounds["A"], rounds["B"], rounds.get("bare")
        blocks.append({
            "cpu_ratio": a[CPU] / b[CPU],
            "overhead_bare_units": (a[CPU] - b[CPU]) / bare[CPU] if bare else None,
            "p99_ratio": a["latency"]["p99_us"] / b["latency"]["p99_us"],
        })
    return blocks


def _summary(blocks: list[dict[str, float | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {"blocks": len(blocks)}
    for key in ("cpu_ratio", "overhead_bare_units", "p99_ratio"):
        est = _estimate([float(v) for b in blocks if (v := b.get(key)) is not None])
        if est is not None:
            out[key] = est.to_dict()
    return out


def baseline_doc(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The baseline of a report: per-block ratios of A to B and to the bare request, no microseconds.

    With ``previous`` (a baseline measured the same way), the blocks of both are pooled: a baseline of
    several runs carries their run-to-run spread, so the regression check does not take one lucky run
    for the norm.
    """
    cfg = doc["config"]
    config = {k: cfg.get(k) for k in ("profile", "target_cmd", "path", "rounds", "round_seconds", "rate_source",
                                      "sinks", "connections")}
    run = {"created_utc": doc["created_utc"], "blocks": 0, "rate_source": cfg.get("rate_source")}
    blocks = _ratio_blocks(doc)
    run["blocks"] = len(blocks)
    runs = [run]
    if previous is not None:
        blocks = [*previous["blocks"], *blocks]
        runs = [*previous.get("runs", []), run]
    return {
        "schema_version": BASELINE_VERSION,
        "kind": BASELINE_KIND,
        "created_utc": doc["created_utc"],
        "obsconf_version": doc.get("obsconf_version"),
        "machine": {k: doc["machine"].get(k) for k in ("cpus", "platform", "python")},
        "config": config,
        "note": "ratios only (A instrumented, B off, bare an empty ASGI app on the same server, each block one "
                "round of each): they hold on another machine of the same kind, where microseconds do not",
        "runs": runs,
        "blocks": blocks,
        "summary": _summary(blocks),
    }


def write_baseline(doc: dict[str, Any], path: Path, append: bool = False) -> Path:
    """Write :func:`baseline_doc` of ``doc`` to ``path`` (validated first); ``append`` pools its blocks with
    the baseline already there, which must have been measured the same way."""
    from obsconf.errors import UsageError
    from obsconf.overhead.schema import config_differences

    previous = None
    if append and path.exists():
        previous = validate_baseline(json.loads(path.read_text(encoding="utf-8")), str(path))
        differences = config_differences(doc["config"], previous["config"])
        if differences:
            raise UsageError(f"--append-baseline {path}: measured differently ({'; '.join(differences)}); write a "
                             "new baseline instead")
    base = validate_baseline(baseline_doc(doc, previous), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(base, indent=2) + "\n", encoding="utf-8")
    return path
