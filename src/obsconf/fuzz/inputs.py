"""Hostile requests for every operation of a service's OpenAPI document, as hypothesis strategies.

Each request carries secret canaries in secret-shaped places (every one is something a redactor must mask):

- headers: ``Authorization`` (Bearer, Basic, raw), ``Cookie``, ``X-Api-Key``, ``X-Auth-Token``, and
  ``Bearer``/``token=``/URL-password shapes in the headers services copy into logs (``X-User-Id``,
  ``X-Tenant-Id``, ``X-Request-Id``, ``User-Agent``);
- query: parameters named like secrets in every casing (``password``, ``Password``, ``API_KEY``, ``apiKey``,
  ``accessToken`` ...) and declared parameters holding secret shapes;
- path parameters holding secret shapes;
- JSON bodies: the operation's fields (its requestBody schema, plus :data:`FIELD_HINTS`) holding secret
  shapes, secret-named keys at any depth, and a secret split across two fields
  (``{"name": "Authorization", "value": ...}``).

Around them the requests are hostile in shape: control characters, quotes, line separators, odd unicode,
wrong types, invalid JSON and invalid UTF-8, deep nesting, and values up to ``max_value`` characters.

Strategies build a :class:`Plan` with numbered slots; :func:`materialize` fills each slot with a fresh
canary from a :class:`~obsconf.fuzz.canary.CanaryBook`, so the strategies stay pure and shrinkable.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from obsconf.fuzz.canary import CanaryBook

#: Query parameter and JSON key names that name a secret, in the casings services meet.
SECRET_KEYS: tuple[str, ...] = (
    "password", "Password", "PASSWORD", "passwd", "pwd", "db_password", "userPassword",
    "api_key", "API_KEY", "apiKey", "ApiKey", "api-key", "X-Api-Key",
    "access_token", "accessToken", "AccessToken", "refresh_token", "auth_token", "token", "Token",
    "client_secret", "clientSecret", "secret", "SECRET_KEY", "private_key", "privateKey",
    "authorization", "Authorization", "credentials", "cookie", "Set-Cookie", "dsn", "sentry_dsn",
)
#: How a secret is written inside a value whose key names no secret ({c} is the canary).
SECRET_SHAPES: tuple[str, ...] = (
    "Bearer {c}", "bearer {c}", "BEARER {c}", "Authorization: Bearer {c}", "token={c}", "password: {c}",
    "PASSWORD={c}", "api_key={c}", "apiKey={c}", "accessToken={c}", 'Password="{c}"', '{"password": "{c}"}',
    "client_secret: '{c}'", "https://user:{c}@example.com/path", "postgres://app:{c}@db.internal:5432/x",
    "user=bob&password={c}&next=/home",
)
#: Headers a service copies into its logs or spans; they get :data:`SECRET_SHAPES`.
ECHOED_HEADERS = ("X-User-Id", "X-Tenant-Id", "X-Request-Id", "User-Agent")
#: Body fields to fill when an operation's schema names none (the reference reads raw JSON bodies).
FIELD_HINTS: dict[str, tuple[str, ...]] = {
    "/api/chat": ("message", "user_id", "conversation_id", "model"),
    "/snapshots/{key}": ("agent_id", "session_id", "state", "metadata"),
    "/sync/jobs/{job_name}": ("source", "destination", "trigger"),
    "/api/scenarios": ("name", "tenant_id"),
    "/v1/observability/traces/{trace_id}/export": ("format",),
}
#: Routes that answer 5xx on purpose.
DESIGNED_FAILURES = frozenset({"/api/fail", "/api/error"})
#: Parameters whose range is clamped for fuzzing (a 60 s sleep is by design, not worth waiting for).
CLAMPED = {"ms": (0, 20), "n": (0, 50), "limit": (-5, 200)}
#: Keys that would switch on a designed failure; never generated.
FORBIDDEN_KEYS = frozenset({"fail"})

_TRICKY = st.sampled_from([
    "\n", "\r\n", "\r", '"', "'", "\\", "\x00", "\x1b[31m", "\u2028", "\u2029", "\x85", "\ufeff", "\t",
    '"}\n{"level":"ERROR","message":"forged"}', "%0a", "\ud7ff", "\U0001f600", "</script>", "${jndi:x}",
])
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
_SLOT = re.compile(r"\u27e6(\d+)\u27e7")  # ⟦n⟧


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" | "query"
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One method + path of the OpenAPI document."""

    method: str
    route: str  # the template, e.g. /snapshots/{key}
    params: tuple[Param, ...] = ()
    body_fields: tuple[str, ...] = ()
    has_body: bool = False


