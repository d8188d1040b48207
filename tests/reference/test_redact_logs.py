"""Redaction rules and the logger that applies them to every sink."""

import io

import orjson
from opentelemetry.sdk.trace import TracerProvider

from obsconf.reference.logs import Logger, StreamSink, iso_utc, parse_level
from obsconf.reference.redact import MASK, Redactor


def test_secret_keys_by_segment():
    r = Redactor()
    for key in ("password", "db_password", "api_key", "apiKey", "X-Api-Key", "token", "access_token",
                "Authorization", "secret", "credentials", "sentry_dsn", "OTLP_API_KEY"):
        assert r.is_secret_key(key), key
    for key in ("tokens_used", "token_type", "key", "session_id", "bucket", "monkey"):
        assert not r.is_secret_key(key), key


def test_extra_keys():
    assert Redactor(["pin"]).is_secret_key("user_pin")
    assert not Redactor().is_secret_key("user_pin")


def test_nested_mapping_and_lists():
    out = Redactor().mapping({"a": {"password": "x", "items": [{"token": "t", "n": 1}]}, "tokens_used": 3,
                              "none_secret": None, "api_key": None})
    assert out == {"a": {"password": MASK, "items": [{"token": MASK, "n": 1}]}, "tokens_used": 3,
                   "none_secret": None, "api_key": None}


def test_free_text_secrets():
    r = Redactor()
    text = "user=bob password=hunter2 tokens_used=5 Authorization: Bearer abc.def api_key=\"x y\" end"
    out = r.text(text)
    assert "hunter2" not in out and "abc.def" not in out and "x y" not in out
    assert "tokens_used=5" in out and "user=bob" in out
    assert r.text("plain text without secrets") == "plain text without secrets"


def test_needs_work():
    r = Redactor()
    assert not r.needs_work({"http.route": "/api", "size_bytes": 3})
    assert r.needs_work({"db.password": "x"})
    assert r.needs_work({"url.query": "token=abc"})


def test_parse_level():
    assert parse_level("persist_core=debug,hyper=warn") == "DEBUG"
    assert parse_level("warning") == "WARN"
    assert parse_level("") == "INFO"
    assert parse_level("nonsense", "ERROR") == "ERROR"


def test_iso_utc():
    assert iso_utc(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123Z"
    assert iso_utc(1_700_000_000_123_456_789, 9) == "2023-11-14T22:13:20.123456789Z"


def _logger(level="INFO"):
    buf = io.BytesIO()
    log = Logger(lambda ev: {"msg": ev.message, "level": ev.level, "trace_id": ev.trace_id,
                             "span_id": ev.span_id, **ev.fields}, level=level)
    log.add_sink(StreamSink(buf))
    return log, buf


def _lines(buf):
    return [orjson.loads(line) for line in buf.getvalue().splitlines()]


def test_logger_redacts_filters_and_adds_trace_ids():
    log, buf = _logger()
    bound = log.bind("t")
    bound.debug("hidden")
    bound.info("visible", password="p", api_key="k", note="Bearer zzz")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("s") as span:
        bound.warn("in span")
        ctx = span.get_span_context()
    lines = _lines(buf)
    assert [line["msg"] for line in lines] == ["visible", "in span"]
    assert lines[0]["password"] == MASK and lines[0]["api_key"] == MASK and "zzz" not in lines[0]["note"]
    assert lines[0]["trace_id"] is None
    assert lines[1]["trace_id"] == f"{ctx.trace_id:032x}" and lines[1]["span_id"] == f"{ctx.span_id:016x}"


def test_disabled_logger_writes_nothing():
    log, buf = _logger()
    log.enabled = False
    log.bind("t").error("x")
    assert buf.getvalue() == b""
