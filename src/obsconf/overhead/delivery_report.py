"""The ``## Delivery under load`` part of ``overhead.md``, rendered from the JSON section (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obsconf.overhead.delivery_result import POLL_EVERY_S, PROFILE, SPAN_PATH


def fmt_s(value: Any) -> str:
    """Seconds with two decimals; - for none."""
    return "-" if value is None else f"{float(value):.2f}"


def render_markdown(section: Mapping[str, Any]) -> list[str]:
    """The ``## Delivery under load`` part of ``overhead.md`` (lines), from the JSON section."""
    cfg = section.get("config", {})
    out = ["## Delivery under load", "",
           f"One instrumented `{cfg.get('profile', PROFILE)}` reference service, sinks on the real stack; "
           f"delays run from sending the request to the first poll that saw the item (poll every "
           f"{cfg.get('poll_every_s', POLL_EVERY_S):g} s: upper bounds), late = after {cfg.get('late_after_s', '?')} s. "
           "Reported, not gated: `obsconf gate` decides on CPU overhead only.", ""]
    sp = section.get("spans")
    if sp:
        out += [
            f"Spans: `GET {cfg.get('span_path', SPAN_PATH)}` at {sp['rate_rps']:g} req/s for {sp['seconds']:g} s "
            f"(last answer after {sp.get('duration_s', 0):.1f} s), {sp['expected_spans_per_trace']} span(s) per trace "
            "expected (a slow calibration run's traces).", "",
            "| requests sent | answered | traces received | traces lost | incomplete | spans expected | "
            "spans received | not exported (BSP drop) | export failed | late | delay p50 s | p95 s | max s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {sp['requests_sent']} | {sp['requests_answered']} | {sp['traces_received']} | {sp['traces_lost']} | "
            f"{sp['traces_incomplete']} | {sp['spans_expected']} | {sp['spans_received']} | "
            f"{'-' if sp.get('spans_not_exported') is None else sp['spans_not_exported']} | "
            f"{'-' if sp.get('spans_export_failed') is None else sp['spans_export_failed']} | {sp['late']} | "
            f"{fmt_s(sp['delay']['p50_s'])} | {fmt_s(sp['delay']['p95_s'])} | {fmt_s(sp['delay']['max_s'])} |", ""]
    logs = section.get("logs") or {}
    if logs.get("sinks"):
        out += [
            f"Log lines: `POST /logs/emit` at {logs['rate_lines_per_s']:g} lines/s for {logs['seconds']:g} s "
            f"(last answer after {logs.get('duration_s', 0):.1f} s; {logs['lines_sent']} lines, "
            f"{logs['emit_errors']} failed requests).", "",
            "| sink | sent | received | lost | duplicated | out of order | late | delay p50 s | p95 s | max s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for d in logs["sinks"]:
            out.append(f"| {d['sink']} | {d['sent']} | {d['received']} | {d['lost']} | {d['duplicated']} | "
                       f"{d['out_of_order']} | {d['late']} | {fmt_s(d['delay']['p50_s'])} | "
                       f"{fmt_s(d['delay']['p95_s'])} | {fmt_s(d['delay']['max_s'])} |")
        out.append("")
    counters = {**(sp or {}).get("counters", {}), **logs.get("counters", {})}
    if counters:
        out += ["Service's own counters (increase during each phase): " +
                ", ".join(f"`{k}` {v:g}" for k, v in counters.items() if v), ""]
    out += [f"- {n}" for n in section.get("notes", [])]
    return [*out, ""] if section.get("notes") else out
