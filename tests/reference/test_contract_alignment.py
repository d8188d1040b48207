"""Points where the reference and the contracts agreed on a convention (see fixtures/contracts/*.yaml)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from obsconf.reference import ReferenceConfig, create_app


class Capture:
    """A logger sink keeping each formatted record."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def emit(self, line: bytes, record: Any, event: Any) -> None:
        self.records.append(dict(record))

    def by_message(self, key: str, text: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get(key) == text]


def _app(profile: str, tmp_path, env: dict[str, str] | None = None) -> tuple[TestClient, Any, Capture]:
    base = {"PERSIST_LOCAL_DIR": str(tmp_path / "store"), "SYNCD_DATA_DIR": str(tmp_path / "data")}
    app = create_app(profile, ReferenceConfig.for_tests(profile, env={**base, **(env or {})}))
    cap = Capture()
    app.state.profile.tel.logger.add_sink(cap)
    return TestClient(app, raise_server_exceptions=False), app.state.profile, cap


def test_aurum_metric_names_labels_and_health_components(tmp_path) -> None:
    client, _, _ = _app("aurum", tmp_path)
    with client:
        assert client.post("/api/scenarios", json={"name": "s"}, headers={"X-Tenant-ID": "acme"}).status_code == 201
        text = client.get("/metrics").text
        assert 'aurum_requests_total{method="POST",path="/api/scenarios",status_code="201",tenant_id="acme"} 1.0' in text
        assert 'aurum_request_latency_seconds_count{method="POST",path="/api/scenarios"} 1.0' in text
        assert 'aurum_business_transactions_total{component="scenario",status="success",' \
               'transaction_type="scenario_create"} 1.0' in text
        body = client.get("/v1/observability/health").json()
    assert {"metrics", "tracing", "slos", "performance"} <= set(body["components"])
    assert all("status" in c for c in body["components"].values())
    assert body["components"]["slos"]["compliance"]["scenario_creation"] == "met"


def test_aurum_scrapes_of_its_metrics_endpoints_go_untraced(tmp_path) -> None:
    """Seed 002 l.108 serves the Prometheus metrics at /v1/observability/metrics, which Prometheus scrapes every
    second: like /metrics, a scrape makes no span and no access line."""
    _, profile, _ = _app("aurum", tmp_path)
    assert {"/v1/observability/metrics", "/metrics"} <= profile.scrape_paths


def test_aurum_spans_carry_the_seed_argument_names(tmp_path) -> None:
    """Seed 002 l.164-170: scenario_id, tenant_id, table, cache_type, key - as the seed spells them."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    client, profile, _ = _app("aurum", tmp_path)
    memory = InMemorySpanExporter()
    profile.tel.provider.add_span_processor(SimpleSpanProcessor(memory))
    with client:
        resp = client.post("/api/scenarios", json={"name": "s", "scenario_id": "scenario-x"},
                           headers={"X-Tenant-ID": "acme"})
        assert resp.status_code == 201 and resp.json()["scenario_id"] == "scenario-x"
    spans = {s.name: dict(s.attributes or {}) for s in memory.get_finished_spans()}
    assert spans["scenario.create"]["scenario_id"] == "scenario-x" and spans["scenario.create"]["tenant_id"] == "acme"
    assert spans["db.insert"]["table"] == "scenario" and spans["db.insert"]["tenant_id"] == "acme"
    assert spans["cache.set"]["cache_type"] == "scenario" and spans["cache.set"]["key"] == "scenario-x"


def test_assistant_durations_are_slog_nanoseconds(tmp_path) -> None:
    client, _, cap = _app("assistant", tmp_path)
    with client:
        assert client.post("/api/chat", json={"message": "hi"}).status_code == 200
        assert client.post("/api/chat", json={"message": "hi", "fail": True}).status_code == 500
    for msg in ("Chat request completed", "Chat processing failed"):
        (rec,) = cap.by_message("msg", msg)
        assert isinstance(rec["duration"], int) and rec["duration"] > 0, rec


def test_assistant_health_is_the_seeds_checks_map(tmp_path) -> None:
    """Seed 004 l.494-531: RunChecks returns map[name]HealthStatus; the body is that map, nothing around it."""
    client, _, _ = _app("assistant", tmp_path)
    with client:
        body = client.get("/health").json()
    assert body and all(set(c) == {"healthy", "message", "details", "timestamp", "duration"} for c in body.values())
    assert all(isinstance(c["duration"], int) and isinstance(c["healthy"], bool) for c in body.values())


def test_assistant_serves_health_on_its_own_port(tmp_path) -> None:
    import requests

    from obsconf.ports import free_port

    port = free_port()
    client, _, _ = _app("assistant", tmp_path, {"ASSISTANT_HEALTH_PORT": str(port)})
    with client:
        resp = requests.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert resp.status_code == 200 and all("healthy" in c for c in resp.json().values())
        assert requests.get(f"http://127.0.0.1:{port}/nothing", timeout=5).status_code == 404
    with pytest.raises(requests.ConnectionError):  # shutdown stopped the server and closed its socket
        requests.get(f"http://127.0.0.1:{port}/health", timeout=5)


def test_persist_serves_metrics_on_its_own_port_until_shutdown(tmp_path) -> None:
    import requests

    from obsconf.ports import free_port

    port = free_port()
    client, _, _ = _app("persist", tmp_path, {"PERSIST_METRICS_PORT": str(port)})
    with client:
        assert "persist_s3_requests_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    with pytest.raises(requests.ConnectionError):  # shutdown stopped the server and closed its socket
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_prethrift_health_has_the_seed_checks_and_anonymous_searches_name_a_user(tmp_path) -> None:
    client, _, cap = _app("prethrift", tmp_path, {"DATABASE_URL": "sqlite:///:memory:"})
    with client:
        names = {c["name"]: c["status"] for c in client.get("/health").json()["checks"]}
        client.get("/api/search?q=blue+dress")
        client.get("/api/search?q=blue+dress", headers={"X-User-ID": "123"})
    assert names["database"] == names["pgvector"] == names["embedding_model"] == "healthy"
    assert [r["user_id"] for r in cap.by_message("event", "User search started")] == ["anonymous", "123"]


def test_persist_retry_counters_exist_before_the_first_retry(tmp_path) -> None:
    client, _, _ = _app("persist", tmp_path)
    with client:
        text = client.get("/metrics").text
    for op in ("put_object", "get_object", "head_object"):
        assert f'persist_s3_retries_total{{operation="{op}"}} 0.0' in text


def test_syncd_job_processes_created_files_and_shipper_logs_each_retry(tmp_path) -> None:
    client, profile, cap = _app("syncd", tmp_path)
    with client:
        body = client.post("/sync/jobs/docs", json={"create_files": 2}).json()
        assert body["files_processed"] == 2
        # seed 001 l.279: paths relative to the data dir; l.41: files by operation type only
        assert body["source"] == "docs/source" and not any(str(tmp_path) in str(r) for r in cap.records)
        assert 'sync_files_processed_total{operation="create"} 2.0' in client.get("/metrics").text
    profile._pb_retry(1, 3, 0.1, RuntimeError("connection refused"))
    (line,) = cap.by_message("message", "Retrying log upload")
    assert line["level"] == "WARN" and line["fields"]["retry_attempt"] == 1 and line["fields"]["max_retries"] == 3
