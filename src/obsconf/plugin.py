"""The obsconf pytest plugin: options, markers and session fixtures for the backend stack and its readers.

Registered through the ``pytest11`` entry point. Heavy imports happen inside the fixtures that need them,
so a pytest run that uses no obsconf fixture pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from obsconf.settings import ENV_STACK, STACK_MODES, Settings

if TYPE_CHECKING:
    from obsconf.readers.jaeger import JaegerReader
    from obsconf.readers.logs import LogReader
    from obsconf.readers.pocketbase import PocketBaseClient
    from obsconf.readers.prometheus import PrometheusReader
    from obsconf.stack import Stack
    from obsconf.stack.toxiproxy import ToxiproxyClient

_EXTERNAL_OPTIONS = (
    # (option suffix, Settings.external key, help)
    ("jaeger-url", "jaeger", "Jaeger query base URL (external stack), env OBSCONF_JAEGER_URL"),
    ("otlp-url", "otlp_http", "OTLP/HTTP base URL where the target sends spans, env OBSCONF_OTLP_HTTP_URL"),
    ("prometheus-url", "prometheus", "Prometheus base URL, env OBSCONF_PROMETHEUS_URL"),
    ("loki-url", "loki", "Grafana Loki base URL (push + LogQL), env OBSCONF_LOKI_URL"),
    ("pocketbase-url", "pocketbase", "PocketBase base URL, env OBSCONF_POCKETBASE_URL"),
    ("pocketbase-admin", "pocketbase_admin", "PocketBase superuser as email:password, env OBSCONF_POCKETBASE_ADMIN"),
    ("toxiproxy-url", "toxiproxy", "Toxiproxy API URL, env OBSCONF_TOXIPROXY_URL"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("obsconf", "observability conformance (obsconf)")
    group.addoption("--obsconf-stack", choices=STACK_MODES, default=None,
                    help="how to run the backends: auto (containers if an engine answers, else processes), process, "
                         "container, external (URLs below). Env OBSCONF_STACK, ini obsconf_stack. Default auto.")
    parser.addini("obsconf_stack", "default for --obsconf-stack", default="auto")
    group.addoption("--obsconf-contract", action="append", default=None, metavar="PATH",
                    help="contract YAML to check (repeatable); default: every file in fixtures/contracts/")
    parser.addini("obsconf_contracts", "default contract files", type="paths", default=[])
    group.addoption("--obsconf-target", default=None, metavar="URL",
                    help="check the service already running at URL instead of starting the reference service")
    group.addoption("--obsconf-ready-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds to wait for each backend to become ready (env OBSCONF_READY_TIMEOUT, default 30)")
    group.addoption("--obsconf-report-dir", default="reports", metavar="DIR",
                    help="where the JSON and Markdown run summary is written (default: reports)")
    for suffix, _key, help_text in _EXTERNAL_OPTIONS:
        group.addoption(f"--obsconf-{suffix}", default=None, help=help_text)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "obsconf(contract, section): a conformance check generated from a contract")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "stack: needs the real backend stack")
    mode = _stack_mode(config)
    if mode not in STACK_MODES:
        raise pytest.UsageError(f"{ENV_STACK}={mode!r} is not a stack mode: use one of {', '.join(STACK_MODES)}")


def _stack_mode(config: pytest.Config) -> str:
    import os

    return config.getoption("--obsconf-stack") or os.environ.get(ENV_STACK) or str(config.getini("obsconf_stack"))


def settings_from_config(config: pytest.Config) -> Settings:
    """The session's Settings: command-line options over OBSCONF_* env vars over defaults."""
    base = Settings.from_env()
    external = dict(base.external)
    for suffix, key, _ in _EXTERNAL_OPTIONS:
        value = config.getoption(f"--obsconf-{suffix}")
        if value:
            external[key] = value
    return Settings.from_env(stack=_stack_mode(config), external=external,
                             ready_timeout=config.getoption("--obsconf-ready-timeout"))


def _progress(config: pytest.Config):  # noqa: ANN202
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"[obsconf] {line}")

    return say


@pytest.fixture(scope="session")
def obsconf_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings of this session (stack mode, cache dir, external URLs)."""
    return settings_from_config(pytestconfig)


@pytest.fixture(scope="session")
def obsconf_stack(pytestconfig: pytest.Config, obsconf_settings: Settings) -> Iterator[Stack]:
    """The running backend stack for the session; stopped (processes and containers removed) at the end."""
    from obsconf.errors import ObsconfError
    from obsconf.stack import start_stack

    say = _progress(pytestconfig)
    try:
        stack = start_stack(obsconf_settings, progress=say)
    except ObsconfError as exc:
        pytest.fail(f"obsconf could not start the backend stack ({obsconf_settings.stack} mode):\n{exc}", pytrace=False)
    say(f"stack ({stack.mode}) ready: " + ", ".join(f"{k} {v:.2f}s" for k, v in stack.timings.items()))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def jaeger(obsconf_stack: Stack) -> JaegerReader:
    """Reads traces from the session's Jaeger: ``traces(service)``, ``trace(trace_id)``."""
    from obsconf.readers.jaeger import JaegerReader

    return JaegerReader(obsconf_stack.endpoints.jaeger_query_url)


@pytest.fixture(scope="session")
def prometheus(obsconf_stack: Stack) -> PrometheusReader:
    """PromQL against the session's Prometheus: ``query``, ``query_range``, ``targets``."""
    from obsconf.readers.prometheus import PrometheusReader

    return PrometheusReader(obsconf_stack.endpoints.prometheus_url)


@pytest.fixture(scope="session")
def loki(obsconf_stack: Stack) -> LogReader:
    """Reads log lines from the session's log store (Loki API or VictoriaLogs): ``lines(labels)``."""
    from obsconf.readers.logs import LogReader

    e = obsconf_stack.endpoints
    return LogReader(e.logs_query_url, e.logs_dialect)


@pytest.fixture(scope="session")
def pocketbase(obsconf_stack: Stack) -> PocketBaseClient:
    """The session's PocketBase as a superuser: ``records(collection, filter=...)``."""
    return obsconf_stack.pocketbase()


@pytest.fixture(scope="session")
def toxiproxy(obsconf_stack: Stack) -> ToxiproxyClient:
    """The session's Toxiproxy: ``create_proxy``, ``toxic(...)``, ``outage(...)``."""
    client = obsconf_stack.toxiproxy
    if client is None:
        pytest.fail("no Toxiproxy in this stack: pass --obsconf-toxiproxy-url with --obsconf-stack=external",
                    pytrace=False)
    return client


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if config.getoption("--obsconf-target") or config.getoption("--obsconf-stack"):
        return [f"obsconf: stack={_stack_mode(config)} target={config.getoption('--obsconf-target') or 'reference'}"]
    return None


