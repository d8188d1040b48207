"""A small, fast structured logger: one dict per event, redacted, serialised once with orjson, fanned out
to sinks (stdout, a rotating file, the Loki shipper, the PocketBase shipper).

Each profile supplies a *formatter* that turns a :class:`LogEvent` into its seed's JSON shape (Rust
``tracing`` JSON for persist/syncd, Python JSON for aurum, structlog for prethrift, Go ``slog`` for the
assistant). Every line emitted inside a request carries top-level ``trace_id`` and ``span_id``.
Cost is a few microseconds per line; no stdlib ``logging`` machinery on the hot path.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import orjson
from opentelemetry.trace import get_current_span

from obsconf.reference.redact import Redactor, bound

LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40}
_ALIASES = {"WARNING": "WARN", "FATAL": "ERROR", "CRITICAL": "ERROR", "ERR": "ERROR"}


def parse_level(text: str | None, default: str = "INFO") -> str:
    """Canonical level name from ``info``, ``WARNING``, ``persist_core=debug,hyper=warn`` (RUST_LOG)..."""
    if not text:
        return default
    chosen = None
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name = part.rsplit("=", 1)[-1].strip().upper()
        name = _ALIASES.get(name, name)
        if name in LEVELS and (chosen is None or "=" not in part or LEVELS[name] < LEVELS[chosen]):
            chosen = name  # the most verbose directive wins: the reference has one logical crate
    return chosen or default


@dataclass(slots=True)
class RequestContext:
    """What the middleware knows about the request being handled (read by log formatters)."""

    trace_id: str
    span_id: str
    request_id: str = ""
    tenant_id: str | None = None
    user_id: str | None = None
    method: str = ""
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: (request_id, tenant_id, user_id) as last redacted by :meth:`clean`; a profile that changes one of them
    #: later (assistant takes ``user_id`` from the body) gets it redacted again on the next log line
    cleaned: tuple[str, str | None, str | None] | None = None

    def clean(self, redactor: Redactor) -> None:
        """Redact and bound the client-supplied strings (headers ``X-Request-Id``, ``X-Tenant-Id``,
        ``X-User-Id``) that formatters copy into every line. Cheap when nothing changed since last time."""
        now = (self.request_id, self.tenant_id, self.user_id)
        if now == self.cleaned:
            return
        self.request_id = redactor.label(self.request_id, 128) if self.request_id else self.request_id
        self.tenant_id = redactor.label(self.tenant_id, 128) if self.tenant_id else self.tenant_id
        self.user_id = redactor.label(self.user_id, 128) if self.user_id else self.user_id
        self.cleaned = (self.request_id, self.tenant_id, self.user_id)


#: The request being handled in this task/thread (contextvars flow into FastAPI's threadpool).
CURRENT_REQUEST: ContextVar[RequestContext | None] = ContextVar("obsconf_reference_request", default=None)


@dataclass(slots=True)
class LogEvent:
    """One log call, before formatting."""

    time_ns: int
    level: str
    message: str
    target: str
    fields: dict[str, Any]
    trace_id: str | None = None
    span_id: str | None = None
    request: RequestContext | None = None
    file: str = ""
    line: int = 0
    function: str = ""


Formatter = Callable[[LogEvent], dict[str, Any]]


class Sink(Protocol):
    """Receives every emitted line: the serialised JSON (redacted) and the redacted record."""

    def emit(self, line: bytes, record: Mapping[str, Any], event: LogEvent) -> None: ...


class _SecondCache:
    """``time.strftime`` costs ~1 us; log lines mostly share the second, so cache its text."""

    __slots__ = ("sec", "text")

    def __init__(self) -> None:
        self.sec = -1
        self.text = ""


_ISO_CACHE = threading.local()


def iso_utc(time_ns: int, digits: int = 3) -> str:
    """``2024-01-01T12:00:00.123Z`` (``digits`` = 3, 6 or 9 fractional digits)."""
    sec, frac = divmod(time_ns, 1_000_000_000)
    cache = getattr(_ISO_CACHE, "c", None)
    if cache is None:
        cache = _ISO_CACHE.c = _SecondCache()
    if cache.sec != sec:
        cache.sec = sec
        cache.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if digits == 3:
        return f"{cache.text}.{frac // 1_000_000:03d}Z"
    if digits == 6:
        return f"{cache.text}.{frac // 1_000:06d}Z"
    return f"{cache.text}.{frac:09d}Z"


# Line separators that orjson leaves raw inside strings but that str.splitlines() and some log shippers
# treat as line ends: escaped, so a value can never split one event into two lines.
_RAW_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"), (b"\xc2\x85", b"\\u0085"))


def dumps_line(record: Mapping[str, Any]) -> bytes:
    """One JSON object on one line, whatever the values hold.

    orjson escapes newlines, quotes and control characters; U+2028, U+2029 and NEL are escaped here. Values
    orjson refuses (lone surrogates, integers beyond 64 bits) are replaced by their text instead of
    failing the log call.
    """
    try:
        line = orjson.dumps(record, default=str)
    except TypeError:
        line = orjson.dumps(_jsonable(record), default=str)
    if not line.isascii() and (b"\xe2\x80" in line or b"\xc2\x85" in line):
        for raw, escaped in _RAW_SEPARATORS:
            line = line.replace(raw, escaped)
    return line


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 64) else str(value)
    if isinstance(value, Mapping):
        return {_jsonable(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return _jsonable(str(value))


def pretty_line(record: Mapping[str, Any]) -> bytes:
    """Human-readable rendering for ``*_LOG_FORMAT=pretty|text|console`` on stdout."""
    ts = record.get("timestamp") or record.get("time") or ""
    level = str(record.get("level", "")).upper()
    target = record.get("target") or record.get("logger") or record.get("component") or ""
    msg = record.get("message") or record.get("msg") or record.get("event") or ""
    skip = {"timestamp", "time", "level", "target", "logger", "message", "msg", "event"}
    rest = []
    for key, val in record.items():
        if key in skip or val is None:
            continue
        if isinstance(val, Mapping):
            rest.extend(f"{_one_line(str(k))}={_pretty_value(v)}" for k, v in val.items())
        else:
            rest.append(f"{_one_line(str(key))}={_pretty_value(val)}")
    head = f"{ts} {level:<5} {_one_line(str(target))}: {_one_line(str(msg))}" if target \
        else f"{ts} {level:<5} {_one_line(str(msg))}"
    return (head + ("  " + " ".join(rest) if rest else "")).encode("utf-8", "replace")


def _one_line(text: str) -> str:
    """Free text for the human format: control characters and line separators escaped, never raw."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def _pretty_value(val: Any) -> str:
    # a string as a JSON literal: quotes, newlines and control characters escaped
    return dumps_line(val).decode()


