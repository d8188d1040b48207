"""Synthetic overhead reports for the unit tests: known A/B values, no measurement."""

from __future__ import annotations

from typing import Any

from obsconf.overhead.schema import LatencySummary, OverheadReport, RoundResult

LAT = LatencySummary(p50_us=250.0, p95_us=900.0, p99_us=2000.0, max_us=5000.0, mean_us=300.0)


def make_round(index: int, pair: int, variant: str, cpu_us: float, *, requests: int = 5000, errors: int = 0,
               throughput: float = 1000.0) -> RoundResult:
    return RoundResult(
        index=index, pair=pair, variant=variant, requests=requests, errors=errors, duration_s=5.0,
        target_rate_rps=1000.0, throughput_rps=throughput, latency=LAT, service_time=LAT, late_sends=0,
        max_send_lag_us=900.0, cpu_us_per_request=cpu_us, cpu_us_per_request_ticks=cpu_us, rss_bytes=50 * 2**20,
    )


def make_report(a: list[float], b: list[float], **round_kwargs: Any) -> dict[str, Any]:
    """A valid report document whose pair i has CPU per request ``a[i]`` (A) and ``b[i]`` (B)."""
    rounds = []
    for pair, (va, vb) in enumerate(zip(a, b, strict=True)):
        order = [("A", va), ("B", vb)] if pair % 2 == 0 else [("B", vb), ("A", va)]
        for variant, value in order:
            rounds.append(make_round(len(rounds), pair, variant, value, **round_kwargs))
    report = OverheadReport(
        created_utc="2026-01-01T00:00:00Z", obsconf_version="test", machine={"cpus": 2, "service_core": 0,
                                                                             "loadgen_core": 1},
        config={"profile": "persist", "rounds": len(a), "round_seconds": 5.0, "rate": 1000.0, "path": "/api/ok",
                "connections": 8, "warmup_seconds": 3.0, "slowdown_us": 0},
        variants={"A": "instrumented", "B": "off"}, rounds=rounds,
    )
    from obsconf.overhead.stats import compare_pairs

    report.comparison["cpu_us_per_request"] = compare_pairs(a, b).to_dict()
    return report.to_dict()
