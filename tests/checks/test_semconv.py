"""Semantic-conventions checks on good and non-conformant spans and /metrics text, and the tables behind them."""

from __future__ import annotations

import ast
from pathlib import Path

import opentelemetry.semconv
from prometheus_client import CollectorRegistry, Counter, Histogram, Summary, generate_latest

from obsconf.checks.semconv import check_metric_semconv, check_span_semconv
from obsconf.checks.semconv_registry import STABLE_ATTRIBUTE_TYPES, load_conventions
from obsconf.model import Span
from obsconf.readers.metrics_text import parse_metrics

TRACE = "ab" * 16


def span(name: str, **attributes: object) -> Span:
    return Span(TRACE, "cd" * 8, None, name, "shop", 0, 1000, attributes=dict(attributes), kind="server")


CURRENT = span("GET /items", **{"http.request.method": "GET", "http.route": "/items", "url.scheme": "http",
                                "http.response.status_code": 200, "server.port": 8080, "error.type": "500",
                                "shop.cart.size": 3})
OLD = span("POST /api/chat", **{"http.method": "POST", "http.status_code": 200, "http.scheme": "http",
                                "http.host": "127.0.0.1", "user_agent.original": "python-requests"})


# ---- the tables come from the pinned package ------------------------------------------------------------


def test_tables_come_from_the_package() -> None:
    conv = load_conventions()
    assert "0.66b2" in conv.version and "schema 1." in conv.version
    dep = conv.deprecated_attributes["http.status_code"]
    assert dep.replacement == "http.response.status_code" and "Replaced by" in dep.note
    assert conv.deprecated_attributes["db.system"].replacement == "db.system.name"
    # a note naming several replacements keeps the note and names none
    assert conv.deprecated_attributes["net.peer.name"].replacement is None
    # stable names and incubating copies of them are not deprecated; GenAI names moved, not deprecated
    for name in ("http.response.status_code", "http.request.method", "url.scheme", "user_agent.original",
                 "gen_ai.operation.name"):
        assert name not in conv.deprecated_attributes, name
    duration = conv.metrics["http.server.request.duration"]
    assert (duration.instrument, duration.unit, duration.prometheus_name) == (
        "histogram", "s", "http_server_request_duration_seconds")
    assert conv.attribute_types["rpc.grpc.status_code"] == "int"  # from the package's enum of int values


def test_stable_type_table_covers_exactly_the_packages_stable_attributes() -> None:
    """The one hand-kept table: it must name every stable attribute of the pinned package, and nothing else."""
    root = Path(opentelemetry.semconv.__file__).parent / "attributes"
    names = set()
    for path in root.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant):
                names.add(node.value.value)
    assert set(STABLE_ATTRIBUTE_TYPES) == names
    assert load_conventions().stable_attributes == frozenset(names)


# ---- spans ----------------------------------------------------------------------------------------------


def test_current_names_pass() -> None:
    assert check_span_semconv([CURRENT]) == []


def test_deprecated_attribute_names_are_flagged_with_their_replacement() -> None:
    findings = check_span_semconv([OLD, OLD, CURRENT], where="assistant.yaml:90 spans.semconv",
                                  trace_url="http://127.0.0.1:16686/trace/{trace_id}")
    by_actual = {f.actual: f for f in findings}
    assert set(by_actual) == {"http.method", "http.status_code", "http.scheme", "http.host"}
    status = by_actual["http.status_code"]
    assert status.check == "spans.semconv.deprecated"
    assert status.expected == "http.response.status_code"
    assert "deprecated" in status.message and "2 span(s), e.g. 'POST /api/chat'" in status.message
    assert status.link == f"http://127.0.0.1:16686/trace/{TRACE}"
    assert status.where == "assistant.yaml:90 spans.semconv"
    # no single replacement: the package's note tells what to do instead
    assert "server.address" in by_actual["http.host"].expected


