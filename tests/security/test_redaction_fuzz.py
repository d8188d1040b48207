"""Redaction under attack, in process: secret canaries through every input of every profile, read back from
every sink (stdout, rotated files, Loki push bodies, PocketBase records, OTLP span bytes, /metrics, aurum's
trace API). Zero canaries anywhere, no unexpected 5xx.

Two layers: a deterministic grid (every secret key casing and every secret shape, in every echoed header,
query parameter and JSON field) and hypothesis (derandomized, bounded examples) for combinations. The
proofs run the same grid against redactors broken on purpose: one that misses one casing, one that skips
request fields, one that does not decode query strings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsconf.fuzz.canary import CanaryBook, scan_all
from obsconf.fuzz.execute import Outcome, send_asgi
from obsconf.fuzz.inputs import (
    ECHOED_HEADERS,
    FIELD_HINTS,
    SECRET_KEYS,
    SECRET_SHAPES,
    materialize,
    operations,
    plans,
)
from obsconf.fuzz.inputs import Request as FuzzRequest
from obsconf.fuzz.local import LocalService
from obsconf.reference import PROFILES
from obsconf.reference import redact as redact_mod
from obsconf.reference.logs import Logger, StreamSink
from obsconf.reference.redact import MASK, Redactor

EXAMPLES_PER_OPERATION = 12  # the CLI (`obsconf security`) runs more, on the real stack
#: A route per profile whose query string and JSON fields the service logs or traces.
ECHOING_ROUTE = {"persist": ("POST", "/snapshots/k1"), "syncd": ("POST", "/logs/emit"),
                 "aurum": ("POST", "/api/scenarios"), "prethrift": ("GET", "/api/search"),
                 "assistant": ("POST", "/api/chat")}
#: Body fields each route echoes into a log line or span (the grid puts secret shapes in them).
ECHOED_FIELDS = {"persist": ("agent_id", "session_id"), "syncd": (), "aurum": ("name",),
                 "prethrift": (), "assistant": ("user_id", "conversation_id", "model", "message")}


def grid(profile: str, book: CanaryBook) -> Iterator[FuzzRequest]:
    """Every secret shape in every echoed header, query value and JSON field, and every secret key casing
    as a query parameter and a JSON key, for the profile's echoing route."""
    method, route = ECHOING_ROUTE[profile]
    for i, shape in enumerate(SECRET_SHAPES):
        header = ECHOED_HEADERS[i % len(ECHOED_HEADERS)]
        headers = [(h, book.place("header", f"header {h}", shape)) for h in (header, "X-User-Id", "X-Tenant-Id")]
        query = [("q", book.place("query", "query q", shape)), ("tag", book.place("query", "query tag", shape))]
        body = {f: book.place("body-field", f"$.{f}", shape) for f in ECHOED_FIELDS[profile]}
        if profile == "prethrift":
            query.append(("type", book.place("query", "query type", shape)))  # a metric label on error
        yield _request(method, route, headers, query, body, book)
    for key in SECRET_KEYS:
        query = [(key, book.place("query-key", f"query {key}", "{c}")), ("q", "blue")]
        body = {key: book.place("body-key", f"$.{key}", "{c}"), "message": "hi", "name": "n",
                "nested": [{"deeper": {key: book.place("body-key", f"$.nested[0].deeper.{key}", "{c}")}}],
                "pair": {"name": key, "value": book.place("body-pair", f"$.pair{{name: {key}}}", "{c}")}}
        yield _request(method, route, [], query, body, book)


def _request(method: str, route: str, headers: list[tuple[str, str]], query: list[tuple[str, str]],
             body: dict[str, Any], book: CanaryBook) -> FuzzRequest:
    from urllib.parse import urlencode

    canaries = tuple(book.placements)
    raw = orjson.dumps(body) if method == "POST" else None
    hdrs = tuple(headers) + ((("Content-Type", "application/json"),) if raw is not None else ())
    return FuzzRequest(method, route, f"{route}?{urlencode(query)}", hdrs, raw, canaries, False)


def run_grid(profile: str, tmp_path: Path) -> tuple[list[Any], list[Outcome], int]:
    book = CanaryBook(random.Random(profile))
    with LocalService(profile, tmp_path) as svc:
        outcomes = [send_asgi(svc.client, req) for req in grid(profile, book)]
        leaks = scan_all(svc.sink_texts(), book.placements)
    return leaks, outcomes, len(book.placements)


