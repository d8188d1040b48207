"""Write an overhead report: ``overhead.json`` (the data) and ``overhead.md`` (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from obsconf.overhead.schema import validate_report

JSON_NAME = "overhead.json"
MD_NAME = "overhead.md"
PLOT_LATENCY = "overhead_latency.png"
PLOT_CPU = "overhead_cpu_by_round.png"


def _f(value: Any, digits: int = 1) -> str:
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return "-"


def _comparison_rows(doc: dict[str, Any]) -> list[str]:
    labels = {
        "cpu_us_per_request": "CPU per request (us)",
        "latency.p50_us": "latency p50 (us)",
        "latency.p95_us": "latency p95 (us)",
        "latency.p99_us": "latency p99 (us)",
        "throughput_rps": "throughput (req/s)",
        "rss_bytes": "RSS (MiB)",
    }
    rows = []
    for key, label in labels.items():
        c = doc["comparison"].get(key)
        if not c:
            continue
        if key == "rss_bytes":  # bytes are unreadable at this size
            label = "RSS (MiB)"
            c = {**c, **{k: c[k] / 2**20 for k in ("a_median", "b_median", "diff_median", "diff_ci_low",
                                                    "diff_ci_high")}}
        rows.append(
            f"| {label} | {_f(c['a_median'])} | {_f(c['b_median'])} | {_f(c['diff_median'])} "
            f"[{_f(c['diff_ci_low'])}, {_f(c['diff_ci_high'])}] | {c['ratio_median']:.3f} "
            f"[{c['ratio_ci_low']:.3f}, {c['ratio_ci_high']:.3f}] | +/-{_f(c['detection_limit_pct'])}% |"
        )
    return rows


def render_markdown(doc: dict[str, Any]) -> str:
    """The human report of a validated overhead document."""
    cfg = doc["config"]
    cpu = doc["comparison"].get("cpu_us_per_request")
    goal = doc["goal"]["max_overhead_us_per_request"]
    out = [
        f"# Instrumentation overhead: profile `{cfg['profile']}`",
        "",
        f"Generated {doc['created_utc']} by obsconf {doc.get('obsconf_version', '?')} "
        f"(report schema {doc['schema_version']}).",
        "",
        f"- A = {doc['variants']['A']}",
        f"- B = {doc['variants']['B']}",
        f"- {cfg['rounds']} pairs of rounds, interleaved in ABBA order, {cfg['round_seconds']:g} s each, fixed arrival rate "
        f"{cfg['rate']:g} req/s on `GET {cfg['path']}` over {cfg.get('connections', '?')} keep-alive "
        f"connections; warm-up {cfg.get('warmup_seconds', '?')} s per variant.",
        f"- service pinned to core {doc['machine'].get('service_core', '?')}, load generator to core "
        f"{doc['machine'].get('loadgen_core', '?')}; {doc['machine'].get('cpus', '?')} CPUs.",
    ]
    if cfg.get("slowdown_us"):
        out.append(f"- **test hook active**: A burns {cfg['slowdown_us']} us of extra CPU per request "
                   "(`--slowdown-us`).")
    out.append("")
    if cpu:
        verdict = "within" if cpu["diff_ci_high"] <= goal else (
            "over" if cpu["diff_ci_low"] > goal else "undecided against")
        out += [
            "## Result",
            "",
            f"Instrumentation costs **{_f(cpu['diff_median'])} us CPU per request** (median of "
            f"{cpu['pairs']} pairs; 95% CI {_f(cpu['diff_ci_low'])} to {_f(cpu['diff_ci_high'])} us), "
            f"that is **{cpu['pct_median']:+.1f}%** (95% CI {cpu['pct_ci_low']:+.1f}% to "
            f"{cpu['pct_ci_high']:+.1f}%) of the uninstrumented {_f(cpu['b_median'])} us.",
            "",
            f"Goal: at most {goal:g} us per request: **{verdict} the goal** (decided on the confidence bound).",
            "",
            f"Detection limit: this run cannot see a change smaller than about **{_f(cpu['detection_limit_abs'])} "
            f"us ({_f(cpu['detection_limit_pct'])}%)** (half-width of the 95% CI of the paired difference / "
            "ratio); about 4x the pairs halves it.",
            "",
        ]
    out += [
        "## A vs B (medians over pairs; paired difference and ratio with bootstrap 95% CI)",
        "",
        "| metric | A | B | A - B [95% CI] | A / B [95% CI] | detection limit |",
        "|---|---:|---:|---:|---:|---:|",
        *_comparison_rows(doc),
        "",
        "Latency runs from the moment each request was due (fixed arrival rate), so queueing behind slow "
        "answers is counted: no coordinated omission. `late` counts requests written > 2 ms after they were due.",
        "",
        "## Rounds",
        "",
        "| # | pair | variant | requests | errors | req/s | p50 us | p95 us | p99 us | CPU us/req | "
        "CPU us/req (ticks) | RSS MiB | late |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["rounds"]:
        out.append(
            f"| {r['index']} | {r['pair']} | {r['variant']} | {r['requests']} | {r['errors']} | "
            f"{_f(r['throughput_rps'])} | {_f(r['latency']['p50_us'])} | {_f(r['latency']['p95_us'])} | "
            f"{_f(r['latency']['p99_us'])} | {_f(r['cpu_us_per_request'])} | "
            f"{_f(r.get('cpu_us_per_request_ticks'))} | {_f(r['rss_bytes'] / 2**20)} | {r.get('late_sends', '-')} |"
        )
    out.append("")
    if doc["micro"]:
        out += [
            "## Micro-benchmarks (per operation, in-process, one core)",
            "",
            "| operation | median us | IQR us | p5 - p95 us | budget us | within budget |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for m in doc["micro"]:
            budget = "-" if m.get("budget_us") is None else f"{m['budget_us']:g} ({m.get('budget_source', '')})"
            within = {True: "yes", False: "**NO**", None: "-"}[m.get("within_budget")]
            out.append(
                f"| {m['name']} | {m['median_us']:.2f} | {m['q1_us']:.2f} - {m['q3_us']:.2f} | "
                f"{m['p5_us']:.2f} - {m['p95_us']:.2f} | {budget} | {within} |"
            )
        out += ["", "Each row: many samples of a batch of calls; the median and spread are per call.", ""]
    if doc.get("latency_histogram"):
        out += ["## Plots", "", f"![latency A vs B]({PLOT_LATENCY})", "", f"![CPU per request by round]({PLOT_CPU})",
                ""]
    if doc.get("delivery"):
        # imported here: reading a report without a delivery section needs none of the network code
        from obsconf.overhead.delivery import render_markdown as delivery_markdown

        out += delivery_markdown(doc["delivery"])
    if doc["warnings"]:
        out += ["## Warnings", "", *[f"- {w}" for w in doc["warnings"]], ""]
    return "\n".join(out)


def write_report(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Validate ``doc`` and write ``overhead.json`` and ``overhead.md`` into ``out_dir``."""
    validate_report(doc, str(out_dir / JSON_NAME))
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / JSON_NAME, out_dir / MD_NAME
    json_path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    return json_path, md_path
