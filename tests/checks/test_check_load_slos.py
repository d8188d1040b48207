"""SLOs under load (pure): measured from the client's requests and from the telemetry, each against its
target, and the two against each other within their resolution."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from obsconf.checks.accounting import ANY, NO_ANSWER, RouteKey
from obsconf.checks.load_slos import check_load_slo, histogram_quantile, measure_slos, neighbour_range
from obsconf.checks.loadrun import check_load_requests
from obsconf.contract.model import LoadSloSpec

INF = math.inf
BUCKETS = {0.005: 0.0, 0.01: 0.0, 0.025: 0.0, 0.05: 0.0, 0.1: 0.0, 0.25: 0.0, INF: 0.0}


def k(route: str, status: str) -> RouteKey:
    return RouteKey(ANY, route, status)


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = {0.1: 50.0, 0.2: 90.0, 0.4: 100.0, INF: 100.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx((0.1, 0.0, 0.1))
    assert histogram_quantile(0.95, buckets) == pytest.approx((0.3, 0.2, 0.4))
    beyond = histogram_quantile(0.99, {0.1: 10.0, INF: 100.0})
    assert beyond == (0.1, 0.1, INF)  # above the largest finite bucket: its bound, unresolved
    assert all(math.isnan(v) for v in histogram_quantile(0.95, {0.1: 0.0, INF: 0.0}))


def test_neighbour_range() -> None:
    bounds = [0.001, 0.002, 0.004, 0.008, INF]
    assert neighbour_range(bounds, 0.002, 0.004) == (0.001, 0.008)
    assert neighbour_range(bounds, 0.0, 0.001) == (0.0, 0.002)
    assert neighbour_range(bounds, 0.004, 0.008) == (0.002, INF)


def _client(n_ok: int, n_5xx: int, ms: float, route: str = "/a") -> list[tuple[RouteKey, float]]:
    return [(k(route, "2xx"), ms)] * n_ok + [(k(route, "5xx"), ms)] * n_5xx


def test_both_sides_meet_and_agree() -> None:
    spec = LoadSloSpec(availability=0.99, error_rate=0.01, p95_ms=100)
    buckets = {**BUCKETS, 0.01: 900.0, 0.025: 1000.0, 0.05: 1000.0, 0.1: 1000.0, 0.25: 1000.0, INF: 1000.0}
    measures = measure_slos(spec, _client(1000, 0, 12.0), Counter({k("/a", "2xx"): 1000}), {"/a": buckets})
    assert [m.name for m in measures] == ["availability", "error_rate", "p95_ms"]
    assert all(check_load_slo(m) == [] for m in measures), [check_load_slo(m) for m in measures]
    p95 = measures[2]
    assert p95.telemetry == pytest.approx(17.5) and (p95.low, p95.high) == pytest.approx((5.0, 50.0))


def test_a_counter_that_skips_errors_disagrees_with_the_client() -> None:
    spec = LoadSloSpec(error_rate=0.5)
    (m,) = measure_slos(spec, _client(90, 10, 5.0), Counter({k("/a", "2xx"): 90}), {})
    (f,) = check_load_slo(m, where="svc.yaml:9 load.slos")
    assert f.check == "load.slos" and "the telemetry misreports the service" in f.message
    assert "client 0.1000 (n=100), telemetry 0.0000 (n=90)" in f.message


def test_a_missed_target_is_a_finding_per_side() -> None:
    spec = LoadSloSpec(availability=0.999)
    (m,) = measure_slos(spec, _client(90, 10, 5.0), Counter({k("/a", "2xx"): 90, k("/a", "5xx"): 10}), {})
    findings = check_load_slo(m)
    assert len(findings) == 2 and all("misses its target" in f.message for f in findings)


def test_unanswered_requests_lower_availability_only_for_the_client() -> None:
    spec = LoadSloSpec(availability=0.9)
    client = _client(95, 0, 5.0) + [(k("/a", NO_ANSWER), 10000.0)] * 5
    (m,) = measure_slos(spec, client, Counter({k("/a", "2xx"): 95}), {})
    assert m.client == pytest.approx(0.95) and m.telemetry == 1.0 and not m.agree


def test_a_histogram_that_observes_too_little_disagrees_on_p95() -> None:
    spec = LoadSloSpec(p95_ms=1000)
    # the service took 200 ms; its histogram says under 10 ms (timed around the wrong code)
    buckets = {**BUCKETS, 0.01: 100.0, 0.025: 100.0, 0.05: 100.0, 0.1: 100.0, 0.25: 100.0, INF: 100.0}
    (m,) = measure_slos(spec, _client(100, 0, 200.0), Counter({k("/a", "2xx"): 100}), {"/a": buckets})
    (f,) = check_load_slo(m)
    assert "misreports" in f.message and "between 0.0 ms and 25.0 ms" in f.message


def test_routes_and_exclusions_select_what_the_slos_cover() -> None:
    spec = LoadSloSpec(error_rate=0.0, exclude=("/api/fail",))
    client = _client(10, 0, 1.0) + _client(0, 5, 1.0, route="/api/fail")
    counted = Counter({k("/a", "2xx"): 10, k("/api/fail", "5xx"): 5})
    (m,) = measure_slos(spec, client, counted, {})
    assert (m.client, m.telemetry, m.client_n) == (0.0, 0.0, 10)
    only = LoadSloSpec(error_rate=0.0, routes=("/api/fail",))
    (n,) = measure_slos(only, client, counted, {})
    assert n.client == 1.0


def test_no_data_is_a_finding() -> None:
    (m,) = measure_slos(LoadSloSpec(p95_ms=10), [], Counter(), {})
    (f,) = check_load_slo(m)
    assert "could not be measured both ways" in f.message


def test_load_requests() -> None:
    stats = {"total": {"num_requests": 10, "num_failures": 0}, "errors": []}
    assert check_load_requests(stats, []) == []
    bad = {"total": {"num_requests": 10, "num_failures": 2},
           "errors": [{"method": "GET", "name": "/x", "error": "HTTP 500, wanted 200", "occurrences": 2}]}
    (f,) = check_load_requests(bad, [], user_class="ShopUser")
    assert f.check == "load.requests" and "GET /x: HTTP 500, wanted 200 (2x)" in f.message
    assert check_load_requests({"total": {"num_requests": 0}}, [])[0].message.startswith("the user class sent no")
    (g,) = check_load_requests(stats, ["ZeroDivisionError (3x)\ntraceback"])
    assert "raised 1 kinds of error" in g.message


def test_the_clients_own_overhead_measured_in_the_run_widens_the_p95_agreement_upwards_only() -> None:
    spec = LoadSloSpec(p95_ms=1000)
    buckets = {**BUCKETS, 0.01: 100.0, 0.025: 100.0, 0.05: 100.0, 0.1: 100.0, 0.25: 100.0, INF: 100.0}
    client = _client(100, 0, 30.0)  # the service took under 10 ms; the busy client saw 30 ms
    (m,) = measure_slos(spec, client, Counter({k("/a", "2xx"): 100}), {"/a": buckets})
    assert not m.agree
    (m,) = measure_slos(spec, client, Counter({k("/a", "2xx"): 100}), {"/a": buckets}, client_overhead_ms=22.0)
    assert m.agree and "22.0 ms the client's time added" in m.detail
    # the allowance never excuses a histogram that reports more than the client saw
    (m,) = measure_slos(spec, _client(100, 0, 1.0), Counter({k("/a", "2xx"): 100}),
                        {"/a": {**BUCKETS, 0.25: 100.0, INF: 100.0}}, client_overhead_ms=22.0)
    assert not m.agree
