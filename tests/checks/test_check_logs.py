"""Log checks on good and non-conformant lines."""

from __future__ import annotations

import json

from obsconf.checks.delivery import check_log_delivery
from obsconf.checks.logs import check_log_events, check_log_schema, check_log_trace_ids, check_logs
from obsconf.checks.logstore import check_log_store
from obsconf.checks.redaction import check_log_redaction
from obsconf.contract.model import (
    CorrelationSpec,
    DeliverySpec,
    FieldMatch,
    LogEventSpec,
    LogsSpec,
    LogStoreSpec,
    RedactionSpec,
)
from obsconf.model import LogRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
CANARY = "sk-obsconf-canary-5f2a9c7e1b"


def rec(ts: int = 1, **fields: object) -> LogRecord:
    line = json.dumps(fields)
    return LogRecord(timestamp_ns=ts, line=line, fields=dict(fields), source="loki")


def good(**extra: object) -> LogRecord:
    base: dict[str, object] = {
        "timestamp": "2024-01-01T12:00:00.123Z",
        "level": "INFO",
        "message": "S3 operation completed successfully",
        "trace_id": TRACE,
        "span_id": SPAN,
        "bucket": "b",
        "key": "k",
        "operation": "put_object",
        "duration_ms": 12.5,
    }
    base.update(extra)
    return rec(**base)


SPEC = LogsSpec(
    format="json",
    required_fields={"timestamp": "rfc3339", "level": "string", "message": "string"},
    levels=("ERROR", "WARN", "INFO", "DEBUG", "TRACE"),
    redaction=RedactionSpec(values=(CANARY,), patterns=(r"sk-obsconf-canary-[0-9a-f]{6,}",)),
    correlation=CorrelationSpec(exempt=(FieldMatch("message", "^started"),)),
    events=(
        LogEventSpec(
            name="s3 ok",
            message="S3 operation completed successfully",
            level="INFO",
            fields={"bucket": "string", "duration_ms": "number"},
        ),
    ),
    loc="persist.yaml:40 logs",
)


def test_conformant_lines_pass_every_log_check() -> None:
    lines = [good(), good(level="WARN", message="other"), rec(timestamp="2024-01-01T12:00:00Z", level="INFO", message="started")]
    assert check_logs(SPEC, lines) == []


def test_no_lines_is_a_finding_not_a_pass() -> None:
    findings = check_logs(SPEC, [], query='{service="persist"}', link="http://127.0.0.1:3100/x")
    assert len(findings) == 1
    f = findings[0]
    assert f.check == "logs.schema" and "no log line arrived" in f.message
    assert f.query == '{service="persist"}' and f.link.endswith("/x")


def test_missing_field_wrong_type_and_bad_level_are_named() -> None:
    lines = [good(), good(timestamp=12), rec(level="NOTICE", message="x", timestamp="2024-01-01T12:00:00Z"), rec(message="m")]
    findings = check_log_schema(SPEC, lines)
    text = "\n".join(f.render() for f in findings)
    assert "field 'timestamp' has the wrong type in 1 of 4" in text
    assert "required field 'level' is missing in 1 of 4" in text
    assert "outside the allowed levels" in text and "NOTICE" in text
    assert {f.check for f in findings} == {"logs.schema", "logs.levels"}


def test_non_json_line_is_reported() -> None:
    line = LogRecord(timestamp_ns=1, line="INFO plain text", fields={})
    findings = check_log_schema(SPEC, [line])
    assert findings and "not JSON objects" in findings[0].message


def test_secret_in_a_log_line_is_caught_and_masked_in_the_message() -> None:
    lines = [good(), good(message=f"saving state {{'api_key': '{CANARY}'}}")]
    findings = check_log_redaction(SPEC.redaction, lines)
    assert findings, "a canary in a log line must be a finding"
    rendered = "\n".join(f.render() for f in findings)
    assert "must redact" in rendered
    assert CANARY not in rendered  # the report never repeats the secret


def test_secret_shape_pattern_is_caught_in_nested_field() -> None:
    lines = [good(state={"creds": {"token": "sk-obsconf-canary-deadbeef00"}})]
    findings = check_log_redaction(SPEC.redaction, lines)
    assert any("secret pattern" in f.message for f in findings)


def test_masked_field_rule() -> None:
    red = RedactionSpec(fields={"password": "[REDACTED]"})
    assert check_log_redaction(red, [good(password="[REDACTED]")]) == []
    findings = check_log_redaction(red, [good(user={"password": "hunter2"})])
    assert findings and "'user.password' not masked" in findings[0].message


def test_log_line_without_trace_id_is_caught() -> None:
    lines = [good(), rec(timestamp="2024-01-01T12:00:00Z", level="INFO", message="handled request")]
    findings = check_log_trace_ids(SPEC.correlation, lines)
    assert len(findings) == 2  # trace_id and span_id both missing
    assert "1 of 2 request log lines have no 'trace_id'" in findings[0].message
    assert "active span context" in findings[0].message


def test_malformed_trace_id_is_caught_and_exempt_lines_are_skipped() -> None:
    lines = [good(trace_id="test-trace-123"), rec(message="started on :8000", level="INFO")]
    findings = check_log_trace_ids(SPEC.correlation, lines)
    assert len(findings) == 1 and "malformed 'trace_id'" in findings[0].message


def test_only_exempt_lines_is_a_finding() -> None:
    findings = check_log_trace_ids(SPEC.correlation, [rec(message="started", level="INFO")])
    assert findings and "none was checked" in findings[0].message


def test_missing_event_and_event_field_type() -> None:
    missing = check_log_events(SPEC, [good(message="something else")])
    assert missing and "'s3 ok'" in missing[0].message and missing[0].actual == 0
    wrong = check_log_events(SPEC, [good(duration_ms="12ms")])
    assert wrong and "field 'duration_ms' is missing or not number" in wrong[0].message


def test_event_at_wrong_level_gives_hint() -> None:
    findings = check_log_events(SPEC, [good(level="DEBUG")])
    assert findings and "another level" in findings[0].message


def test_store_records_schema() -> None:
    store = LogStoreSpec(kind="pocketbase", collection="daemon_logs",
                         required_fields={"level": "string", "daemon_id": "string"}, levels=("INFO",))
    ok = rec(level="INFO", daemon_id="d")
    assert check_log_store(store, [ok]) == []
    bad = check_log_store(store, [rec(level="INFO")])
    assert bad and bad[0].check == "logs.store" and "'daemon_id'" in bad[0].message
    empty = check_log_store(store, [])
    assert empty and "no record arrived in pocketbase collection 'daemon_logs'" in empty[0].message


def test_delivery_detects_loss_and_duplicates() -> None:
    spec = DeliverySpec(sinks=("loki", "pocketbase"))
    full = [rec(seq=i) for i in range(5)]
    assert check_log_delivery(spec, {"loki": full, "pocketbase": full}, 5) == []
    lossy = [rec(seq=i) for i in (0, 1, 3)]
    dup = full + [rec(seq=2)]
    findings = check_log_delivery(spec, {"loki": lossy, "pocketbase": dup}, 5)
    text = "\n".join(f.message for f in findings)
    assert "2 of 5 emitted lines never arrived in loki" in text and "[2, 4]" in text
    assert "arrived more than once in pocketbase" in text


def test_delivery_unread_sink_is_a_finding() -> None:
    findings = check_log_delivery(DeliverySpec(sinks=("loki", "pocketbase")), {"loki": [rec(seq=0)]}, 1)
    assert findings and "sink 'pocketbase'" in findings[0].message
