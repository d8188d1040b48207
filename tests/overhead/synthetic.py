"""Synthetic overhead reports for the unit tests: known per-variant values, no measurement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from obsconf.overhead import figures
from obsconf.overhead.schema import LatencySummary, OverheadReport, RoundResult
from obsconf.overhead.stats import compare_pairs

LAT = LatencySummary(p50_us=250.0, p95_us=900.0, p99_us=2000.0, max_us=5000.0, mean_us=300.0)
LABELS = {"A": "instrumented", "B": "off", "bare": "bare calibration", "stock": "stock OpenTelemetry",
          "burn": "A + burn"}


def make_round(index: int, pair: int, variant: str, cpu_us: float, *, requests: int = 5000, errors: int = 0,
               throughput: float = 1000.0, p99_us: float | None = None) -> RoundResult:
    lat = LAT if p99_us is None else LatencySummary(250.0, 900.0, p99_us, max(5000.0, p99_us), 300.0)
    return RoundResult(
        index=index, pair=pair, variant=variant, requests=requests, errors=errors, duration_s=5.0,
        target_rate_rps=1000.0, throughput_rps=throughput, latency=lat, service_time=lat, late_sends=0,
        max_send_lag_us=900.0, cpu_us_per_request=cpu_us, cpu_us_per_request_ticks=cpu_us, rss_bytes=50 * 2**20,
    )


def make_report(a: Sequence[float], b: Sequence[float], *, bare: Sequence[float] | None = None,
                burn: Sequence[float] | None = None, stock: Sequence[float] | None = None,
                p99: dict[str, Sequence[float]] | None = None, burn_us: int = 0,
                **round_kwargs: Any) -> dict[str, Any]:
    """A valid report whose block i has CPU per request ``a[i]`` (A), ``b[i]`` (B) and, when given, the other
    variants' values; ``p99`` gives a variant's latency p99 per block (default 2000 us everywhere)."""
    series = {"A": a, "B": b, "bare": bare, "burn": burn, "stock": stock}
    series = {k: v for k, v in series.items() if v is not None}
    rounds = []
    for block in range(len(a)):
        keys = [k for k in ("burn", "A", "B", "bare", "stock") if k in series]
        for key in keys if block % 2 == 0 else keys[::-1]:
            p99_us = (p99 or {}).get(key)
            rounds.append(make_round(len(rounds), block, key, float(series[key][block]),
                                     p99_us=None if p99_us is None else float(p99_us[block]), **round_kwargs))
    report = OverheadReport(
        created_utc="2026-01-01T00:00:00Z", obsconf_version="test", machine={"cpus": 2, "service_core": 0,
                                                                             "loadgen_core": 1},
        config={"profile": "persist", "rounds": len(a), "round_seconds": 5.0, "rate": 1000.0, "path": "/api/ok",
                "connections": 8, "warmup_seconds": 3.0, "burn_us": burn_us},
        variants={k: LABELS[k] for k in series}, rounds=rounds,
    )
    report.comparison["cpu_us_per_request"] = compare_pairs(list(a), list(b)).to_dict()
    doc = report.to_dict()
    doc["figures"] = figures.compute(doc)
    return doc
