"""Every profile in-process (no backends, sinks off): every route answers, headers and shapes hold."""

import re

import pytest
from fastapi.testclient import TestClient

from obsconf.reference import PROFILES, ReferenceConfig, create_app

HEX32 = re.compile(r"^[0-9a-f]{32}$")
COMMON = [("GET", "/api/ok", None, 200), ("GET", "/api/slow?ms=1", None, 200),
          ("GET", "/api/fail?status=503", None, 503), ("GET", "/metrics", None, 200)]

ROUTES = {
    "persist": [("POST", "/snapshots/agent/s1.json.gz?agent_id=a&session_id=s", {"memory": [1]}, 201),
                ("GET", "/snapshots/agent/s1.json.gz", None, 200),
                ("POST", "/snapshots/agent/s1.json.gz/verify", None, 200),
                ("GET", "/snapshots/missing", None, 404)],
    "syncd": [("POST", "/sync/jobs/docs", {"create_files": 3}, 200),
              ("POST", "/sync/jobs/docs", {"source": "nowhere"}, 404),
              ("POST", "/logs/emit?n=5&level=INFO", None, 200),
              ("GET", "/telemetry/status", None, 200)],
    "aurum": [("POST", "/api/scenarios", {"name": "s"}, 201),
              ("GET", "/api/scenarios/none", None, 404),
              ("GET", "/v1/observability/metrics", None, 200),
              ("GET", "/v1/observability/metrics/json", None, 200),
              ("GET", "/v1/observability/performance", None, 200),
              ("GET", "/v1/observability/traces", None, 200),
              ("GET", "/v1/observability/traces/" + "0" * 32, None, 404),
              ("POST", "/v1/observability/traces/" + "0" * 32 + "/export", {}, 404),
              ("POST", "/v1/observability/cleanup?max_age_seconds=3600", None, 200),
              ("GET", "/v1/observability/slos", None, 200),
              ("GET", "/v1/observability/slos/api_availability", None, 200),
              ("GET", "/v1/observability/slos/nope", None, 404),
              ("GET", "/v1/observability/dashboard", None, 200),
              ("GET", "/v1/observability/health", None, 200),
              ("GET", "/v1/observability/logs/schema", None, 200)],
    "prethrift": [("GET", "/health", None, 200), ("GET", "/health/ready", None, 200),
                  ("GET", "/health/live", None, 200), ("GET", "/api/search?q=blue+dress", None, 200),
                  ("GET", "/api/search?q=", None, 400), ("GET", "/api/error", None, 500)],
    "assistant": [("POST", "/api/chat", {"message": "hi", "api_key": "k"}, 200),
                  ("POST", "/api/chat", {"message": ""}, 400),
                  ("GET", "/api/agents", None, 200), ("GET", "/api/memory?user_id=u", None, 200),
                  ("GET", "/health", None, 200)],
}


def _client(profile, tmp_path, **over):
    env = {"PERSIST_LOCAL_DIR": str(tmp_path / "store"), "SYNCD_DATA_DIR": str(tmp_path / "data")}
    cfg = ReferenceConfig.for_tests(profile, env=env, **over)
    return TestClient(create_app(profile, cfg), raise_server_exceptions=False)


def test_every_profile_has_a_route_table():
    assert set(ROUTES) == set(PROFILES)


@pytest.mark.parametrize("instrumentation", [True, False], ids=["on", "off"])
@pytest.mark.parametrize("profile", PROFILES)
def test_every_route_answers(profile, instrumentation, tmp_path):
    with _client(profile, tmp_path, instrumentation=instrumentation) as client:
        for method, path, body, expected in COMMON + ROUTES[profile]:
            resp = client.request(method, path, json=body)
            assert resp.status_code == expected, f"{profile} {method} {path}: {resp.status_code} {resp.text[:300]}"
            assert HEX32.match(resp.headers["x-trace-id"]), resp.headers
            assert resp.headers["x-request-id"]


@pytest.mark.parametrize("profile", PROFILES)
def test_traceparent_is_honoured(profile, tmp_path):
    tid = "0af7651916cd43dd8448eb211c80319c"
    with _client(profile, tmp_path) as client:
        resp = client.get("/api/ok", headers={"traceparent": f"00-{tid}-b7ad6b7169203331-01"})
    assert resp.headers["x-trace-id"] == tid