STDOUT_BUFFER = 1 << 18  # 256 KiB: a quarter second of lines at 1000 requests/s, one write(2) per flush


def buffered_stdout() -> BinaryIO:
    """Our own buffered writer on fd 1. ``sys.stdout.buffer`` is an unbuffered ``FileIO`` under
    ``PYTHONUNBUFFERED=1`` (usual in containers): one write(2) per log line, several us each. The
    telemetry flusher flushes this every 0.25 s and at shutdown."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stdout without a descriptor (tests, embedding)
        return sys.stdout.buffer
    return open(fd, "wb", buffering=STDOUT_BUFFER, closefd=False)  # noqa: SIM115 - lives as long as the sink


class StreamSink:
    """Writes lines to a binary stream (stdout by default); buffered, flushed by :meth:`flush`."""

    def __init__(self, stream: BinaryIO | None = None, pretty: bool = False) -> None:
        self.stream = stream if stream is not None else buffered_stdout()
        self.pretty = pretty

    def emit(self, line: bytes, record: Mapping[str, Any], event: LogEvent) -> None:
        try:
            self.stream.write((pretty_line(record) if self.pretty else line) + b"\n")
        except (OSError, ValueError):
            pass  # stdout closed (shutdown) or broken pipe: a log line is not worth crashing a request

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass  # same as above


class Logger:
    """The shared core: level filter, formatter, redactor and sinks. Use :meth:`bind` for a target."""

    def __init__(
        self,
        formatter: Formatter,
        *,
        level: str = "INFO",
        redactor: Redactor | None = None,
        want_caller: bool = False,
        enabled: bool = True,
    ) -> None:
        self.formatter = formatter
        self.threshold = LEVELS[parse_level(level)]
        self.redactor = redactor or Redactor()
        self.want_caller = want_caller
        self.enabled = enabled
        self.sinks: list[Sink] = []
        self.on_emit: Callable[[str, str], None] | None = None  # (level, target): e.g. log_entries_total
        self.emitted = 0

    def add_sink(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def enabled_for(self, level: str) -> bool:
        return self.enabled and LEVELS[level] >= self.threshold

    def bind(self, target: str) -> BoundLogger:
        return BoundLogger(self, target)

    def log(
        self,
        level: str,
        target: str,
        message: str,
        fields: dict[str, Any],
        depth: int = 1,
        sinks: list[Sink] | None = None,
        request: RequestContext | None = None,
        redacted: bool = False,
    ) -> None:
        """Emit one event to every sink (or only to ``sinks``, e.g. stdout for telemetry diagnostics).

        ``request``: the middleware's own line for a request, logged while that request's server span is
        current, so its ids are the request's and the context lookups are skipped. ``redacted``: the
        caller already redacted ``fields`` (keys it chose, values passed through the redactor).
        """
        if not self.enabled or LEVELS[level] < self.threshold:
            return
        if request is not None:
            req = request
            trace_id: str | None = req.trace_id
            span_id: str | None = req.span_id
        else:
            req = CURRENT_REQUEST.get()
            ctx = get_current_span().get_span_context()
            if ctx.is_valid:
                trace_id = f"{ctx.trace_id:032x}"
                span_id = f"{ctx.span_id:016x}"
            elif req is not None:
                trace_id, span_id = req.trace_id, req.span_id
            else:
                trace_id = span_id = None
        # What a client can influence is redacted and bounded here: the caller's fields at any depth, the
        # message, and the request fields formatters copy into every line (request, tenant and user id come
        # from headers: "X-User-Id: Bearer <token>" must not reach a sink). Timestamps, levels and ids the
        # formatter adds are ours, which keeps a line to a few us.
        red = self.redactor
        if fields and not redacted:
            fields = red.record(fields)
        if req is not None:
            req.clean(red)
        event = LogEvent(time.time_ns(), level, red.text(bound(message)), target, fields, trace_id, span_id, req)
        if self.want_caller:
            frame = sys._getframe(depth)
            event.file = frame.f_code.co_filename
            event.line = frame.f_lineno
            event.function = frame.f_code.co_name
        record = self.formatter(event)
        line = dumps_line(record)
        self.emitted += 1
        for sink in self.sinks if sinks is None else sinks:
            sink.emit(line, record, event)
        if self.on_emit is not None:
            self.on_emit(level, target)


class BoundLogger:
    """A logger with a fixed ``target`` (Rust target / Python logger name / slog source group)."""

    __slots__ = ("core", "target")

    def __init__(self, core: Logger, target: str) -> None:
        self.core = core
        self.target = target

    def trace(self, message: str, **fields: Any) -> None:
        self.core.log("TRACE", self.target, message, fields, 2)

    def debug(self, message: str, **fields: Any) -> None:
        self.core.log("DEBUG", self.target, message, fields, 2)

    def info(self, message: str, **fields: Any) -> None:
        self.core.log("INFO", self.target, message, fields, 2)

    def warn(self, message: str, **fields: Any) -> None:
        self.core.log("WARN", self.target, message, fields, 2)

    def error(self, message: str, **fields: Any) -> None:
        self.core.log("ERROR", self.target, message, fields, 2)

    def log(self, level: str, message: str, **fields: Any) -> None:
        self.core.log(level, self.target, message, fields, 2)

    def request_line(self, level: str, message: str, fields: dict[str, Any], request: RequestContext) -> None:
        """The middleware's line for ``request`` (its server span current); ``fields`` already redacted."""
        self.core.log(level, self.target, message, fields, 2, request=request, redacted=True)
