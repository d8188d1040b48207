"""The variables a started service gets, and how a dependency's proxy is named to it and counted."""

from __future__ import annotations

import json

from obsconf.contract.model import DependencySpec
from obsconf.stack.endpoints import Endpoints
from obsconf.target.env import STANDARD_VARIABLES, loki_base, render, service_env
from obsconf.target.proxies import accepted_clients, dependency_env

E = Endpoints(jaeger_query_url="http://127.0.0.1:1", otlp_http_url="http://127.0.0.1:4318", otlp_grpc_endpoint="",
              prometheus_url="http://127.0.0.1:2", logs_push_url="http://127.0.0.1:9428/insert/loki/api/v1/push",
              logs_query_url="http://127.0.0.1:9428", logs_dialect="logsql", pocketbase_url="http://127.0.0.1:8090",
              pocketbase_admin_email="a@b.c", pocketbase_admin_password="pw-123456", s3_url="http://127.0.0.1:9000",
              s3_access_key="key", s3_secret_key="secret")


def test_standard_variables_point_at_the_stack() -> None:
    env = service_env(E, service_name="shop", run_id="r1", sample_rate=0.25)
    assert env["OTEL_SERVICE_NAME"] == "shop"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "service.name=shop,obsconf.run_id=r1"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://127.0.0.1:4318/v1/traces"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    assert env["LOKI_URL"] + "/loki/api/v1/push" == env["LOKI_PUSH_URL"] == E.logs_push_url
    documented = {name for names, _ in STANDARD_VARIABLES for name in names.split(", ")}
    assert set(env) <= documented, "every variable set is in README's table"


def test_loki_base_is_the_push_url_without_the_push_path() -> None:
    assert loki_base("http://h:1/loki/api/v1/push") == "http://h:1"
    assert loki_base("http://h:1/other") == "http://h:1/other"


def test_dependency_variables_point_at_the_proxy() -> None:
    proxied = "http://127.0.0.1:7001"
    s3 = dependency_env(DependencySpec("store", "STORE_URL", "s3"), proxied, E)
    assert s3["STORE_URL"] == s3["AWS_ENDPOINT_URL_S3"] == proxied and s3["AWS_ACCESS_KEY_ID"] == "key"
    logs = dependency_env(DependencySpec("logs", "LOKI_URL", "logs"), f"{proxied}/insert/loki/api/v1/push", E)
    assert logs["LOKI_URL"] == f"{proxied}/insert" and logs["LOKI_PUSH_URL"].endswith("/loki/api/v1/push")
    otlp = dependency_env(DependencySpec("otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otlp"), proxied, E)
    assert otlp["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == f"{proxied}/v1/traces"
    assert otlp["OTEL_EXPORTER_OTLP_ENDPOINT"] == proxied
    own = dependency_env(DependencySpec("pricing", "PRICING_URL", "http://127.0.0.1:9999/api"), f"{proxied}/api", E)
    assert own == {"PRICING_URL": f"{proxied}/api"}


def test_renderings() -> None:
    env = {"A": "1", "B": "two words"}
    assert render(env, "sh") == "export A=1\nexport B='two words'"
    assert render(env, "dotenv") == 'A=1\nB="two words"'
    assert json.loads(render(env, "json")) == env


def test_accepted_clients_are_counted_per_proxy_from_toxiproxys_log() -> None:
    log = "\n".join([
        '{"level":"info","name":"p1","client":"127.0.0.1:1","message":"Accepted client"}',
        '{"level":"info","name":"p2","client":"127.0.0.1:2","message":"Accepted client"}',
        '{"level":"info","name":"p1","client":"127.0.0.1:3","message":"Accepted client"}',
        '{"level":"debug","name":"p1","message":"Setup connection"}',
        "not json",
    ])
    assert accepted_clients(log, "p1") == 2 and accepted_clients(log, "p3") == 0


def test_findings_never_carry_the_contracts_secrets() -> None:
    from pathlib import Path

    from obsconf.contract.model import Contract, LogsSpec, RedactionSpec, ServiceSpec
    from obsconf.model import Finding
    from obsconf.session.nodes import scrub_findings

    contract = Contract(Path("c.yaml"), None, ServiceSpec("svc"),
                        logs=LogsSpec(redaction=RedactionSpec(values=("tok-123456",), patterns=("sk-[0-9]{4}",))))
    (f,) = scrub_findings(contract, [Finding("logs.events", "c.yaml", 'first line: {"token": "tok-123456"}',
                                             expected="x", actual="sk-9999 in a field")])
    assert "tok-123456" not in f.message and "***" in f.message and f.actual == "*** in a field"
