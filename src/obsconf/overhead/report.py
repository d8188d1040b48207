"""Write an overhead report: ``overhead.json`` (the data) and ``overhead.md`` (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from obsconf.overhead.delivery_report import render_markdown as delivery_markdown
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


def _variant_rows(doc: dict[str, Any]) -> list[str]:
    import statistics

    rows = []
    for key in doc["variants"]:
        rs = [r for r in doc["rounds"] if r["variant"] == key]
        if not rs:
            continue

        def med(get: Any, rounds: list[dict[str, Any]] = rs) -> str:
            return _f(statistics.median(get(r) for r in rounds))

        rows.append(f"| {key} | {med(lambda r: r['cpu_us_per_request'])} | {med(lambda r: r['latency']['p50_us'])} | "
                    f"{med(lambda r: r['latency']['p99_us'])} | {med(lambda r: r['throughput_rps'])} | "
                    f"{med(lambda r: r['rss_bytes'] / 2**20)} |")
    return rows


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
            f"[{c['ratio_ci_low']:.3f}, {c['ratio_ci_high']:.3f}] | {_f(c['detection_limit_pct'])}% |"
        )
    return rows


def _goal(fig: dict[str, Any] | None, goal: float) -> str:
    """Met, missed or undecided on the interval, and how far the median is from the goal."""
    if not fig:
        return "-"
    if fig["ci_high"] <= goal:
        return f"**met** (goal <= {goal:g})"
    how_far = f"median {fig['median'] / goal:.2f}x the goal" if goal > 0 else ""
    if fig["ci_low"] > goal:
        return f"**missed** (goal <= {goal:g}; {how_far})"
    return f"undecided (goal <= {goal:g}; the interval straddles it; {how_far})"


def _row(label: str, fig: dict[str, Any] | None, goal: str = "-", digits: int = 3, unit: str = "") -> str:
    if not fig:
        return f"| {label} | - | - | {goal} |"
    return (f"| {label} | {fig['median']:.{digits}f}{unit} | [{fig['ci_low']:.{digits}f}, "
            f"{fig['ci_high']:.{digits}f}]{unit} | {goal} |")


def _figure_rows(doc: dict[str, Any]) -> list[str]:
    figs = doc.get("figures") or {}
    goal = doc["goal"]
    rows = []
    cpu = doc["comparison"].get("cpu_us_per_request")
    if cpu:
        diff = {"median": cpu["diff_median"], "ci_low": cpu["diff_ci_low"], "ci_high": cpu["diff_ci_high"]}
        rows.append(_row("added CPU per request, A - B (this machine)", diff,
                         _goal(diff, goal["max_overhead_us_per_request"]), 1, " us"))
    rows.append(_row("added CPU as a multiple of B's whole request, A/B - 1", figs.get("overhead_x_off"), unit="x"))
    if "overhead_bare_units" in figs:
        rows.append(_row(f"added CPU in bare requests, (A - B) / bare (a bare request: "
                         f"{_f(figs['bare_cpu_us']['median'])} us here)", figs["overhead_bare_units"],
                         _goal(figs["overhead_bare_units"], goal["max_overhead_bare_units"])))
        rows.append(_row("whole request A in bare requests", figs.get("A_bare_units")))
        rows.append(_row("whole request B in bare requests", figs.get("B_bare_units")))
    rows.append(_row(f"latency p99 A/B at {doc['config']['rate']:g} req/s", figs.get("p99_on_off"),
                     _goal(figs.get("p99_on_off"), goal["max_p99_ratio"])))
    if "stock_cpu_vs_A" in figs:
        rows.append(_row("stock OpenTelemetry: CPU per request, stock/A", figs["stock_cpu_vs_A"], unit="x"))
        rows.append(_row("stock OpenTelemetry: latency p99, stock/A", figs.get("stock_p99_vs_A"), unit="x"))
        rows.append(_row("stock OpenTelemetry: (stock - B) / bare", figs.get("stock_bare_units")))
    if "burn_detected_us" in figs:
        det = figs["burn_detected_us"]
        rows.append(_row(f"injected burn of {doc['config'].get('burn_us')} us, measured as burn - A",
                         {"median": det["diff_median"], "ci_low": det["diff_ci_low"], "ci_high": det["diff_ci_high"]},
                         f"detection limit {_f(det['detection_limit_abs'])} us", 1, " us"))
    return rows


def _result_lines(doc: dict[str, Any]) -> list[str]:
    """The headline result (added CPU, the goal, the detection limit) and the machine-independent figures."""
    cpu = doc["comparison"].get("cpu_us_per_request")
    figs = doc.get("figures") or {}
    goal = doc["goal"]["max_overhead_us_per_request"]
    out: list[str] = []
    if cpu:
        verdict = "within" if cpu["diff_ci_high"] <= goal else (
            "over" if cpu["diff_ci_low"] > goal else "undecided against")
        out += [
            "## Result",
            "",
            f"Instrumentation costs **{_f(cpu['diff_median'])} us CPU per request** (median of "
            f"{cpu['pairs']} blocks; 95% CI {_f(cpu['diff_ci_low'])} to {_f(cpu['diff_ci_high'])} us), "
            f"that is **{cpu['pct_median']:+.1f}%** (95% CI {cpu['pct_ci_low']:+.1f}% to "
            f"{cpu['pct_ci_high']:+.1f}%) of the uninstrumented {_f(cpu['b_median'])} us.",
            "",
            f"Goal: at most {goal:g} us per request on this machine: **{verdict} the goal** (decided on the "
            "confidence bound). The machine-independent figures below are what to compare across machines.",
            "",
            f"Detection limit: the smallest change this run detects reliably is about "
            f"**{_f(cpu['detection_limit_abs'])} us ({_f(cpu['detection_limit_pct'])}%)**: the full width of the 95% "
            "CI of the paired difference / ratio (a change that large clears zero in about 97.5% of runs), plus "
            "10% of the difference, because CPU per request moves a little with load; about 4x the blocks "
            "halves the first part.",
            "",
            "## Machine-independent figures (per-block ratios: median and bootstrap 95% CI)",
            "",
            "| figure | median | 95% CI | goal |",
            "|---|---:|---:|---|",
            *_figure_rows(doc),
            "",
        ]
        if "regression_resolution_pct" in figs:
            out += [f"Regression resolution: against a baseline of this length, the smallest change of the A/B "
                    f"ratio this run tells reliably from noise is about **{figs['regression_resolution_pct']:.1f}%**; "
                    f"`--max-regression-pct {figs['suggested_max_regression_pct']:g}` fits this run length (an "
                    "unchanged service passes it, a regression of one and a half limits fails it).", ""]
    return out


def _baseline_lines(doc: dict[str, Any]) -> list[str]:
    """This run's A/B ratio (and the burn's) against the baseline's; nothing without a baseline."""
    out: list[str] = []
    base = doc.get("baseline")
    if base:
        ch = base["A_vs_baseline"]
        out += ["## Against the baseline", "",
                f"Baseline `{base['path']}`: A/B CPU ratio {ch['new_median']:.3f} now vs {ch['baseline_median']:.3f}: "
                f"**{ch['change_pct']:+.1f}%** (95% CI {ch['ci_low_pct']:+.1f}% to {ch['ci_high_pct']:+.1f}%); this "
                f"comparison resolves about {base['resolution_pct']:.1f}%."]
        if "burn_vs_baseline" in base:
            bw = base["burn_vs_baseline"]
            out.append(f"The burn variant against the same baseline: **{bw['change_pct']:+.1f}%** (95% CI "
                       f"{bw['ci_low_pct']:+.1f}% to {bw['ci_high_pct']:+.1f}%).")
        out.append("")
    return out


