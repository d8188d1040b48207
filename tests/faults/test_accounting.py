"""The pure half of obsconf.faults: delivery accounting, breaker transitions, retry bursts and the verdict."""

from __future__ import annotations

import json

from obsconf.faults import (
    EMIT_LINES,
    SCENARIO_IDS,
    Delivery,
    FaultResult,
    Latency,
    Limits,
    _global_seq,
    account,
    breaker_cycled,
    judge,
    max_burst,
    percentile,
    render_json,
    render_markdown,
    transitions,
)


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


def test_transitions_collapse_repeats() -> None:
    assert transitions(["closed", "closed", "open", "open", "half_open", "closed"]) == \
        ["closed", "open", "half_open", "closed"]
    assert transitions([]) == []


def test_breaker_must_open_and_then_close() -> None:
    assert breaker_cycled(["closed", "open", "half_open", "closed"])
    assert not breaker_cycled(["closed"])  # never opened
    assert not breaker_cycled(["closed", "open", "half_open", "open"])  # never recovered


def _samples(error_times: list[float], every: float = 0.02, until: float = 2.0) -> list[tuple[float, float, int]]:
    out, t = [], 0.0
    while t < until:
        out.append((t, t + 0.003, sum(1 for e in error_times if e < t)))
        t += every
    return out


def test_backoff_schedule_makes_at_most_two_failures_within_the_window() -> None:
    # one batch: try, retry after 0.1 s, retry after 0.2 s; the next batch starts right after the last
    errors = [0.10, 0.20, 0.40, 0.4005, 0.50, 0.70]
    assert max_burst(_samples(errors), 0.08) == 2


def test_retries_without_backoff_make_a_burst() -> None:
    assert max_burst(_samples([0.30, 0.3002, 0.3004]), 0.08) == 3


def test_samples_further_apart_than_the_window_are_not_counted() -> None:
    # slow sampling cannot invent a burst: three errors 0.1 s apart, seen through samples 0.5 s apart
    assert max_burst(_samples([0.1, 0.2, 0.3], every=0.5), 0.08) == 0


def test_percentile_and_latency() -> None:
    assert percentile([], 0.95) == 0.0
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile([1, 2, 3, 4], 0.95) == 4
    lat = Latency.of([0.001, 0.002, 0.5], failed=1)
    assert (lat.count, lat.failed, lat.max_ms) == (3, 1, 500.0)


def test_global_seq_reads_only_this_runs_lines() -> None:
    assert _global_seq("run", {"fields": {"tag": "run-3", "seq": 4}}) == 3 * EMIT_LINES + 4
    assert _global_seq("run", {"fields": {"tag": "other-3", "seq": 4}}) is None
    assert _global_seq("run", {"fields": {"tag": "run-x", "seq": 4}}) is None
    assert _global_seq("run", {"fields": {"tag": "run-1", "seq": "4"}}) is None
    assert _global_seq("run", {"message": "no fields"}) is None


def _outage(**overrides: object) -> FaultResult:
    sent = list(range(100))
    base = FaultResult(
        "syncd-pocketbase-outage", "syncd", "pocketbase", "down", 5.0, faulted_sink="pocketbase",
        latency=Latency(80, 0, 2.0, 4.0, 9.0),
        deliveries=[account("loki", sent, sent), account("pocketbase", sent, sent), account("file", sent, sent)],
        retry_burst=2, breaker=["closed", "open", "half_open", "closed"], breaker_opened=1, max_buffer=500)
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def test_a_well_behaved_outage_passes() -> None:
    assert judge(_outage()) == []


def test_counted_overflow_is_allowed_but_silent_loss_is_not() -> None:
    sent = list(range(100))
    lossy = [account("loki", sent, sent), account("pocketbase", sent, sent[40:]), account("file", sent, sent)]
    assert judge(_outage(deliveries=lossy, counted_dropped=45)) == []
    problems = judge(_outage(deliveries=lossy, counted_dropped=0))
    assert any("40 lost silently" in p for p in problems), problems


