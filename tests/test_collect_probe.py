"""Collection waits for every numbered line a delivery check counts; probe links name the trace."""

from __future__ import annotations

import json

from obsconf.live.collect import read_logs, seqs_seen
from obsconf.live.probe import LiveProbe
from obsconf.model import LogRecord
from obsconf.readers.jaeger import JaegerReader

TRACE = "a" * 32


def _line(seq: int) -> LogRecord:
    fields = {"message": f"synthetic log line {seq}", "trace_id": TRACE, "fields": {"seq": seq}}
    return LogRecord(seq, json.dumps(fields), fields)


class GrowingReader:
    """Answers like a log store that receives one more shipped batch on every query."""

    dialect = "logql"

    def __init__(self, batches: list[list[LogRecord]]) -> None:
        self.batches = batches
        self.calls = 0

    def lines(self, labels: dict[str, str], *, start_ns: int) -> list[LogRecord]:
        self.calls += 1
        return [r for batch in self.batches[: self.calls] for r in batch]


def test_seqs_seen_reads_a_dotted_field_and_ignores_non_integers() -> None:
    odd = LogRecord(0, "{}", {"fields": {"seq": "3"}})
    assert seqs_seen([_line(0), _line(2), odd, LogRecord(0, "x", {})], "fields.seq") == {0, 2}


def test_read_logs_waits_for_every_numbered_line_not_just_the_trace() -> None:
    # the trace id is complete after the first batch, but lines 5..9 come in the second
    reader = GrowingReader([[_line(i) for i in range(5)], [_line(i) for i in range(5, 10)]])
    got = read_logs(reader, {"service": "s"}, 0, [TRACE], timeout=10, seq_field="fields.seq", seqs=set(range(10)))
    assert seqs_seen(got, "fields.seq") == set(range(10))
    assert reader.calls == 2


def test_read_logs_without_seqs_stops_when_the_traces_arrived() -> None:
    reader = GrowingReader([[_line(0)], [_line(1)]])
    got = read_logs(reader, {"service": "s"}, 0, [TRACE], timeout=10)
    assert len(got) == 1 and reader.calls == 1


def test_probe_trace_url_is_a_template_for_one_trace() -> None:
    probe = LiveProbe(None, None, jaeger=JaegerReader("http://127.0.0.1:16686/"), logs=None, prometheus=None,
                      pocketbase=None, toxiproxy=None)
    assert probe.trace_url().format(trace_id=TRACE) == f"http://127.0.0.1:16686/trace/{TRACE}"


def test_logged_trace_ids_keeps_well_formed_ids_only() -> None:
    from obsconf.live.collect import logged_trace_ids

    recs = [_line(0), LogRecord(0, "{}", {"trace_id": "not-a-trace"}), LogRecord(0, "{}", {"trace_id": "B" * 32})]
    assert logged_trace_ids(recs, "trace_id") == {TRACE, "b" * 32}
