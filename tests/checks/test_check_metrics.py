"""Metric checks on real prometheus_client exposition text, good and non-conformant."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from obsconf.checks.metrics import check_metric, check_metrics, check_series
from obsconf.contract.model import MetricSpec
from obsconf.model import MetricFamily, MetricSample, Series

BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))


def parse(text: str) -> list[MetricFamily]:
    return [
        MetricFamily(f.name, f.type, f.documentation,
                     tuple(MetricSample(s.name, dict(s.labels), s.value) for s in f.samples))
        for f in text_string_to_metric_families(text)
    ]


def exposition(*, requests: int = 1, buckets: tuple[float, ...] = BUCKETS[:-1], labels: tuple[str, ...] = ("operation",),
               help_text: str = "Total number of S3 requests") -> list[MetricFamily]:
    reg = CollectorRegistry()
    c = Counter("persist_s3_requests_total", help_text, labels, registry=reg)
    h = Histogram("persist_s3_latency_seconds", "S3 operation latencies", ["operation"], buckets=buckets, registry=reg)
    Gauge("persist_error_rate", "errors/requests", registry=reg).set(0)
    for _ in range(requests):
        c.labels(*(["put_object"] * len(labels))).inc()
        h.labels("put_object").observe(0.2)
    return parse(generate_latest(reg).decode())


REQUESTS = MetricSpec("persist_s3_requests_total", "counter", labels=("operation",), increases=True,
                      selector={"operation": "put_object"}, loc="persist.yaml:101 metrics[0]")
LATENCY = MetricSpec("persist_s3_latency_seconds", "histogram", labels=("operation",), buckets=BUCKETS)
RATE = MetricSpec("persist_error_rate", "gauge", labels=())


def test_conformant_exposition_passes() -> None:
    before = exposition(requests=0)
    after = exposition(requests=3)
    assert check_metrics([REQUESTS, LATENCY, RATE], after, before=before) == []


def test_missing_metric_names_close_matches() -> None:
    spec = MetricSpec("persist_s3_request_total", "counter")
    findings = check_metric(spec, exposition(), query="GET http://127.0.0.1:8000/metrics")
    assert findings[0].check == "metrics.present" and "not exposed" in findings[0].message
    assert "persist_s3_requests" in findings[0].message and findings[0].query.endswith("/metrics")


def test_empty_scrape_is_a_finding() -> None:
    findings = check_metrics([REQUESTS], [])
    assert findings and "no metric family at all" in findings[0].message


def test_wrong_type() -> None:
    spec = MetricSpec("persist_error_rate", "counter", labels=())
    findings = check_metric(spec, exposition())
    assert findings[0].check == "metrics.type" and findings[0].expected == "counter" and findings[0].actual == "gauge"


def test_missing_label_is_caught() -> None:
    spec = MetricSpec("persist_s3_requests_total", "counter", labels=("operation", "bucket"))
    findings = check_metric(spec, exposition())
    f = next(f for f in findings if f.check == "metrics.labels")
    assert "missing ['bucket']" in f.message and f.actual == ["operation"]


def test_extra_label_is_caught() -> None:
    findings = check_metric(REQUESTS, exposition(labels=("operation", "tenant")))
    f = next(f for f in findings if f.check == "metrics.labels")
    assert "unexpected ['tenant']" in f.message


def test_wrong_bucket_layout_is_caught() -> None:
    findings = check_metric(LATENCY, exposition(buckets=(0.1, 0.5, 1.0)))
    f = next(f for f in findings if f.check == "metrics.buckets")
    assert f.expected == ["0.1", "0.5", "1", "2.5", "5", "10", "+Inf"]
    assert f.actual == ["0.1", "0.5", "1", "+Inf"]
    assert "set the histogram's buckets" in f.message


def test_help_required() -> None:
    text = "# TYPE persist_error_rate gauge\npersist_error_rate 0\n"
    findings = check_metric(RATE, parse(text))
    assert [f.check for f in findings] == ["metrics.help"]


def test_counter_that_did_not_increase() -> None:
    findings = check_metric(REQUESTS, exposition(requests=2), before=exposition(requests=2))
    f = next(f for f in findings if f.check == "metrics.increase")
    assert "did not increase" in f.message and f.expected == "> 2" and f.actual == "2"


def test_increase_selector_matching_nothing() -> None:
    spec = MetricSpec("persist_s3_requests_total", "counter", increases=True, selector={"operation": "get_object"})
    findings = check_metric(spec, exposition())
    assert findings and "no series matching" in findings[0].message


def test_declared_but_untouched_labelled_metric() -> None:
    findings = check_metric(REQUESTS, exposition(requests=0))
    assert any("has no series" in f.message for f in findings)


def test_promql_series() -> None:
    up = Series({"operation": "put_object", "job": "persist", "instance": "x"}, ((0, 1), (15, 4)))
    assert check_series(REQUESTS, [up], query="persist_s3_requests_total") == []
    assert "no series" in check_series(REQUESTS, [])[0].message
    nolabel = Series({"job": "persist"}, ((0, 1), (15, 4)))
    assert check_series(MetricSpec("x", "counter", labels=("operation",)), [nolabel])[0].check == "metrics.labels"


# --- what Prometheus 3 changed: bucket bounds and quantiles in OpenMetrics form -------------------------

GO_STYLE = """# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{op="get",le="0.5"} 1
lat_seconds_bucket{op="get",le="1"} 2
lat_seconds_bucket{op="get",le="10"} 3
lat_seconds_bucket{op="get",le="+Inf"} 3
lat_seconds_sum{op="get"} 4
lat_seconds_count{op="get"} 3
"""
OPENMETRICS_STYLE = GO_STYLE.replace('le="1"', 'le="1.0"').replace('le="10"', 'le="10.0"')
LAT = MetricSpec("lat_seconds", "histogram", labels=("op",), buckets=(0.5, 1.0, 10.0, float("inf")))
LAT_WRONG = MetricSpec("lat_seconds", "histogram", labels=("op",), buckets=(0.5, 2.0, 10.0, float("inf")))


def test_bucket_bounds_are_compared_as_numbers_whatever_their_text() -> None:
    """le="1" (Go client, Prometheus 2.x storage) and le="1.0" (Python client, Prometheus 3 storage) are one
    bound: the same verdict for both texts, on a good and on a wrong contract layout."""
    go, om = parse(GO_STYLE), parse(OPENMETRICS_STYLE)
    assert check_metric(LAT, go) == check_metric(LAT, om) == []
    wrong_go, wrong_om = check_metric(LAT_WRONG, go), check_metric(LAT_WRONG, om)
    assert [f.check for f in wrong_go] == [f.check for f in wrong_om] == ["metrics.buckets"]
    assert wrong_go[0].actual == wrong_om[0].actual == ["0.5", "1", "10", "+Inf"]


def bucket_series(les: list[str]) -> list[Series]:
    return [Series({"__name__": "lat_seconds_bucket", "op": "get", "job": "svc", "le": le}, ((0.0, 1.0),)) for le in les]


def test_series_bucket_bounds_from_either_prometheus_give_one_verdict() -> None:
    v2 = bucket_series(["0.5", "1", "10", "+Inf"])  # what Prometheus 2.42 stores for a Go service
    v3 = bucket_series(["0.5", "1.0", "10.0", "+Inf"])  # what Prometheus 3 stores for the same service
    assert check_series(LAT, v2) == check_series(LAT, v3) == []
    f2, f3 = check_series(LAT_WRONG, v2), check_series(LAT_WRONG, v3)
    assert [f.check for f in f2] == [f.check for f in f3] == ["metrics.buckets"]
    assert f2[0].expected == ["0.5", "2", "10", "+Inf"] and f2[0].actual == f3[0].actual == ["0.5", "1", "10", "+Inf"]


def test_openmetrics_float_matches_prometheus_3() -> None:
    """Expected values printed by Go: strconv.AppendFloat(v, 'g', -1, 64) plus ".0" (labels.FormatOpenMetricsFloat)."""
    from obsconf.checks.metrics import openmetrics_float

    cases = {1: "1.0", 0: "0.0", -1: "-1.0", 0.5: "0.5", 0.005: "0.005", 0.0001: "0.0001", 0.00001: "1e-05",
             10: "10.0", 100000: "100000.0", 1000000: "1e+06", 1234567: "1.234567e+06", 999999: "999999.0",
             1.5e300: "1.5e+300", -2.5e-10: "-2.5e-10", float("inf"): "+Inf", float("-inf"): "-Inf"}
    assert {v: openmetrics_float(v) for v in cases} == cases
