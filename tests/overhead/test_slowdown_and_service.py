"""The slowdown hook, the variants' command lines and environments; no process is started."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from obsconf.errors import UsageError
from obsconf.overhead.service import SINK_VARS, VariantSpec, endpoints_env, variant_argv, variant_env
from obsconf.overhead.slowdown import SlowdownASGI, patch_uvicorn


def test_slowdown_wrapper_burns_cpu_then_calls_the_app() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    before = time.thread_time_ns()
    asyncio.run(SlowdownASGI(app, 2000)({"type": "http"}, None, None))  # type: ignore[arg-type]
    assert time.thread_time_ns() - before >= 2_000_000
    asyncio.run(SlowdownASGI(app, 2000)({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert calls == ["http", "lifespan"]


def test_patch_uvicorn_wraps_the_loaded_app_and_undoes() -> None:
    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    undo = patch_uvicorn(150)
    try:
        config = uvicorn.Config(app, log_level="error")
        config.load()
        assert isinstance(config.loaded_app, SlowdownASGI)
        assert config.loaded_app.microseconds == 150
    finally:
        undo()
    config = uvicorn.Config(app, log_level="error")
    config.load()
    assert not isinstance(config.loaded_app, SlowdownASGI)


def test_variant_env_drops_inherited_sinks_and_sets_the_switch() -> None:
    base = {"PATH": "/bin", "OBSCONF_OTLP_HTTP_URL": "http://127.0.0.1:1", "LOG_LEVEL": "info"}
    env = variant_env(VariantSpec("B", "off", instrumentation=False), base, {})
    assert env == {"PATH": "/bin", "LOG_LEVEL": "info", "OBSCONF_INSTRUMENTATION": "off"}
    env = variant_env(VariantSpec("A", "on", instrumentation=True), base, {"OBSCONF_LOGS_PUSH_URL": "http://x"})
    assert env["OBSCONF_INSTRUMENTATION"] == "on" and env["OBSCONF_LOGS_PUSH_URL"] == "http://x"
    assert "OBSCONF_OTLP_HTTP_URL" not in env and "OBSCONF_OTLP_HTTP_URL" in SINK_VARS


def test_variant_argv_pins_and_wraps() -> None:
    plain = variant_argv(VariantSpec("B", "off", False), "persist", 8123, core=None)
    assert plain[1:] == ["-m", "obsconf.reference", "--profile", "persist", "--port", "8123"]
    slow = variant_argv(VariantSpec("A", "on", True, slowdown_us=200), "aurum", 8124, core=0)
    assert slow[1:3] == ["-c", "0"] and slow[0].endswith("taskset")
    assert slow[4:] == ["-m", "obsconf.overhead.slowdown", "--slowdown-us", "200", "--module", "obsconf.reference",
                        "--", "--profile", "aurum", "--port", "8124"]


def test_endpoints_json_maps_to_sink_variables(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({
        "otlp_http_url": "http://127.0.0.1:4318", "logs_push_url": "http://127.0.0.1:3100/loki/api/v1/push",
        "pocketbase_url": "http://127.0.0.1:8090", "pocketbase_admin_email": "a@b.c",
        "pocketbase_admin_password": "secret123", "jaeger_query_url": "http://127.0.0.1:16686", "s3_url": "",
    }))
    assert endpoints_env(path) == {
        "OBSCONF_OTLP_HTTP_URL": "http://127.0.0.1:4318",
        "OBSCONF_LOGS_PUSH_URL": "http://127.0.0.1:3100/loki/api/v1/push",
        "OBSCONF_POCKETBASE_URL": "http://127.0.0.1:8090",
        "OBSCONF_POCKETBASE_ADMIN": "a@b.c:secret123",
    }


def test_endpoints_json_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        endpoints_env(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(UsageError, match="no backend URL"):
        endpoints_env(bad)


def test_cpu_is_sampled_once_the_work_left_behind_is_done() -> None:
    import subprocess
    import sys

    from obsconf.overhead.procstat import sample_when_idle

    burn_s = 0.3  # CPU a child spends after it started, like an export after the last answer
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.thread_time()\n"
                              f"while time.thread_time() - t < {burn_s}: pass\ntime.sleep(30)"])
    try:
        settled = sample_when_idle(child.pid, max_s=10.0)
        assert settled.sched_s >= burn_s  # the whole burn, not the part done when it was first read
    finally:
        child.kill()
        child.wait()
