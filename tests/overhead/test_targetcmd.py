"""``--target-cmd``: placeholders, the off switch, the standard variables, and option combinations refused."""

from __future__ import annotations

import argparse

import pytest

from obsconf.errors import UsageError
from obsconf.overhead import options
from obsconf.overhead.service import fill_port
from obsconf.overhead.targetcmd import (
    DEFAULT_OFF_ENV,
    otel_env,
    parse_command,
    parse_env_pairs,
    target_launches,
)
from obsconf.stack.endpoints import Endpoints

ENDPOINTS = Endpoints(
    jaeger_query_url="http://127.0.0.1:16686", otlp_http_url="http://127.0.0.1:4318",
    otlp_grpc_endpoint="127.0.0.1:4317", prometheus_url="http://127.0.0.1:9090",
    logs_push_url="http://127.0.0.1:9428/insert/loki/api/v1/push", logs_query_url="http://127.0.0.1:9428",
    logs_dialect="logsql", pocketbase_url="http://127.0.0.1:8090",
)


def test_port_placeholder_is_filled_and_double_braces_are_literal() -> None:
    argv = parse_command("uvicorn app:app --port {port} --log-config '{{\"v\": 1}}'")
    assert fill_port(argv, 8123) == ["uvicorn", "app:app", "--port", "8123", "--log-config", '{"v": 1}']


@pytest.mark.parametrize("command, named", [
    ("serve --host {host} --port {port}", "{host}"),
    ("serve --port {port:5}", "{port:5}"),
    ("serve --port {0}", "{0}"),
])
def test_unknown_placeholders_are_refused(command: str, named: str) -> None:
    with pytest.raises(UsageError, match="unknown placeholder") as err:
        parse_command(command)
    assert named in str(err.value) and "{port}" in str(err.value)


def test_unmatched_brace_and_empty_or_unbalanced_commands_are_refused() -> None:
    with pytest.raises(UsageError, match="literal"):
        parse_command("serve --json {")
    with pytest.raises(UsageError, match="empty"):
        parse_command("   ")
    with pytest.raises(UsageError, match="quotes"):
        parse_command("serve 'unterminated")


def test_off_switch_pairs() -> None:
    assert parse_env_pairs(["A=1", "B=x=y", "C="], "--off-env") == {"A": "1", "B": "x=y", "C": ""}
    for bad in ("NOVALUE", "=1", " A=1"):
        with pytest.raises(UsageError, match="NAME=VALUE"):
            parse_env_pairs([bad], "--off-env")


def test_standard_variables_point_at_the_stack() -> None:
    env = otel_env(ENDPOINTS, "shop")
    assert env["OTEL_SERVICE_NAME"] == "shop"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "1.0")
    assert env["OTEL_BSP_SCHEDULE_DELAY"] == "200"
    assert env["LOKI_URL"] + "/loki/api/v1/push" == env["LOKI_PUSH_URL"] == ENDPOINTS.logs_push_url


def test_variant_a_never_inherits_the_off_switch() -> None:
    base = {"PATH": "/bin", "OTEL_SDK_DISABLED": "true"}  # a shell that exported the switch
    a, b = target_launches("app --port {port}", "/items/1", DEFAULT_OFF_ENV, {"OTEL_SERVICE_NAME": "shop"}, base)
    assert "OTEL_SDK_DISABLED" not in a.env and a.env["OTEL_SERVICE_NAME"] == "shop"
    assert b.env["OTEL_SDK_DISABLED"] == "true" and b.env["OTEL_SERVICE_NAME"] == "shop"
    assert a.ready_path == b.ready_path == "/items/1" and a.ready_any_status
    assert "OTEL_SDK_DISABLED=true" in b.label


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("argv, message", [
    (["--compare", "stock"], "add --with-stack"),
    (["--target-cmd", "app {port}", "--burn-us", "100"], "drop them with --target-cmd"),
    (["--target-cmd", "app {port}", "--compare", "stock", "--with-stack"], "drop it with --target-cmd"),
    (["--target-cmd", "app {host}"], "unknown placeholder {host}"),
    (["--off-env", "X=1"], "--off-env switches a --target-cmd service off"),
    (["--burn-regression-pct", "20"], "add --baseline"),
    (["--burn-bare", "1", "--no-bare"], "drop --no-bare"),
    (["--rate", "fast"], "a number of requests/s, or auto"),
    (["--rate-fraction", "1.5"], "in (0, 1]"),
    (["--rounds", "1"], "at least 2 blocks"),
])
def test_impossible_combinations_are_refused_with_the_fix(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        options.validate(_args(*argv))
    assert message in str(err.value)
