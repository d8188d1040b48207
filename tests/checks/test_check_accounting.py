"""Cross-signal accounting under load (pure): routes from templates, tallies per signal, and a finding with
the four numbers for every route where the signals disagree."""

from __future__ import annotations

from collections import Counter

import pytest

from obsconf.checks.accounting import (
    ANY,
    NO_ANSWER,
    RouteKey,
    RouteMatcher,
    account,
    check_accounting,
    check_histogram_count,
    counter_deltas,
    route_templates,
    status_class,
    tally_logs,
    tally_sent,
    tally_series,
    tally_spans,
    template_regex,
)
from obsconf.contract.model import AccessLogSpec, AccountingSpec, CounterSpec, FieldMatch, SpanAccountingSpec
from obsconf.model import HttpExchange, LogRecord, Span

COUNTER = CounterSpec("http_requests_total", route_label="endpoint", status_label="status_code", method_label="method")
ACCESS = AccessLogSpec(FieldMatch("message", "^request completed$"), route_field="path", status_field="status_code",
                       method_field="method")
SPEC = AccountingSpec(COUNTER, spans=SpanAccountingSpec(), access_log=ACCESS, exclude=("/metrics",),
                      loc="svc.yaml:40 load.accounting")


def x(method: str, path: str, status: int) -> HttpExchange:
    return HttpExchange(method, f"http://127.0.0.1:9/{path.lstrip('/')}", status, {}, "", 1.0)


def span(route: str | None, status: int, *, kind: str = "server", method: str = "GET", **attrs: object) -> Span:
    a: dict[str, object] = {"http.request.method": method, "http.response.status_code": status, **attrs}
    if route is not None:
        a["http.route"] = route
    return Span("a" * 32, "b" * 16, None, f"{method} {route}", "svc", 0, 1, a, kind=kind)


def line(route: str, status: int, method: str = "GET", message: str = "request completed") -> LogRecord:
    return LogRecord(0, "", {"message": message, "path": route, "status_code": status, "method": method})


@pytest.mark.parametrize("value,expected", [(200, "2xx"), ("404", "4xx"), (503, "5xx"), (0, NO_ANSWER),
                                            (None, NO_ANSWER), ("error", "error"), (99, "99")])
def test_status_class(value: object, expected: str) -> None:
    assert status_class(value) == expected


@pytest.mark.parametrize("template,path,matches", [
    ("/snapshots/{key}", "/snapshots/abc", True),
    ("/snapshots/{key}", "/snapshots/abc/verify", False),
    ("/items/<sku>", "/items/sku-mug", True),
    ("/items/<int:id>/x", "/items/7/x", True),
    ("/users/:id", "/users/42", True),
    ("/files/{name:path}", "/files/a/b/c", True),
    ("/api/ok", "/api/ok", True),
    ("/api/ok", "/api/okay", False),
])
def test_template_regex(template: str, path: str, matches: bool) -> None:
    rx = template_regex(template)
    assert rx is not None and bool(rx.match(path)) is matches


def test_matcher_prefers_the_exact_and_the_most_literal_template() -> None:
    m = RouteMatcher(["/snapshots/{key}", "/snapshots/{key}/verify", "/snapshots/missing", "unmatched"])
    assert m.route("/snapshots/k1") == "/snapshots/{key}"
    assert m.route("/snapshots/k1/verify") == "/snapshots/{key}/verify"
    assert m.route("/snapshots/missing") == "/snapshots/missing"
    assert m.route("http://127.0.0.1:9/snapshots/k2?x=1") == "/snapshots/{key}"
    assert m.route("/nowhere") == "/nowhere"  # a path no template matches is its own route


def _signals(sent: list[HttpExchange], series: list[tuple[dict[str, str], float]], spans: list[Span],
             lines: list[LogRecord]) -> list:
    m = RouteMatcher(route_templates(SPEC, series, spans, lines))
    return account(tally_sent(sent, m, SPEC.exclude, by_method=True),
                   tally_series(series, m, SPEC.exclude, route_label="endpoint", status_label="status_code",
                                method_label="method"),
                   tally_spans(spans, SPEC.spans, m, SPEC.exclude, by_method=True),
                   tally_logs(lines, ACCESS, m, SPEC.exclude, by_method=True))


def _good() -> tuple[list[HttpExchange], list[tuple[dict[str, str], float]], list[Span], list[LogRecord]]:
    sent = [x("GET", "/snapshots/a", 200), x("GET", "/snapshots/b", 200), x("POST", "/snapshots/c", 201),
            x("GET", "/api/fail?status=500", 500), x("GET", "/metrics", 200)]
    series = [({"method": "GET", "endpoint": "/snapshots/{key}", "status_code": "200"}, 2.0),
              ({"method": "POST", "endpoint": "/snapshots/{key}", "status_code": "201"}, 1.0),
              ({"method": "GET", "endpoint": "/api/fail", "status_code": "500"}, 1.0),
              ({"method": "GET", "endpoint": "/metrics", "status_code": "200"}, 37.0)]  # Prometheus' own scrapes
    spans = [span("/snapshots/{key}", 200), span("/snapshots/{key}", 200), span("/snapshots/{key}", 201, method="POST"),
             span("/api/fail", 500), span(None, 200, kind="internal")]
    lines = [line("/snapshots/{key}", 200), line("/snapshots/{key}", 200), line("/snapshots/{key}", 201, "POST"),
             line("/api/fail", 500), line("/api/fail", 500, message="something else")]
    return sent, series, spans, lines