def operations(openapi: Mapping[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI 3 document (path and query parameters, body field names)."""
    out = []
    for route, item in sorted((openapi.get("paths") or {}).items()):
        for method, op in sorted(item.items()):
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = tuple(Param(p["name"], p["in"], p.get("schema") or {}) for p in op.get("parameters", [])
                           if p.get("in") in ("path", "query"))
            schema = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
            props = tuple(sorted((schema or {}).get("properties") or {}))
            out.append(Operation(method.upper(), route, params, props or FIELD_HINTS.get(route, ()),
                                 has_body=method in ("post", "put", "patch")))
    return out


@dataclass(frozen=True)
class Slot:
    """Where a canary goes: ``shape`` holds ``{c}``; ``basic`` slots are sent base64-encoded."""

    kind: str
    where: str
    shape: str
    basic: bool = False


@dataclass(frozen=True)
class Plan:
    """A request with canary slots ``⟦n⟧`` not yet filled in."""

    op: Operation
    path: str  # with slots, not yet percent-encoded
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: Any = None  # a JSON value (with slots in strings), or raw bytes
    raw_body: bytes | None = None
    slots: tuple[Slot, ...] = ()

    @property
    def designed_failure(self) -> bool:
        return self.op.route in DESIGNED_FAILURES


@dataclass(frozen=True)
class Request:
    """A concrete request: what an executor sends."""

    method: str
    route: str
    target: str  # path and query, percent-encoded
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    canaries: tuple[str, ...]
    designed_failure: bool


class _Slots:
    def __init__(self) -> None:
        self.slots: list[Slot] = []

    def add(self, kind: str, where: str, shape: str, basic: bool = False) -> str:
        self.slots.append(Slot(kind, where, shape, basic))
        return f"\u27e6{len(self.slots) - 1}\u27e7"


@st.composite
def _noise(draw: st.DrawFn, max_value: int) -> str:
    """A hostile filler: tricky characters, text, and sometimes a long run (up to ``max_value``)."""
    parts = draw(st.lists(st.one_of(_TRICKY, _TEXT), max_size=4))
    if max_value > 1000 and draw(st.integers(0, 9)) == 0:
        parts.append("A" * draw(st.integers(1000, max_value)))
    return "".join(parts)


@st.composite
def _secret_value(draw: st.DrawFn, slots: _Slots, kind: str, where: str, max_value: int) -> str:
    shape = draw(st.sampled_from(SECRET_SHAPES))
    slot = slots.add(kind, where, shape)
    if draw(st.booleans()):
        return slot
    return draw(_noise(max_value)) + " " + slot + " " + draw(_noise(64))


def _param_value(schema: Mapping[str, Any], name: str) -> st.SearchStrategy[str]:
    kind = schema.get("type")
    if kind == "integer":
        lo, hi = CLAMPED.get(name, (schema.get("minimum", -10**6), schema.get("maximum", 10**6)))
        return st.one_of(st.integers(lo, hi).map(str), st.sampled_from(["", "-1", "1e9", "abc", "9" * 30, "0x10"]))
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e6).map(str),
                         st.sampled_from(["nan", "inf", "-1", "x"]))
    if "enum" in schema:
        return st.one_of(st.sampled_from([str(v) for v in schema["enum"]]), _TEXT)
    return _TEXT


@st.composite
def _json_value(draw: st.DrawFn, slots: _Slots, path: str, depth: int, max_value: int) -> Any:
    """A JSON value with secrets under secret-named keys, in name/value pairs and in secret shapes."""
    choice = draw(st.integers(0, 9 if depth < 4 else 3))
    if choice == 0:
        return draw(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                              st.floats(allow_nan=False, allow_infinity=False)))
    if choice == 1:
        return draw(_noise(max_value))
    if choice in (2, 3):
        return draw(_secret_value(slots, "body", path, max_value))
    if choice in (4, 5):
        return [draw(_json_value(slots, f"{path}[{i}]", depth + 1, max_value)) for i in range(draw(st.integers(0, 3)))]
    if choice == 6:  # the secret's name in one field, its value in another
        name = draw(st.sampled_from(("Authorization", "password", "X-Api-Key", "api_key", "Cookie")))
        label = draw(st.sampled_from(("name", "key", "header", "field")))
        return {label: name, "value": slots.add("body-pair", f"{path}.{{{label}: {name}, value}}", "{c}")}
    obj: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            key = draw(st.sampled_from(SECRET_KEYS))
            obj[key] = slots.add("body-key", f"{path}.{key}", "{c}")
        else:
            key = "k_" + draw(st.text(alphabet="abcdefghij_", min_size=1, max_size=6))
            obj[key] = draw(_json_value(slots, f"{path}.{key}", depth + 1, max_value))
    return obj


@st.composite
def _body(draw: st.DrawFn, op: Operation, slots: _Slots, max_value: int) -> tuple[Any, bytes | None]:
    """(JSON body, raw bytes): mostly a JSON object with the operation's fields, sometimes malformed."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return None, draw(st.sampled_from([b"{", b"not json", b"\xff\xfe{}", b'{"a": "\xc3\x28"}', b"[" * 3000,
                                           b'{"a": NaN}', b"", b"\x00" * 10]))
    if kind == 1:
        return draw(st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=10), st.integers())), None
    obj: dict[str, Any] = {}
    for name in op.body_fields:
        if name in FORBIDDEN_KEYS or not draw(st.integers(0, 3)):
            continue
        obj[name] = draw(st.one_of(_secret_value(slots, "body-field", f"$.{name}", max_value),
                                   _json_value(slots, f"$.{name}", 1, max_value)))
    extra = draw(_json_value(slots, "$", 1, max_value))
    if isinstance(extra, dict):
        obj.update({k: v for k, v in extra.items() if k not in obj})
    else:
        obj["k_extra"] = extra
    return obj, None


