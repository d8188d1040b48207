"""Log injection: newlines, quotes, NUL, invalid UTF-8, line separators and 1 MB values give exactly one
well-formed JSON line per event, with bounded values; a forged line is impossible. One test per case, on
every line-oriented sink (stdout, the rotating file, the Loki push body), plus the proof that the check
catches a formatter that lets a newline through."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from obsconf.fuzz.lines import FORGED_KEY, FORGED_PAYLOAD, check_lines, forged_lines
from obsconf.fuzz.local import LocalService
from obsconf.reference import logs
from obsconf.reference.redact import MAX_VALUE_CHARS

MB = "x" * 1_000_000
CASES = {
    "newline": "first\nsecond",
    "crlf": "first\r\nsecond\rthird",
    "quotes": 'he said "hi" and \'bye\' \\ "}',
    "nul": "before\x00after",
    "control": "\x1b[31mred\x1b[0m\x07\x08\x0b\x0c\x1c\x1d\x1e",
    "line-separators": "a\u2028b\u2029c\x85d",
    "forged-line": FORGED_PAYLOAD,
    "one-megabyte": MB,
    "unicode": "\U0001f600 \ufeff \u202e evil",
}
TRACE = "4bf92f3577b34da6a3ce929d0e0e{:04x}"


def _send(svc: LocalService, case: str, value: str, n: int) -> str:
    """The value in every input the profile writes into log lines; returns the events' trace id (marker)."""
    trace_id = TRACE.format(n)
    headers: dict[str, str | bytes] = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    short = value if len(value) < 4000 else value[:4000]  # headers are bounded by the service (431 above 16 KiB)
    # raw UTF-8 bytes (the service reads them as latin-1); a header cannot carry CR, LF or NUL at all
    headers["X-User-Id"] = short.encode("utf-8", "replace").replace(b"\n", b" ").replace(b"\r", b" ") \
        .replace(b"\x00", b" ")
    body = {"message": value, "user_id": value, "conversation_id": value, "agent_id": value, "name": value,
            "trigger": value[:1000]}
    if svc.profile == "assistant":
        svc.client.post("/api/chat", json=body, headers=headers)
    elif svc.profile == "prethrift":
        svc.client.get("/api/search", params={"q": value[:6000]}, headers=headers)
    elif svc.profile == "syncd":
        svc.client.post("/logs/emit", params={"n": 1, "tag": value[:6000]}, headers=headers)
    elif svc.profile == "persist":
        svc.client.post("/snapshots/k1", json={"agent_id": value, "session_id": "s"}, headers=headers)
    else:
        svc.client.post("/api/scenarios", json={"name": value}, headers=headers)
    return trace_id


def _sinks(svc: LocalService) -> dict[str, bytes]:
    texts = dict(svc.sink_texts())
    pushed = [v[1] for body in svc.loki.bodies for s in orjson.loads(body)["streams"] for v in s["values"]]
    return {"stdout": svc.stdout.getvalue(), "file": texts["file"].encode(),
            "loki push": "".join(line + "\n" for line in pushed).encode()}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("profile", ["assistant", "prethrift", "syncd", "persist"])
def test_hostile_value_gives_one_json_line_per_event(profile: str, case: str, tmp_path: Path) -> None:
    with LocalService(profile, tmp_path, rotate_mb=1000) as svc:
        marker = _send(svc, case, CASES[case], 1)
        sinks = _sinks(svc)
    for sink, raw in sinks.items():
        problems = check_lines(raw, max_value=MAX_VALUE_CHARS, markers=[marker], where=sink)
        assert problems == [], problems
        assert forged_lines(raw) == 0


def test_invalid_utf8_bodies_and_paths_are_logged_as_valid_lines(tmp_path: Path) -> None:
    with LocalService("assistant", tmp_path) as svc:
        svc.client.post("/api/chat", content=b'{"message": "\xff\xfe\xc3\x28"}', headers={
            "Content-Type": "application/json", "traceparent": f"00-{TRACE.format(2)}-00f067aa0ba902b7-01"})
        svc.client.get("/api/%ff%fe%c3%28", headers={"traceparent": f"00-{TRACE.format(3)}-00f067aa0ba902b7-01"})
        raw = svc.stdout.getvalue()
    assert check_lines(raw, max_value=MAX_VALUE_CHARS, markers=[TRACE.format(2), TRACE.format(3)]) == []


def test_a_one_megabyte_value_becomes_a_bounded_line(tmp_path: Path) -> None:
    with LocalService("assistant", tmp_path) as svc:
        svc.client.post("/api/chat", json={"message": "hi", "conversation_id": MB})
        lines = svc.stdout_lines()
    assert lines and max(len(line) for line in lines) < 3 * MAX_VALUE_CHARS
    assert any(b"chars truncated" in line for line in lines)


def test_check_lines_finds_each_kind_of_broken_stream() -> None:
    good = b'{"a":"x"}\n{"b":"y\\nz"}\n'
    assert check_lines(good, max_value=10, markers=["x"]) == []
    assert "not JSON" in check_lines(b'{"a":"x\nz"}\n', max_value=10)[0]
    assert "not UTF-8" in check_lines(b'{"a":"\xff"}\n', max_value=10)[0]
    assert "raw line separator" in check_lines('{"a":"x\u2028y"}\n'.encode(), max_value=10)[0]
    assert "forged" in check_lines(b'{"' + FORGED_KEY.encode() + b'":"yes"}\n', max_value=10)[0]
    assert "not an object" in check_lines(b"[1]\n", max_value=10)[0]
    assert "bounded" in check_lines(json.dumps({"a": "y" * 200}).encode() + b"\n", max_value=10)[0]
    assert "left no line" in check_lines(good, max_value=10, markers=["absent"])[0]


def _naive_line(record: dict) -> bytes:  # type: ignore[type-arg]
    """A hand-rolled JSON formatter of the kind that lets a newline (and a quote) through."""
    return ("{" + ",".join(f'"{k}":"{v}"' for k, v in record.items()) + "}").encode("utf-8", "replace")


@pytest.mark.parametrize("case", ["newline", "forged-line", "line-separators"])
def test_a_formatter_that_lets_a_newline_through_is_caught(case: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "dumps_line", _naive_line)
    with LocalService("assistant", tmp_path) as svc:
        marker = _send(svc, case, CASES[case], 4)
        raw = svc.stdout.getvalue()
    problems = check_lines(raw, max_value=MAX_VALUE_CHARS, markers=[marker])
    assert problems, raw[:500]
    if case == "forged-line":
        assert forged_lines(raw) > 0 and any("forged" in p for p in problems)


def test_plain_orjson_lets_line_separators_through_and_is_caught(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Why dumps_line escapes U+2028, U+2029 and NEL: orjson alone leaves them raw, and str.splitlines()
    (and readers built on it) then split one event into two lines."""
    monkeypatch.setattr(logs, "dumps_line", lambda record: orjson.dumps(record, default=str))
    with LocalService("assistant", tmp_path) as svc:
        marker = _send(svc, "line-separators", CASES["line-separators"], 5)
        raw = svc.stdout.getvalue()
    assert any("raw line separator" in p for p in check_lines(raw, max_value=MAX_VALUE_CHARS, markers=[marker]))
