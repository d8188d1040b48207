"""The console summary of an overhead report: the figures a person reads first, each with its interval."""

from __future__ import annotations

from typing import Any


def _fmt(fig: dict[str, Any] | None, digits: int = 2, unit: str = "") -> str:
    if not fig:
        return "-"
    return f"{fig['median']:.{digits}f}{unit} (95% CI {fig['ci_low']:.{digits}f} .. {fig['ci_high']:.{digits}f}{unit})"


def print_summary(doc: dict[str, Any]) -> None:
    """Print the headline figures of ``doc`` (an overhead report) to stdout."""
    cpu = doc["comparison"].get("cpu_us_per_request")
    figs = doc["figures"]
    if cpu:
        print(f"overhead: {cpu['diff_median']:+.1f} us CPU per request (95% CI {cpu['diff_ci_low']:+.1f} .. "
              f"{cpu['diff_ci_high']:+.1f}); detection limit about {cpu['detection_limit_abs']:.1f} us "
              f"({cpu['detection_limit_pct']:.1f}%) with {cpu['pairs']} blocks")
    print(f"overhead as a multiple of the uninstrumented request: {_fmt(figs.get('overhead_x_off'), unit='x')}")
    if "overhead_bare_units" in figs:
        print(f"overhead in bare requests ({figs['bare_cpu_us']['median']:.1f} us each here): "
              f"{_fmt(figs['overhead_bare_units'])}; goal <= {doc['goal']['max_overhead_bare_units']:g}")
    print(f"latency p99 on/off at {doc['config']['rate']:g} req/s: {_fmt(figs.get('p99_on_off'))}; goal <= "
          f"{doc['goal']['max_p99_ratio']:g}")
    if "stock_cpu_vs_A" in figs:
        print(f"stock OpenTelemetry vs A: CPU {_fmt(figs['stock_cpu_vs_A'], unit='x')}, p99 "
              f"{_fmt(figs.get('stock_p99_vs_A'), unit='x')}")
    if "burn_detected_us" in figs:
        det = figs["burn_detected_us"]
        print(f"injected burn of {doc['config']['burn_us']} us measured as {det['diff_median']:+.1f} us (95% CI "
              f"{det['diff_ci_low']:+.1f} .. {det['diff_ci_high']:+.1f}; detection limit {det['detection_limit_abs']:.1f} us)")
    if "regression_resolution_pct" in figs:
        print(f"regression resolution against a baseline of this length: about {figs['regression_resolution_pct']:.1f}%"
              f" (a --max-regression-pct of {figs['suggested_max_regression_pct']:g} fits this run length)")
    base = doc.get("baseline")
    if base:
        ch = base["A_vs_baseline"]
        print(f"A/B vs baseline: {ch['change_pct']:+.1f}% (95% CI {ch['ci_low_pct']:+.1f} .. {ch['ci_high_pct']:+.1f}%)")
    delivery = doc.get("delivery") or {}
    if delivery.get("spans"):
        sp = delivery["spans"]
        print(f"delivery: spans at {sp['rate_rps']:g} req/s: {sp['traces_received']}/{sp['requests_answered']} traces, "
              f"{sp['traces_lost']} lost, {sp['late']} late, {sp.get('spans_not_exported')} not exported")
    for d in (delivery.get("logs") or {}).get("sinks", []):
        print(f"delivery: {d['sink']} at {delivery['logs']['rate_lines_per_s']:g} lines/s: {d['received']}/{d['sent']} "
              f"lines, {d['lost']} lost, {d['duplicated']} duplicated, {d['late']} late, p95 delay "
              f"{d['delay']['p95_s']} s")