@st.composite
def plans(draw: st.DrawFn, ops: Sequence[Operation], *, max_value: int = 200_000) -> Plan:
    """One hostile request for one of ``ops``."""
    op = draw(st.sampled_from(list(ops)))
    slots = _Slots()
    path, query = _path_and_query(draw, op, slots)
    headers = _headers(draw, slots)
    body, raw = (None, None)
    if op.has_body:
        body, raw = draw(_body(op, slots, max_value))
    return Plan(op, path, tuple(query), tuple(headers), body, raw, tuple(slots.slots))


def _path_and_query(draw: st.DrawFn, op: Operation, slots: _Slots) -> tuple[str, list[tuple[str, str]]]:
    """The route with its path parameters filled, and the query: parameters (secrets in some string ones)
    and secret-named keys."""
    path = op.route
    query: list[tuple[str, str]] = []
    for param in op.params:
        is_string = param.schema.get("type", "string") == "string"
        if param.where == "path":
            if is_string and draw(st.booleans()):
                value = draw(_secret_value(slots, "path", f"path {{{param.name}}}", 200))
            else:
                value = draw(_param_value(param.schema, param.name).filter(bool)) \
                    if param.schema.get("type") != "string" \
                    else draw(_TEXT.filter(lambda t: t.strip("./") != "")) or "x"
            path = path.replace("{" + param.name + "}", value)
        elif draw(st.integers(0, 2)):
            if is_string and draw(st.booleans()):
                query.append((param.name, draw(_secret_value(slots, "query", f"query {param.name}", 2000))))
            else:
                query.append((param.name, draw(_param_value(param.schema, param.name))))
    for key in draw(st.lists(st.sampled_from(SECRET_KEYS), max_size=3, unique=True)):
        query.append((key, slots.add("query-key", f"query {key}", "{c}")))
    return path, query