def test_outage_rules_each_flag_their_failure() -> None:
    sent = list(range(100))
    cases = {
        "did not answer 2xx": _outage(latency=Latency(80, 3, 2.0, 4.0, 9.0)),
        "slowest request took": _outage(latency=Latency(80, 0, 2.0, 4.0, 5000.0)),
        "p95 request latency": _outage(latency=Latency(80, 0, 2.0, 400.0, 900.0)),
        "no requests were measured": _outage(latency=None),
        "never held a line": _outage(max_buffer=0),
        "must open during the outage": _outage(breaker=["closed"]),
        "without exponential backoff": _outage(retry_burst=5),
        "duplicated lines": _outage(deliveries=[account("pocketbase", sent, sent + [7])]),
        "out of order": _outage(deliveries=[account("pocketbase", sent, sent[::-1])]),
        "local log file must hold every line": _outage(deliveries=[account("pocketbase", sent, sent),
                                                                   account("file", sent, sent[1:])]),
        "nothing was read back": _outage(deliveries=[account("file", sent, sent)]),
    }
    for expected, result in cases.items():
        problems = judge(result)
        assert any(expected in p for p in problems), (expected, problems)


def _otlp(**overrides: object) -> FaultResult:
    base = FaultResult("syncd-otlp-outage", "syncd", "otlp", "down", 4.0, latency=Latency(300, 0, 1.0, 2.0, 6.0),
                       spans_failed=310, shutdown_s=1.5, shutdown_timeout_s=3.0, exited_by_itself=True)
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def test_jaeger_down_rules() -> None:
    assert judge(_otlp()) == []
    assert any("only 0 spans counted as failed for 300" in p for p in judge(_otlp(spans_failed=0)))
    assert any("only 299 spans" in p for p in judge(_otlp(spans_failed=299)))
    assert any("counted as exported" in p for p in judge(_otlp(spans_exported=3)))
    assert any("shutdown took 9.50 s (did not exit" in p for p in judge(_otlp(shutdown_s=9.5, exited_by_itself=False)))
    assert any("shutdown took 4.80 s (exited)" in p for p in judge(_otlp(shutdown_s=4.8)))
    assert judge(_otlp(shutdown_s=4.4)) == []  # within timeout + slack


def test_slow_dependency_rules() -> None:
    ok = FaultResult("persist-s3-slow", "persist", "s3", "slow", 4.0, latency=Latency(170, 0, 2.0, 4.0, 60.0),
                     dependent_ms=4000.0)
    assert judge(ok) == []
    no_effect = FaultResult("persist-s3-slow", "persist", "s3", "slow", 4.0,
                            latency=Latency(170, 0, 2.0, 4.0, 60.0), dependent_ms=20.0)
    assert any("the fault had no effect" in p for p in judge(no_effect))
    blocked = FaultResult("syncd-logs-slow", "syncd", "logs", "slow", 4.0, latency=Latency(1, 1, 3000, 3000, 3000),
                          dependent_ms=4000.0, deliveries=[account("loki", [0, 1], [0, 1, 1])])
    problems = judge(blocked)
    assert any("leaks into request handling" in p for p in problems)
    assert any("duplicated" in p for p in problems)
    assert judge(blocked, Limits(max_request_ms=5000, p95_request_ms=5000)) != []  # still failed + duplicated


def test_reports_render_every_scenario() -> None:
    results = [_outage(), _otlp(problems=["shutdown took 9.50 s"])]
    doc = json.loads(render_json(results, 42.0))
    assert doc["total_s"] == 42.0 and [s["id"] for s in doc["scenarios"]] == ["syncd-pocketbase-outage",
                                                                             "syncd-otlp-outage"]
    assert doc["scenarios"][0]["deliveries"][1]["sink"] == "pocketbase"
    md = render_markdown(results, 42.0)
    assert "2 scenario(s), 1 passed, 42.0 s in total" in md
    assert "closed → open → half_open → closed" in md and "FAIL: shutdown took 9.50 s" in md
    assert "pocketbase: 100 / 100 / 0 / 0 / 0 / -" in md