def _micro_lines(doc: dict[str, Any]) -> list[str]:
    """The micro-benchmarks table; nothing when none ran."""
    out: list[str] = []
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
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    """The human report of a validated overhead document."""
    cfg = doc["config"]
    subject = f"`{cfg['target_cmd']}`" if cfg.get("target_cmd") else f"profile `{cfg['profile']}`"
    out = [
        f"# Instrumentation overhead: {subject}",
        "",
        f"Generated {doc['created_utc']} by obsconf {doc.get('obsconf_version', '?')} "
        f"(report schema {doc['schema_version']}).",
        "",
        *[f"- {key} = {label}" for key, label in doc["variants"].items()],
        f"- {cfg['rounds']} blocks of one round per variant, forward then reverse order (ABBA), "
        f"{cfg['round_seconds']:g} s each, fixed arrival rate {cfg['rate']:g} req/s "
        f"({cfg.get('rate_source') or 'fixed'}) on `GET {cfg['path']}` over {cfg.get('connections', '?')} keep-alive "
        f"connections; warm-up {cfg.get('warmup_seconds', '?')} s per variant; sinks: {cfg.get('sinks', '?')}.",
        f"- service pinned to core {doc['machine'].get('service_core', '?')}, load generator to core "
        f"{doc['machine'].get('loadgen_core', '?')}; {doc['machine'].get('cpus', '?')} CPUs.",
    ]
    received = (cfg.get("sink_received") or {}).get("requests")
    if received:
        out.append("- the discarding sink received " + ", ".join(f"{n} POSTs to `{path}`" for path, n in received.items())
                   + " (the instrumented variants exported).")
    if cfg.get("burn_us"):
        out.append(f"- **test hook active**: variant burn burns {cfg['burn_us']} us of extra CPU per request "
                   f"({cfg.get('burn_source', '')}).")
    out.append("")
    out += _result_lines(doc)
    out += _baseline_lines(doc)
    out += [
        "## A vs B (medians over blocks; paired difference and ratio with bootstrap 95% CI)",
        "",
        "| metric | A | B | A - B [95% CI] | A / B [95% CI] | detection limit |",
        "|---|---:|---:|---:|---:|---:|",
        *_comparison_rows(doc),
        "",
        "Latency runs from the moment each request was due (fixed arrival rate), so queueing behind slow "
        "answers is counted: no coordinated omission. `late` counts requests written > 2 ms after they were due.",
        "",
        "## Variants (medians over rounds)",
        "",
        "| variant | CPU us/req | p50 us | p99 us | req/s | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
        *_variant_rows(doc),
        "",
        "## Rounds",
        "",
        "| # | block | variant | requests | errors | req/s | p50 us | p95 us | p99 us | CPU us/req | "
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
    out += _micro_lines(doc)
    if doc.get("latency_histogram"):
        out += ["## Plots", "", f"![latency A vs B]({PLOT_LATENCY})", "", f"![CPU per request by round]({PLOT_CPU})",
                ""]
    if doc.get("delivery"):
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