def _headers(draw: st.DrawFn, slots: _Slots) -> list[tuple[str, str]]:
    """Credentials (Authorization, Cookie, an API key header) and secrets in headers a service may echo."""
    headers: list[tuple[str, str]] = []
    auth = draw(st.sampled_from(("Bearer {c}", "Basic", "{c}", "Token {c}", None)))
    if auth == "Basic":
        headers.append(("Authorization", slots.add("header", "header Authorization", "user:{c}", basic=True)))
    elif auth is not None:
        headers.append(("Authorization", slots.add("header", "header Authorization", auth)))
    if draw(st.booleans()):
        headers.append(("Cookie", "theme=dark; " + slots.add("header", "header Cookie", "session={c}")))
    if draw(st.booleans()):
        name = draw(st.sampled_from(("X-Api-Key", "X-Auth-Token", "Api-Key")))
        headers.append((name, slots.add("header", f"header {name}", "{c}")))
    for name in draw(st.lists(st.sampled_from(ECHOED_HEADERS), max_size=4, unique=True)):
        shape = draw(st.sampled_from(SECRET_SHAPES))
        noise = draw(_HEADER_TEXT)
        headers.append((name, (noise + " " if noise else "") + slots.add("header", f"header {name}", shape)))
    return headers


def _fill(text: str, canaries: Sequence[str], slots: Sequence[Slot]) -> str:
    def sub(m: re.Match[str]) -> str:
        i = int(m.group(1))
        filled = slots[i].shape.replace("{c}", canaries[i])
        if slots[i].basic:
            return "Basic " + base64.b64encode(filled.encode()).decode()
        return filled

    return _SLOT.sub(sub, text)


def _fill_json(value: Any, canaries: Sequence[str], slots: Sequence[Slot]) -> Any:
    if isinstance(value, str):
        return _fill(value, canaries, slots)
    if isinstance(value, list):
        return [_fill_json(v, canaries, slots) for v in value]
    if isinstance(value, dict):
        return {k: _fill_json(v, canaries, slots) for k, v in value.items()}
    return value


def materialize(plan: Plan, book: CanaryBook) -> Request:
    """Fill every slot of ``plan`` with a fresh canary (recorded in ``book``) and encode the request."""
    canaries = []
    for slot in plan.slots:
        c = book.new()
        filled = slot.shape.replace("{c}", c)
        forms = (base64.b64encode(filled.encode()).decode(),) if slot.basic else ()
        book.place(slot.kind, slot.where, slot.shape, forms, canary=c)
        canaries.append(c)
    path = _fill(plan.path, canaries, plan.slots)
    segments = [quote(s, safe="") for s in path.split("/")]
    query = [(k, _fill(v, canaries, plan.slots)) for k, v in plan.query]
    target = "/".join(segments) + (("?" + urlencode(query)) if query else "")
    headers = [(k, _fill(v, canaries, plan.slots)) for k, v in plan.headers]
    body: bytes | None = plan.raw_body
    if plan.body is not None:
        body = json.dumps(_fill_json(plan.body, canaries, plan.slots), ensure_ascii=False).encode("utf-8",
                                                                                                   "surrogatepass")
        headers.append(("Content-Type", "application/json"))
    elif plan.op.has_body and body is not None:
        headers.append(("Content-Type", "application/json"))
    return Request(plan.op.method, plan.op.route, target, tuple(headers), body, tuple(canaries),
                   plan.designed_failure)
