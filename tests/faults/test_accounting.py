"""The pure half of obsconf.faults: delivery accounting, per-request counting and the scenario verdict."""

from __future__ import annotations

from pathlib import Path

from obsconf.contract.kinds import FAULT_MODES
from obsconf.contract.model import FaultExpectation, FaultScenarioSpec, FaultSpec, MetricReaction
from obsconf.faults import Latency, account, percentile
from obsconf.faults.inject import TOXICS
from obsconf.faults.observations import FaultRun, Request, SinkCount, count_sink
from obsconf.faults.report import render_json, render_markdown
from obsconf.faults.verdict import judge_fault


def test_exactly_once_delivery() -> None:
    d = account("loki", range(5), [0, 1, 2, 3, 4])
    assert (d.sent, d.received, d.lost, d.duplicated, d.out_of_order) == (5, 5, 0, 0, 0)
    assert d.exactly_once


def test_lost_duplicated_out_of_order_and_unexpected_are_counted() -> None:
    d = account("pocketbase", range(6), [0, 2, 1, 2, 2, 5, 99])
    assert d.lost == 2 and d.missing_sample == (3, 4)
    assert d.duplicated == 2
    assert d.out_of_order == 1  # 1 came after 2
    assert d.unexpected == 1
    assert d.received == 4 and not d.exactly_once


def test_max_delay_is_the_slowest_first_sighting() -> None:
    d = account("loki", [0, 1], [0, 1, 1], emitted_ns={0: 0, 1: 1_000_000_000},
                first_seen_ns={0: 500_000_000, 1: 4_000_000_000})
    assert d.max_delay_s == 3.0
    assert account("loki", [0], [0]).max_delay_s is None


def test_percentile_and_latency() -> None:
    assert percentile([], 0.95) == 0.0
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile([1, 2, 3, 4], 0.95) == 4
    lat = Latency.of([0.001, 0.002, 0.5], failed=1)
    assert (lat.count, lat.failed, lat.max_ms) == (3, 1, 500.0)


def test_every_fault_mode_has_a_toxic_and_no_more() -> None:
    assert set(TOXICS) == set(FAULT_MODES)


def _req(label: str, trace: str, ok: bool = True, seconds: float = 0.005, phase: str = "during") -> Request:
    return Request(phase, label, ok, 200 if ok else 503, seconds, trace, 0.0)


def test_items_are_counted_per_request_against_the_baseline() -> None:
    reqs = [_req("emit", "a"), _req("emit", "b"), _req("emit", "c")]
    found = {"a": ["l1", "l2"], "b": ["l1", "l1", "l2"], "c": ["l1"]}
    got = count_sink("logs", reqs, found, {"emit": 2})
    assert (got.expected, got.received, got.lost, got.duplicated) == (6, 5, 1, 1)


def _spec(**expect: object) -> FaultScenarioSpec:
    return FaultScenarioSpec("outage", FaultSpec("logs", "down"), seconds=3, expect=FaultExpectation(**expect),
                             loc="c.yaml:9 faults[0]")


def _run(**fields: object) -> FaultRun:
    base = FaultRun("c", "outage", "logs", "down", 3, requests=[_req("emit", "a"), _req("emit", "b")], traffic=4,
                    recovered_after_s=0.2)
    for key, value in fields.items():
        setattr(base, key, value)
    return base


def test_a_well_behaved_scenario_passes() -> None:
    assert judge_fault(_spec(delivered=("logs",)), _run(sinks=[SinkCount("logs", 2, 4, 4, 0, 0)])) == []


def test_no_traffic_through_the_proxy_is_a_finding() -> None:
    (f,) = judge_fault(_spec(), _run(traffic=0))
    assert "never connected through the proxy of 'logs'" in f.message


def test_failed_or_slow_requests_during_the_fault_are_findings() -> None:
    slow = [_req("emit", "a", seconds=1.5), _req("emit", "b", ok=False)]
    messages = " | ".join(f.message for f in judge_fault(_spec(max_request_ms=1000, p95_request_ms=250),
                                                         _run(requests=slow)))
    assert "1 of 2 requests did not answer as expected" in messages
    assert "slowest request took 1500 ms" in messages and "p95 request latency 1500 ms" in messages


def test_counted_loss_is_allowed_but_silent_loss_and_duplicates_are_not() -> None:
    spec = _spec(delivered=("logs",), dropped_metric="dropped_total")
    assert judge_fault(spec, _run(sinks=[SinkCount("logs", 2, 4, 2, 2, 0)], dropped_counted=2.0)) == []
    (f,) = judge_fault(spec, _run(sinks=[SinkCount("logs", 2, 4, 2, 2, 0)], dropped_counted=1.0))
    assert "2 of 4 items of 2 requests were lost, only 1 counted by dropped_total: 1 lost silently" in f.message
    (f,) = judge_fault(spec, _run(sinks=[SinkCount("logs", 2, 4, 4, 0, 1)]))
    assert "stored more than once" in f.message


def test_a_sink_the_workload_leaves_nothing_in_cannot_pass() -> None:
    (f,) = judge_fault(_spec(delivered=("console",)), _run(sinks=[SinkCount("console", 2, 0, 0, 0, 0)]))
    assert "delivery cannot be counted" in f.message


def test_no_recovery_no_effect_and_slow_shutdown_are_findings() -> None:
    spec = FaultScenarioSpec("slow", FaultSpec("s3", "latency"), seconds=3,
                             expect=FaultExpectation(dependent_min_ms=1000, recovers_within_s=5))
    messages = " | ".join(f.message for f in judge_fault(spec, _run(recovered_after_s=None, dependent_s=[0.01])))
    assert "the fault had no visible effect" in messages and "did not answer as expected again within 5 s" in messages
    spec = _spec(shutdown_within_s=4.5)
    (f,) = judge_fault(spec, _run(shutdown_s=9.9, exited_by_itself=False))
    assert "did not exit and was killed" in f.message


def test_metric_reactions() -> None:
    spec = _spec(metrics=(MetricReaction("errors_total", increases=True), MetricReaction("buffer", peak_above=0,
                                                                                        ends_at=0)))
    good = [{"name": "errors_total", "selector": {}, "before": 1.0, "peak": 5.0, "after": 5.0},
            {"name": "buffer", "selector": {}, "before": 0.0, "peak": 30.0, "after": 0.0}]
    assert judge_fault(spec, _run(metrics=good)) == []
    bad = [{"name": "errors_total", "selector": {}, "before": 1.0, "peak": 1.0, "after": 1.0},
           {"name": "buffer", "selector": {}, "before": 0.0, "peak": 0.0, "after": 3.0}]
    messages = " | ".join(f.message for f in judge_fault(spec, _run(metrics=bad)))
    assert "errors_total did not increase" in messages
    assert "never rose above 0" in messages and "did not return to 0" in messages
    absent = [{"name": "errors_total", "selector": {}, "before": None, "peak": None, "after": None}]
    (f,) = judge_fault(_spec(metrics=(MetricReaction("errors_total", increases=True),)), _run(metrics=absent))
    assert "was not exposed" in f.message


def test_reports_render_every_scenario(tmp_path: Path) -> None:
    runs = [_run(sinks=[SinkCount("logs", 2, 4, 4, 0, 0)]), _run(name="other", shutdown_s=1.2, exited_by_itself=True)]
    md = render_markdown(runs)
    assert "| c | outage | logs down 3 s |" in md and "| other |" in md and "logs: 2 / 4 / 4 / 0 / 0" in md
    assert '"scenarios"' in render_json(runs)
