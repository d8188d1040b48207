"""One real item round-trips through each backend of the session's stack.

These prove the stack itself before any contract is checked: if one of them fails, every contract check
that reads that backend would be meaningless.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.stack


def test_otlp_span_is_read_back_from_jaeger(obsconf_stack, jaeger) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    service = f"obsconf-smoke-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{obsconf_stack.endpoints.otlp_http_url}/v1/traces", timeout=2)))
    with provider.get_tracer("obsconf.smoke").start_as_current_span("smoke_parent") as parent:
        parent.set_attribute("obsconf.check", "round-trip")
        with provider.get_tracer("obsconf.smoke").start_as_current_span("smoke_child"):
            pass
        trace_id = format(parent.get_span_context().trace_id, "032x")
    provider.shutdown()

    spans = jaeger.wait_for_trace(trace_id, min_spans=2, timeout=10)
    assert sorted(s.name for s in spans) == ["smoke_child", "smoke_parent"], \
        f"trace {trace_id} in Jaeger: {jaeger.trace_link(trace_id)}"
    by_name = {s.name: s for s in spans}
    assert by_name["smoke_child"].parent_id == by_name["smoke_parent"].span_id
    assert by_name["smoke_parent"].attributes["obsconf.check"] == "round-trip"
    assert by_name["smoke_parent"].service == service


def test_traces_of_a_busy_service_are_read_by_id_past_the_listing_limit(obsconf_stack, jaeger) -> None:
    # other instances of a service (fault scenarios side by side) write under the same name: a listing of
    # `limit` traces then holds only some of ours, and each of the others must still be found by its id
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from obsconf.live.collect import read_traces

    service = f"obsconf-busy-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=f"{obsconf_stack.endpoints.otlp_http_url}/v1/traces", timeout=5)))
    tracer = provider.get_tracer("obsconf.busy")
    ids = []
    for i in range(1000):
        with tracer.start_as_current_span(f"op-{i}") as span:
            ids.append(format(span.get_span_context().trace_id, "032x"))
    provider.shutdown()
    ours = ids[::20]  # 50 of 1000: a listing of 200 holds only some of them
    assert jaeger.wait_for_trace(ids[-1], timeout=10), f"the newest trace never reached Jaeger ({jaeger.url})"
    found = read_traces(jaeger, service, ours, timeout=10)
    assert sorted(found) == sorted(ours), f"{len(ours) - len(found)} of {len(ours)} traces not read back"


def test_scraped_series_is_read_back_with_promql(obsconf_stack, prometheus) -> None:
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    from obsconf.ports import LOOPBACK, free_port

    if obsconf_stack.mode == "external":
        # obsconf cannot add targets to a Prometheus it does not run: check that it scrapes something
        series = prometheus.wait_for("up == 1", timeout=10)
        assert series, f"the external Prometheus at {prometheus.url} has no healthy target (`up == 1` is empty)"
        return

    registry = CollectorRegistry()
    counter = Counter("obsconf_smoke_events", "Smoke-test events.", ["kind"], registry=registry)
    counter.labels(kind="round_trip").inc(7)
    port = free_port()
    server, thread = start_http_server(port, addr=LOOPBACK, registry=registry)
    job = f"smoke-{uuid.uuid4().hex[:6]}"
    try:
        obsconf_stack.add_scrape_target(job, f"{LOOPBACK}:{port}")
        prometheus.wait_for_target_up(job, timeout=15)
        query = f'obsconf_smoke_events_total{{job="{job}",kind="round_trip"}}'
        series = prometheus.wait_for(query, timeout=10)
        assert series, f"no series for {query}: {prometheus.graph_link(query)}"
        assert series[0].points[-1][1] == 7.0
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_pushed_log_line_is_read_back(obsconf_stack, loki) -> None:
    from obsconf.readers.logs import push

    marker = uuid.uuid4().hex
    labels = {"service": "obsconf-smoke", "run": marker[:8]}
    line = f'{{"level":"INFO","message":"smoke {marker}","trace_id":"{"ab" * 16}"}}'
    push(obsconf_stack.endpoints.logs_push_url, labels, [line])
    records = loki.wait_for(labels, contains=marker, timeout=10)
    assert [r.line for r in records] == [line]
    assert records[0].fields["trace_id"] == "ab" * 16
    assert records[0].labels.get("service") == "obsconf-smoke"


def test_record_is_read_back_from_pocketbase(pocketbase) -> None:
    from obsconf.reference.profiles.syncd.migration import migrate_log_collection

    # the stack creates none: services migrate their own (as syncd does)
    assert migrate_log_collection(pocketbase.url, pocketbase.email, pocketbase.password, "daemon_logs") \
        in ("created", "exists")
    marker = uuid.uuid4().hex
    pocketbase.create_record("daemon_logs", {
        "timestamp": "2026-01-01 12:00:00.000Z", "level": "INFO", "message": f"smoke {marker}",
        "target": "obsconf::smoke", "line": 7, "fields": {"marker": marker},
        "daemon_id": "daemon-smoke", "session_id": marker,
    })
    records = pocketbase.records("daemon_logs", filter=f"session_id = '{marker}'")
    assert len(records) == 1
    assert records[0]["fields"] == {"marker": marker}
    assert records[0]["level"] == "INFO"


def test_toxic_changes_what_passes_through_toxiproxy(obsconf_stack, toxiproxy) -> None:
    upstream = obsconf_stack.endpoints.prometheus_url.removeprefix("http://")
    proxy = toxiproxy.create_proxy(f"smoke-{uuid.uuid4().hex[:6]}", upstream)
    try:
        def elapsed() -> float:
            began = time.monotonic()
            assert requests.get(f"{proxy.url}/-/ready", timeout=5).status_code == 200
            return time.monotonic() - began

        baseline = min(elapsed() for _ in range(3))
        with toxiproxy.toxic(proxy.name, "latency", {"latency": 300, "jitter": 0}):
            slowed = elapsed()
        assert slowed - baseline >= 0.25, f"latency toxic of 300 ms added only {1000 * (slowed - baseline):.0f} ms"
        with toxiproxy.outage(proxy.name), pytest.raises(requests.ConnectionError):
            requests.get(f"{proxy.url}/-/ready", timeout=2)
        assert elapsed() < baseline + 0.2, "the proxy did not recover after the outage"
    finally:
        toxiproxy.delete_proxy(proxy.name)


def test_rules_loaded_with_add_rules_fire_on_a_real_series(obsconf_stack, prometheus, tmp_path) -> None:
    """Stack.add_rules loads a rules file into the running Prometheus: its alert reaches pending on a series
    Prometheus scraped, a rule whose condition is false stays inactive, and a broken file is refused."""
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    from obsconf.errors import BackendNotReady, UsageError
    from obsconf.ports import LOOPBACK, free_port

    if obsconf_stack.mode == "external":
        # obsconf cannot change a Prometheus it does not run, and says so
        with pytest.raises(UsageError, match="load .* there yourself"):
            obsconf_stack.add_rules("obsconf-smoke", tmp_path / "rules.yml")
        return
    registry = CollectorRegistry()
    Gauge("obsconf_smoke_queue_depth", "Smoke-test queue depth.", registry=registry).set(42)
    port = free_port()
    server, thread = start_http_server(port, addr=LOOPBACK, registry=registry)
    job = f"smoke-rules-{uuid.uuid4().hex[:6]}"
    group = f"obsconf-smoke-{uuid.uuid4().hex[:6]}"
    rules = tmp_path / "rules.yml"
    rules.write_text(f"""groups:
  - name: {group}
    interval: 1s
    rules:
      - alert: QueueDeep
        expr: obsconf_smoke_queue_depth{{job="{job}"}} > 10
        for: 10m
      - alert: QueueEmpty
        expr: obsconf_smoke_queue_depth{{job="{job}"}} == 0
        for: 1m
""", encoding="utf-8")
    try:
        obsconf_stack.add_scrape_target(job, f"{LOOPBACK}:{port}")
        obsconf_stack.add_rules(group, rules)
        deadline = time.monotonic() + 20
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {r["name"]: r.get("state", "") for g in prometheus.rule_groups() if g["name"] == group
                      for r in g["rules"]}
            if states.get("QueueDeep") in ("pending", "firing"):
                break
            time.sleep(0.5)
        assert states.get("QueueDeep") == "pending", states  # 'for: 10m' keeps it pending
        assert states.get("QueueEmpty") == "inactive", states
        assert any(a["labels"]["alertname"] == "QueueDeep" for a in prometheus.alerts())
        broken = tmp_path / "broken.yml"
        broken.write_text("groups:\n  - name: b\n    rules:\n      - alert: X\n        expr: rate(x[5m]) >\n")
        with pytest.raises(BackendNotReady, match="rejected rules file"):
            obsconf_stack.add_rules("obsconf-smoke-broken", broken)
    finally:
        server.shutdown()
        obsconf_stack.remove_scrape_target(job)