def test_every_signal_agrees_per_route_and_status_class() -> None:
    rows = _signals(*_good())
    assert [(r.key.label(), r.sent, r.counter, r.spans, r.logs) for r in rows] == [
        ("GET /api/fail 5xx", 1, 1, 1, 1),
        ("GET /snapshots/{key} 2xx", 2, 2, 2, 2),
        ("POST /snapshots/{key} 2xx", 1, 1, 1, 1),
    ]
    assert check_accounting(SPEC, rows) == []


def test_a_counter_that_skips_errors_is_a_finding_with_the_four_numbers() -> None:
    sent, series, spans, lines = _good()
    series = [s for s in series if s[0]["status_code"] != "500"]
    findings = check_accounting(SPEC, _signals(sent, series, spans, lines))
    assert len(findings) == 1
    f = findings[0]
    assert f.check == "load.accounting" and f.where == "svc.yaml:40 load.accounting"
    assert "GET /api/fail 5xx: sent 1, http_requests_total +0, server spans 1, access-log lines 1" in f.message
    assert "the counter misses 1 requests" in f.message


def test_dropped_spans_and_a_sampled_access_log_are_findings() -> None:
    sent, series, spans, lines = _good()
    findings = check_accounting(SPEC, _signals(sent, series, spans[1:], lines[1:]))
    messages = " | ".join(f.message for f in findings)
    assert "GET /snapshots/{key} 2xx" in messages
    assert "1 server spans for 2 requests" in messages and "1 access-log lines for 2 requests" in messages


def test_spans_below_rate_one_must_lie_within_the_binomial_bounds() -> None:
    key = RouteKey("GET", "/api/ok", "2xx")
    within = account(Counter({key: 1000}), Counter({key: 1000}), Counter({key: 110}), None)
    assert check_accounting(SPEC, within, sample_rate=0.1) == []
    outside = account(Counter({key: 1000}), Counter({key: 1000}), Counter({key: 20}), None)
    (f,) = check_accounting(SPEC, outside, sample_rate=0.1)
    assert "20 server spans for 1000 requests (rate 0.1: about 100)" in f.message


def test_errors_always_sampled_are_exact_below_rate_one() -> None:
    key = RouteKey("GET", "/api/fail", "5xx")
    rows = account(Counter({key: 10}), Counter({key: 10}), Counter({key: 9}), None)
    assert check_accounting(SPEC, rows, sample_rate=0.5) == []
    assert check_accounting(SPEC, rows, sample_rate=0.5, always_sample_errors=True)


def test_requests_without_an_answer_are_shown_not_compared() -> None:
    key = RouteKey("GET", "/api/ok", NO_ANSWER)
    ok = RouteKey("GET", "/api/ok", "2xx")
    rows = account(Counter({key: 3, ok: 5}), Counter({ok: 5}), Counter({ok: 5}), Counter({ok: 5}))
    assert check_accounting(SPEC, rows) == []


def test_no_vacuous_pass() -> None:
    (f,) = check_accounting(SPEC, [])
    assert "sent no request" in f.message
    key = RouteKey("GET", "/api/ok", "2xx")
    (g,) = check_accounting(SPEC, account(Counter({key: 4}), Counter(), None, None))
    assert "did not increase on any route" in g.message


def test_recorded_requests_must_match_locusts_count() -> None:
    key = RouteKey("GET", "/api/ok", "2xx")
    rows = account(Counter({key: 4}), Counter({key: 4}), None, None)
    (f,) = check_accounting(SPEC, rows, recorded=4, locust_total=5)
    assert "Locust's statistics count 5" in f.message


def test_without_a_method_label_methods_are_not_compared() -> None:
    m = RouteMatcher(["/a"])
    sent = tally_sent([x("GET", "/a", 200), x("POST", "/a", 200)], m, (), by_method=False)
    counted = tally_series([({"route": "/a", "code": "200"}, 2.0)], m, (), route_label="route", status_label="code",
                           method_label=None)
    assert sent == counted == Counter({RouteKey(ANY, "/a", "2xx"): 2})


def test_histogram_count_must_equal_the_counter() -> None:
    key = RouteKey("GET", "/a", ANY)
    assert check_histogram_count("h", Counter({key: 5}), Counter({key: 5})) == []
    (f,) = check_histogram_count("h", Counter({key: 5}), Counter({key: 3}))
    assert f.check == "load.histogram" and "h_count +3, request counter +5" in f.message
    (g,) = check_histogram_count("h", Counter({key: 5}), Counter())
    assert "did not increase" in g.message


def test_counter_deltas_count_new_series_and_resets() -> None:
    before = [({"a": "1"}, 10.0), ({"a": "2"}, 50.0)]
    after = [({"a": "1"}, 15.0), ({"a": "2"}, 4.0), ({"a": "3"}, 2.0)]
    assert counter_deltas(before, after) == [({"a": "1"}, 5.0), ({"a": "2"}, 4.0), ({"a": "3"}, 2.0)]


def test_lower_case_methods_and_status_words_from_a_foreign_service() -> None:
    # client_golang's promhttp labels methods in lower case, and some counters name errors as words
    m = RouteMatcher(["/orders"])
    counted = tally_series([({"handler": "/orders", "method": "post", "code": "201"}, 3.0),
                            ({"handler": "/orders", "method": "post", "code": "error"}, 1.0)], m, (),
                           route_label="handler", status_label="code", method_label="method")
    assert counted == Counter({RouteKey("POST", "/orders", "2xx"): 3, RouteKey("POST", "/orders", "error"): 1})
