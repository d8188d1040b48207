"""Micro-benchmark plumbing: per-call arithmetic on a fake clock, and the real ops returning spreads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from obsconf.overhead import micro


def test_measure_divides_each_sample_by_its_batch() -> None:
    ticks: Iterator[int] = iter(range(0, 10**9, 5_000))  # each clock read advances 5 us

    result = micro.measure("op", "d", lambda: None, ops_per_sample=10, samples=4, warmup=0,
                           clock=lambda: next(ticks), budget=micro.Budget(1.0, "test"))
    assert result.samples == 4 and result.ops_per_sample == 10
    assert result.median_us == pytest.approx(0.5)  # 5 us per sample / 10 calls
    assert result.within_budget is True


def test_budget_verdict() -> None:
    result = micro.measure("op", "d", lambda: None, ops_per_sample=1, samples=3, warmup=0,
                           clock=iter(range(0, 10**9, 2_000_000)).__next__, budget=micro.Budget(100.0))
    assert result.median_us == pytest.approx(2000.0)
    assert result.within_budget is False


def test_real_operations_report_medians_with_spread() -> None:
    results = [*micro.bench_metrics(samples=3), micro.bench_span(samples=3), micro.bench_stdlib_log(samples=3)]
    names = [r.name for r in results]
    assert names == ["counter.labels().inc()", "counter.inc() (bound child)", "histogram.labels().observe()",
                     "span start+end", "log line (stdlib + orjson)"]
    for r in results:
        assert r.samples == 3 and r.p5_us <= r.median_us <= r.p95_us and r.budget_us is not None


def test_app_pair_measures_the_difference_of_two_asgi_apps() -> None:
    async def fast(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                await send({"type": msg["type"] + ".complete"})
                if msg["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            sum(range(20_000))  # ~0.2 ms of extra work: far above timer noise
        await fast(scope, receive, send)

    on, off, diff = micro.bench_app_pair(slow, fast, "toy", "/api/ok", samples=3, ops_per_sample=20)
    assert on.name == "request toy (instrumented)" and diff.name == "middleware toy (on - off)"
    assert diff.median_us > 0 and diff.budget_us == 100.0