def test_wrong_value_types_of_known_attributes() -> None:
    bad = span("GET /x", **{"http.response.status_code": "200", "server.port": 8080.5,
                            "http.request.method": 1, "error.type": True})
    findings = check_span_semconv([bad])
    by_attr = {f.message.split("'")[1]: f for f in findings}
    assert set(by_attr) == {"http.response.status_code", "server.port", "http.request.method", "error.type"}
    assert all(f.check == "spans.semconv.type" for f in findings)
    assert by_attr["http.response.status_code"].expected == "int"
    assert by_attr["http.response.status_code"].actual == "'200' (string)"
    assert "must be an int" in by_attr["http.response.status_code"].message


def test_no_spans_is_a_finding_not_a_pass() -> None:
    findings = check_span_semconv([])
    assert len(findings) == 1 and findings[0].check == "spans.semconv"
    assert "no spans arrived" in findings[0].message and findings[0].actual == "0 spans"


# ---- metrics --------------------------------------------------------------------------------------------


def families(build) -> list:  # noqa: ANN001
    registry = CollectorRegistry()
    build(registry)
    return parse_metrics(generate_latest(registry).decode())


def test_metrics_in_the_conventions_unit_and_type_pass() -> None:
    def build(reg: CollectorRegistry) -> None:
        Histogram("http_server_request_duration_seconds", "Duration of HTTP server requests.",
                  ["http_request_method", "http_response_status_code"], registry=reg).labels("GET", "200").observe(0.1)
        Counter("shop_orders_total", "Orders placed.", registry=reg).inc()  # not in the conventions: not judged

    assert check_metric_semconv(families(build)) == []


def test_milliseconds_instead_of_seconds_is_flagged() -> None:
    def build(reg: CollectorRegistry) -> None:
        Histogram("http_server_request_duration_milliseconds", "ms", registry=reg).observe(12)
        Histogram("http_client_request_duration_ms", "ms", registry=reg).observe(12)

    findings = check_metric_semconv(families(build), where="shop.yaml:30 metrics.semconv")
    assert [(f.check, f.actual, f.expected) for f in findings] == [
        ("metrics.semconv.unit", "http_server_request_duration_milliseconds", "http_server_request_duration_seconds"),
        ("metrics.semconv.unit", "http_client_request_duration_ms", "http_client_request_duration_seconds"),
    ]
    assert "measure in 's' (seconds), not milliseconds" in findings[0].message
    assert findings[0].where == "shop.yaml:30 metrics.semconv"


def test_missing_unit_word_wrong_type_deprecated_metric_and_label() -> None:
    def build(reg: CollectorRegistry) -> None:
        Summary("http_server_request_duration_seconds", "a summary, not a histogram", registry=reg).observe(0.1)
        Histogram("http_client_request_duration", "no unit word", registry=reg).observe(0.1)
        # deprecated: db.client.connections.use_time (ms) -> db.client.connection.use_time (s)
        Histogram("db_client_connections_use_time_milliseconds", "old", registry=reg).observe(3)
        Counter("http_client_active_requests_total", "x", registry=reg)  # an updowncounter exposed as a counter
        Histogram("http_server_request_body_size_bytes", "body", ["http_status_code"], registry=reg).labels("200").observe(1)

    findings = check_metric_semconv(families(build))
    got = {(f.check, f.actual) for f in findings}
    assert got == {
        ("metrics.semconv.type", "summary"),
        ("metrics.semconv.unit", "http_client_request_duration"),
        ("metrics.semconv.deprecated", "db_client_connections_use_time_milliseconds"),
        ("metrics.semconv.type", "counter"),
        ("metrics.semconv.deprecated", "http_status_code"),
    }
    dep = next(f for f in findings if f.actual == "db_client_connections_use_time_milliseconds")
    assert dep.expected == "db_client_connection_use_time_seconds" and "Replaced by" in dep.message
    label = next(f for f in findings if f.actual == "http_status_code")
    assert label.expected == "http_response_status_code"


def test_no_metric_families_is_a_finding_not_a_pass() -> None:
    findings = check_metric_semconv([])
    assert len(findings) == 1 and findings[0].check == "metrics.semconv" and "no metric families" in findings[0].message