def test_scenario_ids_are_readable_and_unique() -> None:
    assert len(set(SCENARIO_IDS)) == len(SCENARIO_IDS)
    assert "syncd-pocketbase-outage" in SCENARIO_IDS and all(" " not in i for i in SCENARIO_IDS)
    assert isinstance(Delivery("x", 0, 0, 0, 0, 0).exactly_once, bool)


def _hang(sink: str = "loki", **overrides: object) -> FaultResult:
    sent = list(range(600))
    base = FaultResult(f"syncd-{sink}-hang", "syncd", "logs" if sink == "loki" else "pocketbase", "hang", 6.0,
                       faulted_sink=sink, latency=Latency(70, 0, 2.0, 4.0, 9.0),
                       deliveries=[account("loki", sent, sent), account("pocketbase", sent, sent),
                                   account("file", sent, sent)])
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def test_a_hang_passes_when_stored_is_sent_plus_counted_duplicates() -> None:
    sent = list(range(600))
    assert judge(_hang()) == []
    twice = [account("loki", sent, sent + sent[:100]), account("pocketbase", sent, sent), account("file", sent, sent)]
    assert judge(_hang(deliveries=twice, counted_duplicates=100)) == []  # counted exactly
    assert judge(_hang(deliveries=twice, counted_duplicates=110)) == []  # counted as possible: a bound


def test_a_hang_fails_on_uncounted_duplicates_and_silent_loss() -> None:
    """The measured case: the log store frozen 6 s, 600 lines, 100 stored twice, none counted."""
    sent = list(range(600))
    twice = [account("loki", sent, sent + sent[:100]), account("pocketbase", sent, sent), account("file", sent, sent)]
    problems = judge(_hang(deliveries=twice, counted_duplicates=0))
    assert any("100 stored twice without being counted" in p for p in problems), problems
    # a duplicate in a sink that did not hang is never "counted" by the faulted sink's counter
    other = [account("loki", sent, sent), account("pocketbase", sent, sent + [5]), account("file", sent, sent)]
    assert any("pocketbase: 1 duplicated" in p for p in judge(_hang(deliveries=other, counted_duplicates=5)))
    lost = [account("loki", sent, sent[50:]), account("pocketbase", sent, sent), account("file", sent, sent)]
    assert any("50 lost silently" in p for p in judge(_hang(deliveries=lost)))
    assert judge(_hang(deliveries=lost, counted_dropped=50)) == []
    nothing = [account("loki", sent, []), account("pocketbase", sent, sent), account("file", sent, sent)]
    assert any("nothing arrived" in p for p in judge(_hang(deliveries=nothing, counted_dropped=600)))


def test_a_span_sink_hang_needs_no_breaker_and_counts_lost_spans_as_failed() -> None:
    sent = list(range(100))
    ok = FaultResult("syncd-otlp-hang", "syncd", "otlp", "hang", 6.0, faulted_sink="jaeger",
                     latency=Latency(100, 0, 1.0, 2.0, 3.0), deliveries=[account("jaeger", sent, sent)],
                     spans_failed=56, spans_exported=44, counted_dropped=56)
    assert judge(ok) == []  # failed spans that arrived after all are over-counted, never lost
    dup = FaultResult("syncd-otlp-hang", "syncd", "otlp", "hang", 6.0, faulted_sink="jaeger",
                      latency=Latency(100, 0, 1.0, 2.0, 3.0), deliveries=[account("jaeger", sent, sent + [1, 2])])
    assert any("2 stored twice without being counted" in p for p in judge(dup))
