"""Bearer tokens on observability endpoints: the reference's guard, the contract key, the pure check and its
proof (an endpoint that forgets the token is caught), and the Prometheus scrape job with credentials."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from obsconf.checks.auth import check_auth, probe_paths
from obsconf.contract.loader import load_contract
from obsconf.contract.model import AuthSpec, HealthSpec, RequestStep
from obsconf.errors import ContractError
from obsconf.model import AuthExchange, HttpExchange
from obsconf.reference import ReferenceConfig, create_app
from obsconf.reference import auth as ref_auth
from obsconf.stack.prometheus import AuthJob, prometheus_config

CONTRACTS = Path(__file__).resolve().parents[2] / "fixtures" / "contracts"
TOKEN = "t0k3n-for-tests"
AURUM_PATHS = ["/v1/observability/health", "/v1/observability/metrics", "/v1/observability/slos", "/metrics"]


def _aurum(**env: str) -> TestClient:
    cfg = ReferenceConfig.for_tests("aurum", env={"AURUM_OBSERVABILITY_TOKEN": TOKEN, **env})
    return TestClient(create_app("aurum", cfg), raise_server_exceptions=False)


@pytest.mark.parametrize("path", AURUM_PATHS)
def test_aurum_observability_endpoints_need_the_token(path: str) -> None:
    with _aurum() as client:
        anonymous = client.get(path)
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        lowercase = client.get(path, headers={"Authorization": f"bearer {TOKEN}"})
        right = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json() == wrong.json() == {"error": "unauthorized"}  # no detail: missing == wrong
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == lowercase.status_code == 200


def test_other_routes_stay_open_and_no_token_means_open() -> None:
    with _aurum() as client:
        assert client.get("/api/ok").status_code == 200
        assert client.post("/api/scenarios", json={"name": "s"}).status_code == 201
    open_cfg = ReferenceConfig.for_tests("aurum")
    with TestClient(create_app("aurum", open_cfg)) as client:
        assert client.get("/v1/observability/health").status_code == 200


def test_every_profile_metrics_take_the_common_token() -> None:
    for profile in ("persist", "syncd", "prethrift", "assistant"):
        cfg = ReferenceConfig.for_tests(profile, metrics_token=TOKEN, env={"SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0"})
        with TestClient(create_app(profile, cfg)) as client:
            assert client.get("/metrics").status_code == 401, profile
            assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, profile
            assert client.get("/api/ok").status_code == 200, profile


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr(ref_auth.hmac, "compare_digest", spy)
    with _aurum() as client:
        client.get("/v1/observability/health", headers={"Authorization": "Bearer x"})
        client.get("/v1/observability/health", headers={"Authorization": "Bearer a-much-longer-wrong-token"})
    assert calls, "the guard must compare with hmac.compare_digest"
    assert all(len(a) == len(b) == 32 for a, b in calls), "digests of equal length: the token length does not leak"


def test_loader_reads_auth_and_refuses_a_token_in_the_contract(tmp_path: Path) -> None:
    contract = load_contract(CONTRACTS / "aurum.yaml")
    assert contract.service.auth == AuthSpec("AURUM_OBSERVABILITY_TOKEN", ("/v1/observability/*", "/metrics"),
                                             loc=contract.service.auth.loc)
    data = yaml.safe_load((CONTRACTS / "aurum.yaml").read_text())
    data["service"]["env"]["AURUM_OBSERVABILITY_TOKEN"] = "committed-secret"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ContractError, match="remove it from service.env"):
        load_contract(bad)
    data["service"]["env"].pop("AURUM_OBSERVABILITY_TOKEN")
    data["service"]["auth"]["paths"] = ["/v1/obs*"]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ContractError, match="prefix ending in '/\\*'"):
        load_contract(bad)
    data["service"]["auth"] = {"env": "X", "paths": ["/m"], "scheme": "basic"}
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ContractError, match="service.auth.scheme"):
        load_contract(bad)


def test_probe_paths_expand_prefixes_from_the_workload() -> None:
    spec = AuthSpec("T", ("/v1/observability/*", "/metrics"))
    steps = [RequestStep("GET", "/v1/observability/health"), RequestStep("POST", "/api/scenarios"),
             RequestStep("GET", "/v1/observability/traces/{run_id}")]
    assert probe_paths(spec, steps, [HealthSpec("/v1/observability/slos")]) == [
        ("GET", "/v1/observability/health"), ("GET", "/v1/observability/slos"), ("GET", "/metrics")]
    assert probe_paths(AuthSpec("T", ("/admin/*",)), steps) == [("GET", "/admin")]
    assert spec.covers("/v1/observability/x?y=1") and spec.covers("/metrics") and not spec.covers("/metrics2")


def _ex(status: int, body: object = None, *, www: bool = True) -> HttpExchange:
    headers = {"WWW-Authenticate": 'Bearer realm="x"'} if www and status == 401 else {}
    return HttpExchange("GET", "http://127.0.0.1:1/p", status, headers, body if body is not None else {}, 1.0)


SPEC = AuthSpec("AURUM_OBSERVABILITY_TOKEN", ("/p",), loc="aurum.yaml:14 service.auth")


def test_check_passes_a_guarded_endpoint() -> None:
    x = AuthExchange("GET", "/p", _ex(401, {"error": "unauthorized"}), _ex(401, {"error": "unauthorized"}), _ex(200))
    assert check_auth(SPEC, [x]) == []


@pytest.mark.parametrize(("exchange", "expected"), [
    (AuthExchange("GET", "/p", _ex(200), _ex(200), _ex(200)), "answered 200 without a token"),
    (AuthExchange("GET", "/p", _ex(401), _ex(200), _ex(200)), "answered 200 with a wrong token"),
    (AuthExchange("GET", "/p", _ex(401), _ex(401), _ex(401)), "refused the token obsconf gave"),
    (AuthExchange("GET", "/p", _ex(401), _ex(401), _ex(503)), "failed with 503"),
    (AuthExchange("GET", "/p", _ex(401, www=False), _ex(401), _ex(200)), "WWW-Authenticate"),
    (AuthExchange("GET", "/p", _ex(401, {"error": "missing token"}), _ex(401, {"error": "token expired"}), _ex(200)),
     "tells a missing token from a wrong one"),
    (AuthExchange("GET", "/p", _ex(401), _ex(401, {"error": "bad token obsconf-wrong-1"}), _ex(200),
                  wrong_token="obsconf-wrong-1"), "echoes the token"),
])
def test_check_catches_each_broken_guard(exchange: AuthExchange, expected: str) -> None:
    findings = check_auth(SPEC, [exchange])
    assert findings and all(f.check == "auth" for f in findings)
    assert any(expected in f.message for f in findings), [f.message for f in findings]


def test_check_without_data_fails() -> None:
    assert "no protected endpoint was probed" in check_auth(SPEC, [])[0].message


def test_an_endpoint_that_forgets_the_token_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broken variant: the guard skips one path, as a service that protects all but one endpoint."""
    original = ref_auth.AuthRule.covers
    monkeypatch.setattr(ref_auth.AuthRule, "covers",
                        lambda self, path: path != "/v1/observability/health" and original(self, path))
    contract = load_contract(CONTRACTS / "aurum.yaml")
    spec = contract.service.auth
    with _aurum() as client:
        exchanges = []
        for method, path in probe_paths(spec, contract.workload, contract.health):
            def ask(headers: dict[str, str], method: str = method, path: str = path) -> HttpExchange:
                r = client.request(method, path, headers=headers)
                return HttpExchange(method, path, r.status_code, dict(r.headers), r.text, 0.0)
            exchanges.append(AuthExchange(method, path, ask({}), ask({"Authorization": "Bearer wrong"}),
                                          ask({"Authorization": f"Bearer {TOKEN}"})))
    findings = check_auth(spec, exchanges)
    assert [f.message for f in findings] == [
        "GET /v1/observability/health answered 200 without a token: the endpoint must refuse it with 401",
        "GET /v1/observability/health answered 200 with a wrong token: the endpoint must refuse it with 401"]


def test_prometheus_scrape_job_carries_credentials_from_a_file() -> None:
    text = prometheus_config("/t", "/r", auth_jobs=(AuthJob("aurum-api", "127.0.0.1:9", "/metrics", "/s/x.token"),))
    config = yaml.safe_load(text)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "aurum-api")
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/s/x.token"}
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9"]}] and job["metrics_path"] == "/metrics"
    assert TOKEN not in text


def test_prometheus_accepts_the_scrape_job(tmp_path: Path) -> None:
    import subprocess

    from obsconf.checks.promtool import promtool_path

    token = tmp_path / "job.token"
    token.write_text(TOKEN)
    (tmp_path / "targets").mkdir()
    (tmp_path / "rules").mkdir()
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(str(tmp_path / "targets"), str(tmp_path / "rules"),
                                        auth_jobs=(AuthJob("aurum-api", "127.0.0.1:9", "/metrics", str(token)),)))
    done = subprocess.run([promtool_path(), "check", "config", str(config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