def _describe(leaks: list[Any]) -> str:
    return "\n".join(f"{x.sink} <- {x.placement.where if x.placement else '?'} ({x.placement.shape if x.placement else '?'})"
                     f": {x.context[:160]}" for x in leaks[:10])


@pytest.mark.parametrize("profile", PROFILES)
def test_grid_of_secret_shapes_and_casings_reaches_no_sink(profile: str, tmp_path: Path) -> None:
    leaks, outcomes, placed = run_grid(profile, tmp_path)
    assert placed > 150
    assert not [o for o in outcomes if o.server_error], outcomes
    assert leaks == [], _describe(leaks)


@pytest.mark.parametrize("profile", PROFILES)
def test_hypothesis_requests_leak_nothing_and_never_fail_with_5xx(profile: str, tmp_path: Path) -> None:
    book = CanaryBook(random.Random(7))
    outcomes: list[Outcome] = []
    with LocalService(profile, tmp_path) as svc:
        ops = operations(svc.app.openapi())
        assert {o.route for o in ops} >= set(FIELD_HINTS) & {o.route for o in ops}

        for op in ops:  # one derandomized run per operation, so each gets its share of the examples

            @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(plan=plans([op], max_value=50_000))
            def send(plan: Any) -> None:
                outcomes.append(send_asgi(svc.client, materialize(plan, book)))

            send()
        texts = svc.sink_texts()
    leaks = scan_all(texts, book.placements)
    errors = [o for o in outcomes if o.server_error]
    assert len(outcomes) >= EXAMPLES_PER_OPERATION * len(ops) * 0.9 and len(book.placements) > len(outcomes)
    assert errors == [], errors[:5]
    assert leaks == [], _describe(leaks)
    assert all(text for sink, text in texts if sink in ("stdout", "loki push", "otlp spans", "metrics"))


# ---- proofs: the same grid catches redactors broken on purpose ----------------------------------------------


def test_a_redactor_that_misses_one_casing_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Redactor.text

    def text(self: Redactor, value: str) -> str:
        return value if "PASSWORD=" in value else original(self, value)  # upper case slips through

    monkeypatch.setattr(Redactor, "text", text)
    leaks, _, _ = run_grid("prethrift", tmp_path)
    assert leaks and {x.placement.shape for x in leaks if x.placement} >= {"PASSWORD={c}"}, _describe(leaks)
    assert any(x.placement and x.placement.where == "query PASSWORD" for x in leaks), _describe(leaks)


def test_a_logger_that_skips_request_fields_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The measured leak: 'X-User-Id: Bearer <token>' reached the log store because only the message and the
    caller's fields were redacted, not the request fields every line carries."""
    from obsconf.reference import logs

    monkeypatch.setattr(logs.RequestContext, "clean", lambda self, redactor: None)
    leaks, _, _ = run_grid("assistant", tmp_path)
    assert any(x.placement and x.placement.where == "header X-User-Id" and x.sink == "loki push" for x in leaks), \
        _describe(leaks)


def test_a_redactor_that_does_not_decode_queries_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_mod, "unquote_plus", lambda text: text)
    leaks, _, _ = run_grid("persist", tmp_path)
    assert any(x.sink == "otlp spans" and x.placement and x.placement.kind == "query" for x in leaks), \
        _describe(leaks)


# ---- the redactor itself: any key casing, any depth, name/value pairs ---------------------------------------

_KEYS = st.sampled_from(SECRET_KEYS)
_PLAIN = st.text(alphabet="abcdefghij", min_size=1, max_size=5).map(lambda s: "k" + s)


def _nested(canary: str) -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.just(canary).flatmap(lambda c: _KEYS.map(lambda k: {k: c})),
                     st.sampled_from(("Authorization", "password", "API_KEY")).map(lambda k: {"name": k, "value": canary}),
                     st.sampled_from(SECRET_SHAPES).map(lambda s: s.replace("{c}", canary)))
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(_PLAIN, inner, max_size=3)), max_leaves=6)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_logger_masks_secrets_at_any_depth_in_any_casing(data: st.DataObject) -> None:
    import io

    canary = "cnry0123456789abcdef0123"
    fields = data.draw(st.dictionaries(_PLAIN, _nested(canary), min_size=1, max_size=3))
    buf = io.BytesIO()
    log = Logger(lambda ev: {"msg": ev.message, **ev.fields})
    log.add_sink(StreamSink(buf))
    log.bind("t").info("event", **fields)
    line = buf.getvalue()
    assert canary.encode() not in line, line
    if canary in orjson.dumps(fields).decode():
        assert MASK.encode() in line