def test_metrics_off_exposes_nothing(tmp_path):
    with _client("prethrift", tmp_path, instrumentation=False) as client:
        client.get("/api/search?q=x")
        assert "http_requests_total" not in client.get("/metrics").text


def test_red_metrics_use_route_templates(tmp_path):
    with _client("persist", tmp_path) as client:
        client.get("/snapshots/a/b/c")
        text = client.get("/metrics").text
    assert 'endpoint="/snapshots/{key}"' in text and "/a/b/c" not in text


def test_assistant_histogram_buckets_follow_seed(tmp_path):
    with _client("assistant", tmp_path) as client:
        client.get("/api/agents")
        text = client.get("/metrics").text
    les = re.findall(r'assistant_request_duration_seconds_bucket\{endpoint="/api/agents",le="([^"]+)"', text)
    assert [float(x) for x in les[:-1]] == pytest.approx([0.001 * 2**k for k in range(10)])
    assert "assistant_active_connections" in text and "process_cpu_seconds_total" in text


def test_unhandled_exception_becomes_500_with_trace_id(tmp_path):
    with _client("prethrift", tmp_path) as client:
        resp = client.get("/api/error")
    assert resp.status_code == 500 and HEX32.match(resp.headers["x-trace-id"])


def test_aurum_slos_are_the_six_with_env_targets(tmp_path):
    cfg = ReferenceConfig.for_tests("aurum", env={"AURUM_SLO_API_AVAILABILITY_TARGET": "0.99",
                                                  "AURUM_SLO_API_LATENCY_TARGET": "250",
                                                  "AURUM_SLO_SCENARIO_SUCCESS_TARGET": "0.9"})
    with TestClient(create_app("aurum", cfg)) as client:
        slos = {s["name"]: s for s in client.get("/v1/observability/slos").json()["slos"]}
    assert set(slos) == {"api_availability", "api_latency_p95", "scenario_creation", "scenario_runs",
                         "data_freshness", "cache_hit_rate"}
    assert slos["api_availability"]["target"] == 0.99 and slos["api_latency_p95"]["target"] == 250
    assert slos["scenario_runs"]["target"] == 0.9 and slos["scenario_creation"]["target"] == 0.995


def test_aurum_trace_listing_and_export(tmp_path):
    with _client("aurum", tmp_path) as client:
        tid = client.post("/api/scenarios", json={"name": "x"}, headers={"X-Tenant-Id": "acme"}).headers["x-trace-id"]
        names = {s["name"] for s in client.get(f"/v1/observability/traces/{tid}").json()["spans"]}
        exported = client.post(f"/v1/observability/traces/{tid}/export", json={"format": "otlp_json"}).json()
    assert {"POST /api/scenarios", "scenario.create", "db.insert", "cache.set"} <= names
    spans = exported["data"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert {s["traceId"] for s in spans} == {tid}


def test_syncd_metrics_auth_and_rate_limit(tmp_path):
    env = {"SYNCD_METRICS_AUTH_TOKEN": "tok", "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0.001",
           "SYNCD_METRICS_RATE_LIMIT_BURST": "1", "SYNCD_DATA_DIR": str(tmp_path)}
    with TestClient(create_app("syncd", ReferenceConfig.for_tests("syncd", env=env))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer tok"}).status_code == 200
        assert client.get("/metrics", headers={"Authorization": "Bearer tok"}).status_code == 429


def test_syncd_file_log_has_seed_fields(tmp_path):
    cfg = ReferenceConfig.for_tests("syncd", log_dir=tmp_path, env={"SYNCD_DATA_DIR": str(tmp_path / "d")})
    with TestClient(create_app("syncd", cfg)) as client:
        client.post("/logs/emit?n=2&tag=t")
    import orjson

    lines = [orjson.loads(x) for x in (tmp_path / "daemon.log").read_bytes().splitlines()]
    emitted = [x for x in lines if x["target"] == "sync_daemon::emit"]
    assert [x["fields"]["seq"] for x in emitted] == [0, 1]
    for line in emitted:
        assert {"timestamp", "level", "target", "message", "fields", "daemon_id", "session_id", "trace_id",
                "span_id"} <= set(line)
