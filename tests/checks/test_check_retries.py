"""Retry checks: attempt bound, backoff schedule, signal agreement, and retries without backoff."""

from __future__ import annotations

import json

from obsconf.checks.retries import check_retries
from obsconf.contract.model import BackoffSpec, FaultSpec, RetryLogSpec, RetrySpec
from obsconf.model import LogRecord, MetricFamily, MetricSample, Span

TRACE = "c" * 32
MS = 1000  # microseconds per millisecond

SPEC = RetrySpec(
    operation="put_object",
    max_attempts=4,
    backoff=BackoffSpec(base_ms=100, factor=2, tolerance=0.5, slack_ms=50),
    span="s3_upload",
    attempt_span="put_object_request",
    count_attribute="retry_count",
    metric="persist_s3_retries_total",
    metric_selector={"operation": "put_object"},
    log=RetryLogSpec(message="Retrying S3 operation", attempt_field="retry_attempt", max_field="max_retries"),
    fault=FaultSpec(dependency="s3", mode="reset_peer"),
    loc="persist.yaml:150 retries[0]",
)


def trace(delays_ms: list[float], *, retry_count: int | None = None, attempt_ms: float = 5) -> list[Span]:
    """An s3_upload span with one put_object_request child per attempt, separated by ``delays_ms``."""
    attempts = len(delays_ms) + 1
    parent = Span(TRACE, "1" * 16, None, "s3_upload", "persist", 0, 10_000 * MS,
                  {"retry_count": attempts - 1 if retry_count is None else retry_count})
    spans = [parent]
    t = 0.0
    for i in range(attempts):
        spans.append(Span(TRACE, f"{i + 2:016x}", parent.span_id, "put_object_request", "persist",
                          int(t * MS), int(attempt_ms * MS)))
        t += attempt_ms + (delays_ms[i] if i < len(delays_ms) else 0)
    return spans


def warn_lines(delays_ms: list[float], *, max_retries: int = 3, attempt_ms: float = 5) -> list[LogRecord]:
    out, t = [], 0.0
    for n, delay in enumerate(delays_ms, start=1):
        t += attempt_ms
        fields = {"level": "WARN", "message": "Retrying S3 operation due to transient error", "trace_id": TRACE,
                  "retry_attempt": n, "max_retries": max_retries}
        out.append(LogRecord(int(t * 1e6), json.dumps(fields), fields))
        t += delay
    return out


def counter(value: float) -> list[MetricFamily]:
    return [MetricFamily("persist_s3_retries", "counter", "retries",
                         (MetricSample("persist_s3_retries_total", {"operation": "put_object"}, value),))]


def test_exponential_backoff_with_agreeing_signals_passes() -> None:
    delays = [100, 200, 400]
    findings = check_retries(SPEC, spans=trace(delays), logs=warn_lines(delays), before=counter(0), after=counter(3))
    assert findings == [], "\n".join(f.render() for f in findings)


def test_retries_without_backoff_are_caught_from_spans() -> None:
    delays = [1, 1, 1]
    findings = check_retries(SPEC, spans=trace(delays), logs=warn_lines(delays), before=counter(0), after=counter(3),
                             trace_url="http://127.0.0.1:16686/trace/{trace_id}")
    assert len(findings) == 1
    f = findings[0]
    assert "retries without backoff" in f.message and "delay before retry 1" in f.message
    assert f.expected == [100, 200, 400] and f.actual == [1.0, 1.0, 1.0]
    assert f.link.endswith(TRACE)


def test_retries_without_backoff_are_caught_from_logs_alone() -> None:
    spec = RetrySpec(operation="upload", max_attempts=4, backoff=SPEC.backoff, count_attribute=None,
                     log=RetryLogSpec(message="Retrying S3 operation"))
    assert check_retries(spec, logs=warn_lines([100, 200, 400])) == []
    findings = check_retries(spec, logs=warn_lines([0, 0, 0]))
    assert findings and "retries without backoff" in findings[0].message and "[from logs" in findings[0].message


def test_too_slow_backoff() -> None:
    findings = check_retries(SPEC, spans=trace([100, 900, 400]))
    assert any("longer than the contract's schedule" in f.message and "retry 2" in f.message for f in findings)


def test_too_many_attempts() -> None:
    delays = [100, 200, 400, 800]
    findings = check_retries(SPEC, spans=trace(delays), logs=warn_lines(delays), before=counter(0), after=counter(4))
    assert any("made 5 attempts" in f.message for f in findings)
    assert any("logged retry number 4" in f.message for f in findings)


def test_logged_max_retries_disagrees_with_contract() -> None:
    delays = [100, 200]
    findings = check_retries(SPEC, spans=trace(delays), logs=warn_lines(delays, max_retries=5),
                             before=counter(0), after=counter(2))
    assert any("max_retries=5" in f.message for f in findings)


def test_signals_disagree() -> None:
    delays = [100, 200, 400]
    findings = check_retries(SPEC, spans=trace(delays, retry_count=1), logs=warn_lines(delays[:2]),
                             before=counter(0), after=counter(5))
    disagree = next(f for f in findings if "disagree" in f.message)
    assert disagree.actual == {
        "put_object_request spans - 1 per operation": 3,
        "WARN retry log lines": 2,
        "s3_upload.retry_count": 1,
        "persist_s3_retries_total{'operation': 'put_object'} increase": 5,
    }
    assert any("says retry_count=1 but has 4" in f.message for f in findings)


def test_no_retry_observed_is_a_finding() -> None:
    findings = check_retries(SPEC, spans=trace([]), logs=[], before=counter(0), after=counter(0))
    assert len(findings) == 1
    assert "no retry of 'put_object' was observed" in findings[0].message
    assert "s3 reset_peer" in findings[0].message


def test_missing_retry_counter() -> None:
    delays = [100]
    findings = check_retries(SPEC, spans=trace(delays), logs=warn_lines(delays), after=[])
    assert any("retry counter 'persist_s3_retries_total' is not exposed" in f.message for f in findings)


def shipper_lines(runs: list[list[float]], gap_ms: float = 1000) -> list[LogRecord]:
    """A background shipper's WARN lines (no trace id, fields nested as in syncd): one run per batch try."""
    out, t = [], 0.0
    for delays in runs:
        for n, delay in enumerate(delays, start=1):
            fields = {"level": "WARN", "message": "Retrying log upload",
                      "fields": {"retry_attempt": n, "max_retries": 3}}
            out.append(LogRecord(int(t * 1e6), json.dumps(fields), fields))
            t += delay
        t += gap_ms
    return out


SHIPPER = RetrySpec(operation="pocketbase log upload", max_attempts=4, backoff=SPEC.backoff, count_attribute=None,
                    log=RetryLogSpec(message="Retrying log upload", attempt_field="fields.retry_attempt",
                                     max_field="fields.max_retries"))


def test_a_batch_retried_again_on_the_next_flush_is_a_new_operation() -> None:
    # 1, 2, 3 then 1, 2 a second later: two operations, the gap between them is no backoff delay
    assert check_retries(SHIPPER, logs=shipper_lines([[100, 200, 400], [100, 200]])) == []


def test_restarted_runs_are_still_checked() -> None:
    findings = check_retries(SHIPPER, logs=shipper_lines([[100, 200, 400], [1, 1]]))
    assert findings and "retries without backoff" in findings[0].message
    out_of_order = shipper_lines([[100, 200]])
    out_of_order[1].fields["fields"]["retry_attempt"] = 3
    findings = check_retries(SHIPPER, logs=out_of_order)
    assert any("not 1, 2, 3" in f.message for f in findings)
