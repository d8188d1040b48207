"""Readers' parsing of backend answers (recorded shapes of the real APIs), without a server."""

from __future__ import annotations

from obsconf.readers.jaeger import parse_trace
from obsconf.readers.logs import _rfc3339_ns, selector
from obsconf.readers.metrics_text import parse_metrics
from obsconf.readers.prometheus import _series

JAEGER_TRACE = {
    "traceID": "0af7651916cd43dd8448eb211c80319c",
    "processes": {"p1": {"serviceName": "persist", "tags": []}},
    "spans": [
        {"traceID": "0af7651916cd43dd8448eb211c80319c", "spanID": "b7ad6b7169203331", "operationName": "save_snapshot",
         "references": [], "startTime": 1000, "duration": 200, "processID": "p1",
         "tags": [{"key": "span.kind", "type": "string", "value": "server"},
                  {"key": "otel.status_code", "type": "string", "value": "ERROR"},
                  {"key": "size_bytes", "type": "int64", "value": 42}], "logs": []},
        {"traceID": "0af7651916cd43dd8448eb211c80319c", "spanID": "00f067aa0ba902b7", "operationName": "s3_upload",
         "references": [{"refType": "CHILD_OF", "traceID": "0af7651916cd43dd8448eb211c80319c",
                         "spanID": "b7ad6b7169203331"}],
         "startTime": 1010, "duration": 150, "processID": "p1", "tags": [], "logs": []},
    ],
}


def test_parse_trace_builds_tree_status_kind_and_attributes() -> None:
    spans = {s.name: s for s in parse_trace(JAEGER_TRACE)}
    root, child = spans["save_snapshot"], spans["s3_upload"]
    assert root.parent_id is None and child.parent_id == root.span_id
    assert root.status == "error" and root.kind == "server"
    assert root.attributes == {"size_bytes": 42}
    assert child.service == "persist" and child.status == "unset" and child.kind == "internal"


def test_promql_vector_and_matrix() -> None:
    vector = {"resultType": "vector", "result": [{"metric": {"job": "a"}, "value": [10.5, "3"]}]}
    matrix = {"resultType": "matrix", "result": [{"metric": {"job": "a"}, "values": [[1, "1"], [2, "2"]]}]}
    assert _series(vector)[0].points == ((10.5, 3.0),)
    assert _series(matrix)[0].points == ((1.0, 1.0), (2.0, 2.0))


def test_parse_metrics_keeps_counter_total_suffix_and_buckets() -> None:
    text = """# HELP persist_s3_requests_total Total number of S3 requests
# TYPE persist_s3_requests_total counter
persist_s3_requests_total{operation="put_object"} 3
# HELP persist_s3_latency_seconds S3 operation latencies
# TYPE persist_s3_latency_seconds histogram
persist_s3_latency_seconds_bucket{operation="put_object",le="0.1"} 1
persist_s3_latency_seconds_bucket{operation="put_object",le="+Inf"} 3
persist_s3_latency_seconds_sum{operation="put_object"} 0.5
persist_s3_latency_seconds_count{operation="put_object"} 3
"""
    families = {f.name: f for f in parse_metrics(text)}
    assert families["persist_s3_requests_total"].type == "counter"
    assert families["persist_s3_requests_total"].help == "Total number of S3 requests"
    hist = families["persist_s3_latency_seconds"]
    assert [s.labels["le"] for s in hist.samples if s.name.endswith("_bucket")] == ["0.1", "+Inf"]


def test_rfc3339_keeps_nanoseconds() -> None:
    assert _rfc3339_ns("1970-01-01T00:00:01.000000123Z") == 1_000_000_123
    assert _rfc3339_ns("1970-01-01T00:00:02Z") == 2_000_000_000


def test_selector_in_both_dialects() -> None:
    assert selector({"service": "a", "profile": "p"}, "x y", "logql") == '{profile="p",service="a"} |= "x y"'
    assert selector({"service": "a"}, "x", "logsql") == '{service="a"} "x"'
