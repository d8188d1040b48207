"""Points where the reference and the contracts agreed on a convention (see fixtures/contracts/*.yaml)."""

from __future__ import annotations

from typing import Any

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


def test_aurum_observability_metrics_endpoint_is_traced_but_the_scrape_path_is_not(tmp_path) -> None:
    _, profile, _ = _app("aurum", tmp_path)
    assert "/v1/observability/metrics" not in profile.scrape_paths and "/metrics" in profile.scrape_paths


def test_assistant_durations_are_slog_nanoseconds(tmp_path) -> None:
    client, _, cap = _app("assistant", tmp_path)
    with client:
        assert client.post("/api/chat", json={"message": "hi"}).status_code == 200
        assert client.post("/api/chat", json={"message": "hi", "fail": True}).status_code == 500
    for msg in ("Chat request completed", "Chat processing failed"):
        (rec,) = cap.by_message("msg", msg)
        assert isinstance(rec["duration"], int) and rec["duration"] > 0, rec


def test_assistant_health_wraps_the_checks_map(tmp_path) -> None:
    client, _, _ = _app("assistant", tmp_path)
    with client:
        body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert all(isinstance(c["duration"], int) and isinstance(c["healthy"], bool) for c in body["checks"].values())


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
    profile._pb_retry(1, 3, 0.1, RuntimeError("connection refused"))
    (line,) = cap.by_message("message", "Retrying log upload")
    assert line["level"] == "WARN" and line["fields"]["retry_attempt"] == 1 and line["fields"]["max_retries"] == 3
