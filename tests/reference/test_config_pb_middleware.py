"""Config parsing and loopback refusal, PocketBase record rules, traceparent parsing."""

import pytest

from obsconf.errors import UsageError
from obsconf.reference.config import ReferenceConfig, check_loopback, env_duration
from obsconf.reference.logs import LogEvent
from obsconf.reference.middleware import parse_traceparent
from obsconf.reference.pbship import PocketBaseSink, pb_timestamp, validate_record


def test_defaults_and_service_names():
    cfg = ReferenceConfig.from_env("syncd", {})
    assert cfg.service_name == "sync-daemon" and cfg.instrumentation and not cfg.logs_push_url
    assert ReferenceConfig.from_env("aurum", {"OBSCONF_SERVICE_NAME": "x"}).service_name == "x"


def test_instrumentation_switch():
    assert not ReferenceConfig.from_env("persist", {"OBSCONF_INSTRUMENTATION": "off"}).instrumentation
    with pytest.raises(UsageError, match="on or off"):
        ReferenceConfig.from_env("persist", {"OBSCONF_INSTRUMENTATION": "maybe"})


def test_unknown_profile_refused():
    with pytest.raises(UsageError, match="choose one of"):
        ReferenceConfig.from_env("nope", {})


def test_non_loopback_sinks_refused_unless_allowed():
    with pytest.raises(UsageError, match="OBSCONF_ALLOW_REMOTE_SINKS"):
        ReferenceConfig.from_env("persist", {"OBSCONF_LOGS_PUSH_URL": "http://loki.example.com/loki/api/v1/push"})
    assert check_loopback("http://127.0.0.1:3100/x", "X", {}) == "http://127.0.0.1:3100/x"
    assert check_loopback("http://10.0.0.1/x", "X", {"OBSCONF_ALLOW_REMOTE_SINKS": "1"})


def test_pocketbase_admin_needs_colon():
    cfg = ReferenceConfig.from_env("syncd", {"OBSCONF_POCKETBASE_ADMIN": "a@b.c:secretpw1"})
    assert cfg.pocketbase_admin_email == "a@b.c" and cfg.pocketbase_admin_password == "secretpw1"
    assert "secretpw1" not in repr(cfg)
    with pytest.raises(UsageError):
        ReferenceConfig.from_env("syncd", {"OBSCONF_POCKETBASE_ADMIN": "nocolon"})


def test_durations():
    env = {"A": "1s", "B": "250ms", "C": "0.5", "D": "2m"}
    assert [env_duration(env, k, 9) for k in "ABCD"] == [1.0, 0.25, 0.5, 120.0]
    assert env_duration(env, "missing", 9) == 9
    with pytest.raises(UsageError):
        env_duration({"X": "soon"}, "X", 1)


def test_traceparent():
    sc = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert sc is not None and f"{sc.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert sc.is_remote and sc.trace_flags.sampled
    for bad in ("", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "ff-" + "1" * 32 + "-" + "1" * 16 + "-01",
                "00-" + "0" * 32 + "-b7ad6b7169203331-01", "00-zzzz651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"):
        assert parse_traceparent(bad) is None, bad


def _record(**over):
    rec = {"timestamp": "2024-01-01 00:00:00.000Z", "level": "INFO", "message": "m", "line": 3, "fields": {},
           "daemon_id": "d", "session_id": "s"}
    rec.update(over)
    return rec


def test_validate_record():
    assert validate_record(_record()) is None
    assert "level" in validate_record(_record(level="WARNING"))
    assert "line" in validate_record(_record(line="abc"))
    assert "line" in validate_record(_record(line=True))
    assert "message" in validate_record(_record(message=123))
    assert "daemon_id" in validate_record(_record(daemon_id=""))


def test_pb_timestamp_format():
    assert pb_timestamp(1_700_000_000_123_000_000) == "2023-11-14 22:13:20.123Z"


class Collect:
    def __init__(self):
        self.items = []

    def offer(self, item):
        self.items.append(item)


def test_pocketbase_sink_builds_seed_record_and_skips_invalid():
    ship = Collect()
    sink = PocketBaseSink(ship, "daemon-1", "session-1")
    ev = LogEvent(1_700_000_000_000_000_000, "WARN", "hello", "sync_daemon::daemon", {"job": "j"},
                  "a" * 32, "b" * 16, None, "/x.py", 12, "f")
    sink.emit(b"{}", {"message": "hello", "fields": {"job": "j"}, "trace_id": "a" * 32, "span_id": "b" * 16}, ev)
    (rec,) = ship.items
    assert set(rec) == {"id", "timestamp", "level", "message", "target", "module_path", "file", "line", "fields",
                        "daemon_id", "session_id"}  # id: its own, so a resent batch cannot be stored twice
    assert len(rec["id"]) == 15 and set(rec["id"]) <= set("0123456789abcdefghijklmnopqrstuvwxyz")
    assert rec["level"] == "WARN" and rec["line"] == 12 and rec["fields"]["trace_id"] == "a" * 32
    bad = PocketBaseSink(ship, "", "session-1")  # PocketBase requires daemon_id: never queued
    bad.emit(b"{}", {"message": "m"}, LogEvent(1, "INFO", "m", "t", {}))
    assert len(ship.items) == 1 and bad.invalid == 1
