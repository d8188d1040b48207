"""Delivery under load: the pure accounting on known data, the report section, and one real run (slow, stack)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from obsconf.errors import ContractError, UsageError
from obsconf.faults.accounting import DelayStats, delays_s
from obsconf.overhead import options
from obsconf.overhead.delivery import endpoints_from_json
from obsconf.overhead.delivery_report import render_markdown
from obsconf.overhead.delivery_result import (
    DeliveryPlan,
    DeliveryResult,
    SpanLoad,
    account_lines,
    account_traces,
    counter_increase,
    first_seen_update,
    telemetry_counters,
)
from obsconf.overhead.report import render_markdown as report_markdown
from obsconf.overhead.schema import validate_report
from obsconf.readers.metrics_text import parse_metrics
from obsconf.sequence import global_seq
from tests.overhead.synthetic import make_report

S = 1_000_000_000  # ns per second
T = [f"{i:032x}" for i in range(1, 11)]  # ten trace ids


def _traces(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = dict(
        sent_ns={t: i * S for i, t in enumerate(T)}, span_counts={t: 2 for t in T},
        first_seen_ns={t: i * S + S // 2 for i, t in enumerate(T)}, expected_spans=2, late_after_s=5.0)
    kwargs.update(overrides)
    load = SpanLoad(rate_rps=10.0, seconds=1.0, duration_s=1.01, requests_sent=10, request_errors=0)
    return account_traces(load, **kwargs)


# --- spans -------------------------------------------------------------------------------------------------


def test_every_trace_complete_and_on_time() -> None:
    d = _traces()
    assert (d.traces_received, d.traces_lost, d.traces_incomplete, d.late) == (10, 0, 0, 0)
    assert (d.spans_expected, d.spans_received, d.spans_lost) == (20, 20, 0)
    assert d.delay == DelayStats(10, 0.5, 0.5, 0.5)


def test_lost_trace_is_counted_and_named() -> None:
    counts = {t: 2 for t in T[:7]}
    d = _traces(span_counts=counts, first_seen_ns={t: S for t in T[:7]})
    assert (d.traces_received, d.traces_lost) == (7, 3)
    assert d.missing_sample == tuple(sorted(T[7:]))
    assert d.spans_lost == 6


def test_incomplete_trace_counts_fewer_spans_and_extra_spans_do_not_hide_a_loss() -> None:
    counts = {t: 2 for t in T}
    counts[T[0]] = 1  # one span of its trace never arrived
    counts[T[1]] = 5  # more than expected must not make up for T[0]
    d = _traces(span_counts=counts)
    assert (d.traces_incomplete, d.spans_received, d.spans_lost) == (1, 19, 1)


def test_traces_not_sent_by_the_run_are_ignored() -> None:
    d = _traces(span_counts={**{t: 2 for t in T}, "f" * 32: 1})
    assert (d.traces_received, d.traces_lost) == (10, 0)


def test_late_traces_are_those_after_the_threshold() -> None:
    seen = {t: i * S + S // 2 for i, t in enumerate(T)}
    seen[T[9]] = 9 * S + 7 * S  # 7 s after its request
    d = _traces(first_seen_ns=seen, late_after_s=5.0)
    assert d.late == 1
    assert d.delay.max_s == 7.0 and d.delay.p50_s == 0.5


def test_spans_not_exported_come_from_the_service_counters() -> None:
    counters = {'obsconf_telemetry_spans_exported_total{result="success"}': 15.0,
                'obsconf_telemetry_spans_exported_total{result="failure"}': 2.0}
    d = _traces(counters=counters)
    assert (d.spans_not_exported, d.spans_export_failed) == (3, 2)  # 20 ended, 17 reached the exporter
    assert _traces().spans_not_exported is None  # no counters: unknown, not zero


def test_expected_spans_must_be_positive() -> None:
    with pytest.raises(ValueError, match="expected_spans"):
        _traces(expected_spans=0)


# --- log lines ----------------------------------------------------------------------------------------------


def test_lines_lost_duplicated_and_late() -> None:
    sent = list(range(10))
    emitted = {s: 0 for s in sent}
    arrived = [0, 1, 2, 2, 3, 5, 4, 6, 7]  # 8, 9 lost; 2 twice; 4 after 5
    seen = {s: S for s in arrived}
    seen[7] = 6 * S
    d = account_lines("loki", sent, arrived, emitted_ns=emitted, first_seen_ns=seen, late_after_s=5.0)
    c = d.counts
    assert (c.sent, c.received, c.lost, c.duplicated, c.out_of_order) == (10, 8, 2, 1, 1)
    assert d.late == 1
    assert d.delay.count == 8 and d.delay.p50_s == 1.0 and d.delay.max_s == 6.0
    assert d.to_dict()["missing_sample"] == [8, 9]


def test_all_lines_arrived_is_exactly_once() -> None:
    sent = list(range(5))
    d = account_lines("pocketbase", sent, sent, emitted_ns={s: 0 for s in sent}, first_seen_ns={s: S // 4 for s in sent})
    assert d.counts.exactly_once and d.late == 0 and d.delay.p95_s == 0.25


def test_delay_stats_of_nothing_is_unknown() -> None:
    assert DelayStats.of([]) == DelayStats(0, None, None, None)
    assert delays_s({1: 5 * S}, {1: 4 * S, 2: 9 * S}) == [0.0]  # clock skew never gives a negative delay


@pytest.mark.parametrize(("record", "expected"), [
    ({"fields": {"tag": "run1-3", "seq": 7}}, 37),
    ({"fields": {"tag": "run1-0", "seq": 0}}, 0),
    ({"fields": {"tag": "run2-3", "seq": 7}}, None),  # another run
    ({"fields": {"tag": "run1-3", "seq": 10}}, None),  # seq beyond the lines per request
    ({"fields": {"tag": "run1-x", "seq": 1}}, None),
    ({"fields": {"tag": "run1-3", "seq": "7"}}, None),
    ({"fields": "not a dict"}, None),
    ({"message": "request completed"}, None),
])
def test_global_seq(record: dict[str, Any], expected: int | None) -> None:
    assert global_seq("run1", record, 10) == expected


def test_first_seen_keeps_the_first_time() -> None:
    seen: dict[int, int] = {}
    assert first_seen_update(seen, [1, 2], 100) == 2
    assert first_seen_update(seen, [2, 3], 200) == 1
    assert seen == {1: 100, 2: 100, 3: 200}


# --- the service's counters ---------------------------------------------------------------------------------

METRICS = """\
# HELP obsconf_telemetry_shipped Log entries delivered, by sink
# TYPE obsconf_telemetry_shipped counter
obsconf_telemetry_shipped_total{sink="loki"} 120.0
obsconf_telemetry_shipped_total{sink="pocketbase"} 100.0
# HELP obsconf_telemetry_buffer_size Entries waiting to be sent, by sink
# TYPE obsconf_telemetry_buffer_size gauge
obsconf_telemetry_buffer_size{sink="loki"} 3.0
# HELP obsconf_telemetry_log_lines JSON log lines emitted
# TYPE obsconf_telemetry_log_lines counter
obsconf_telemetry_log_lines_total 130.0
# HELP http_requests Requests
# TYPE http_requests counter
http_requests_total 9.0
"""


def test_telemetry_counters_and_their_increase() -> None:
    after = telemetry_counters(parse_metrics(METRICS))
    assert after == {'obsconf_telemetry_shipped_total{sink="loki"}': 120.0,
                     'obsconf_telemetry_shipped_total{sink="pocketbase"}': 100.0,
                     "obsconf_telemetry_log_lines_total": 130.0}
    before = {'obsconf_telemetry_shipped_total{sink="loki"}': 20.0, "obsconf_telemetry_log_lines_total": 30.0}
    assert counter_increase(before, after) == {'obsconf_telemetry_shipped_total{sink="loki"}': 100.0,
                                               'obsconf_telemetry_shipped_total{sink="pocketbase"}': 100.0,
                                               "obsconf_telemetry_log_lines_total": 100.0}


# --- the report section -------------------------------------------------------------------------------------


def _section() -> dict[str, Any]:
    sent = list(range(10))
    result = DeliveryResult(config={"profile": "syncd", "late_after_s": 5.0, "poll_every_s": 0.5},
                            spans=_traces(), line_rate=100.0, line_seconds=1.0, lines_sent=10,
                            logs=[account_lines("loki", sent, sent[:9], emitted_ns={s: 0 for s in sent},
                                                first_seen_ns={s: S for s in sent[:9]})],
                            log_counters={'obsconf_telemetry_dropped_total{reason="overflow",sink="loki"}': 1.0},
                            notes=["a note"])
    return result.to_dict()


def test_report_with_delivery_validates_and_renders() -> None:
    doc = make_report([200.0, 210.0], [150.0, 155.0])
    doc["delivery"] = _section()
    validate_report(json.loads(json.dumps(doc)), "x.json")
    md = report_markdown(doc)
    assert "## Delivery under load" in md and "not gated" in md
    assert "| loki | 10 | 9 | 1 | 0 | 0 | 0 | 1.00 | 1.00 | 1.00 |" in md
    assert "| 10 | 10 | 10 | 0 | 0 | 20 | 20 | - | - | 0 |" in md
    assert 'dropped_total{reason="overflow",sink="loki"}` 1' in md
    assert "- a note" in md


def test_report_without_delivery_is_still_valid() -> None:
    doc = make_report([200.0, 210.0], [150.0, 155.0])
    assert "delivery" not in doc  # an old report, and a run without --delivery
    validate_report(doc, "x.json")
    assert "Delivery" not in report_markdown(doc)


def test_a_bad_delivery_section_names_the_field() -> None:
    doc = make_report([200.0, 210.0], [150.0, 155.0])
    doc["delivery"] = _section()
    doc["delivery"]["logs"]["sinks"][0]["lost"] = -1
    with pytest.raises(ContractError, match=r"delivery\.logs\.sinks\.0\.lost"):
        validate_report(doc, "x.json")


def test_render_without_spans_shows_only_lines() -> None:
    section = _section()
    section["spans"] = None
    lines = render_markdown(section)
    assert not any("traces received" in line for line in lines)
    assert any(line.startswith("| loki |") for line in lines)


# --- the command line -----------------------------------------------------------------------------------------


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_delivery_needs_backends() -> None:
    with pytest.raises(UsageError, match="--with-stack"):
        options.validate(_args("--delivery"))
    options.validate(_args("--delivery", "--with-stack"))


def test_delivery_rates() -> None:
    with pytest.raises(UsageError, match="not both 0"):
        options.validate(_args("--delivery", "--with-stack", "--delivery-span-rate", "0", "--delivery-line-rate", "0"))
    options.validate(_args("--delivery", "--with-stack", "--delivery-span-rate", "0"))


def test_endpoints_json_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        endpoints_from_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"otlp_http_url": "http://127.0.0.1:1"}')
    with pytest.raises(UsageError, match="bad.json"):
        endpoints_from_json(bad)


# --- one real run ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def process_stack() -> Iterator[Any]:
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    stack = start_stack(Settings.from_env(stack="process"), progress=lambda line: None)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.slow
@pytest.mark.stack
def test_real_delivery_counts_everything_and_sees_a_loss(process_stack: Any, tmp_path: Path) -> None:
    """At a modest rate everything arrives; with a 50-line shipping buffer, lines are lost and counted."""
    from obsconf.overhead.delivery import run_delivery

    e = process_stack.endpoints
    ok = run_delivery(e, DeliveryPlan(span_rate=100, line_rate=500, seconds=2), log_dir=tmp_path / "ok",
                      progress=lambda _: None)
    sp = ok.spans
    assert sp is not None and sp.requests_answered == sp.requests_sent == 200
    assert (sp.traces_received, sp.traces_lost, sp.traces_incomplete, sp.spans_not_exported) == (200, 0, 0, 0)
    assert sp.delay.p95_s is not None and sp.delay.p95_s >= 0  # measured and reported; no time is held to a limit
    assert {d.counts.sink for d in ok.logs} == {"loki", "pocketbase"}
    for d in ok.logs:
        assert (d.counts.sent, d.counts.received, d.counts.lost, d.counts.duplicated) == (1000, 1000, 0, 0), d

    small = {"OBSCONF_LOGS_BUFFER_MAX": "50", "SYNCD_LOG_BUFFER_MAX_ENTRIES": "50"}
    lossy = run_delivery(e, DeliveryPlan(span_rate=0, line_rate=2000, seconds=1, env=small),
                         log_dir=tmp_path / "lossy", progress=lambda _: None)
    assert lossy.spans is None
    for d in lossy.logs:
        assert d.counts.lost > 0, d
        dropped = sum(v for k, v in lossy.log_counters.items() if "dropped" in k and f'sink="{d.counts.sink}"' in k)
        assert dropped >= d.counts.lost, (d, lossy.log_counters)  # the service counted what it dropped
