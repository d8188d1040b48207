"""The fault scenarios' report: ``reports/faults.json`` and ``faults.md`` (pure rendering, then one write)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from obsconf.faults.observations import FaultRun


def render_json(runs: Sequence[FaultRun]) -> str:
    return json.dumps({"total_s": round(sum(r.duration_s for r in runs), 2),
                       "scenarios": [{**asdict(r), "latency": asdict(r.latency())} for r in runs]}, indent=2)


def render_markdown(runs: Sequence[FaultRun]) -> str:
    lines = ["# Fault scenarios", "",
             f"{len(runs)} scenario(s), {sum(r.duration_s for r in runs):.1f} s in total.", "",
             "| contract | scenario | fault | requests during (failed) | p95 / max ms | sink: requests / expected / "
             "received / lost / duplicated | counted dropped / duplicates | recovered after s | shutdown s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lat = r.latency()
        sinks = "<br>".join(f"{s.sink}: {s.requests} / {s.expected} / {s.received} / {s.lost} / {s.duplicated}"
                            for s in r.sinks) or "-"
        counted = f"{'-' if r.dropped_counted is None else f'{r.dropped_counted:g}'} / " \
                  f"{'-' if r.duplicates_counted is None else f'{r.duplicates_counted:g}'}"
        shut = "-" if r.shutdown_s is None else f"{r.shutdown_s}" + ("" if r.exited_by_itself else " (killed)")
        lines.append(f"| {r.contract} | {r.name} | {r.dependency} {r.mode} {r.seconds:g} s | {lat.count} ({lat.failed}) "
                     f"| {lat.p95_ms} / {lat.max_ms} | {sinks} | {counted} | "
                     f"{'-' if r.recovered_after_s is None else r.recovered_after_s} | {shut} |")
    notes = [f"- {r.name}: {n}" for r in runs for n in r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def write_reports(runs: Sequence[FaultRun], out_dir: Path) -> tuple[Path, Path]:
    """``faults.json`` and ``faults.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "faults.json", out_dir / "faults.md"
    js.write_text(render_json(runs))
    md.write_text(render_markdown(runs))
    return js, md
