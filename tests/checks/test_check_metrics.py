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
    flat = Series({"operation": "put_object", "job": "persist", "instance": "x"}, ((0, 4), (15, 4)))
    assert check_series(REQUESTS, [up], query="persist_s3_requests_total") == []
    assert "increased" in check_series(REQUESTS, [flat])[0].message
    assert "no series" in check_series(REQUESTS, [])[0].message
    nolabel = Series({"job": "persist"}, ((0, 1), (15, 4)))
    assert check_series(MetricSpec("x", "counter", labels=("operation",)), [nolabel])[0].check == "metrics.labels"
