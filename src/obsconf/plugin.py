"""The obsconf pytest plugin: options, markers and session fixtures for the backend stack and its readers.

Registered through the ``pytest11`` entry point. Heavy imports happen inside the fixtures that need them,
so a pytest run that uses no obsconf fixture pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from obsconf.settings import ENV_STACK, IMAGE_BACKENDS, IMAGE_SOURCES, STACK_MODES, Settings, image_env_var

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
    ("loki-dialect", "loki_dialect", "query language of --obsconf-loki-url: logql (Grafana Loki, default) or "
                                     "logsql (VictoriaLogs' Loki-compatible push), env OBSCONF_LOKI_DIALECT"),
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
    group.addoption("--obsconf-images", choices=IMAGE_SOURCES, default=None,
                    help="container stack: auto (local obsconf images if built, else official), local, official "
                         "(env OBSCONF_IMAGES)")
    for backend in IMAGE_BACKENDS:
        group.addoption(f"--obsconf-image-{backend}", default=None, metavar="IMAGE",
                        help=f"container image for {backend} (env {image_env_var(backend)})")
    from obsconf.settings import ENV_PROMETHEUS_VERSION, PROMETHEUS_VERSIONS

    group.addoption("--obsconf-prometheus-version", choices=PROMETHEUS_VERSIONS, default=None,
                    help="Prometheus release the stack and the promtool checks run: 3.16 (default) or 2.42 "
                         f"(Debian's, the fallback). Env {ENV_PROMETHEUS_VERSION}, ini obsconf_prometheus_version.")
    parser.addini("obsconf_prometheus_version", "default for --obsconf-prometheus-version", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(RunSummary(config), "obsconf-run-summary")
    config.addinivalue_line("markers", "obsconf(contract, section): a conformance check generated from a contract")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "stack: needs the real backend stack")
    config.addinivalue_line("markers", "faults: injects network faults with Toxiproxy (issue 8 scenarios)")
    config.addinivalue_line("markers", "container: needs a Docker-compatible container engine")
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
    images = dict(base.images)
    for backend in IMAGE_BACKENDS:
        value = config.getoption(f"--obsconf-image-{backend}")
        if value:
            images[backend] = value
    return Settings.from_env(stack=_stack_mode(config), external=external, images=images,
                             image_source=config.getoption("--obsconf-images"),
                             ready_timeout=config.getoption("--obsconf-ready-timeout"),
                             prometheus_version=_prometheus_version(config))


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


def _prometheus_version(config: pytest.Config) -> str:
    import os

    from obsconf.settings import DEFAULT_PROMETHEUS_VERSION, ENV_PROMETHEUS_VERSION

    return (config.getoption("--obsconf-prometheus-version") or os.environ.get(ENV_PROMETHEUS_VERSION)
            or str(config.getini("obsconf_prometheus_version")) or DEFAULT_PROMETHEUS_VERSION)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse an unknown Prometheus release; put the session's choice in the environment (restored at the
    end), because promtool checks and child processes resolve their Prometheus from it, as outside pytest."""
    import os

    from obsconf.settings import DEFAULT_PROMETHEUS_VERSION, ENV_PROMETHEUS_VERSION, PROMETHEUS_VERSIONS

    config = session.config
    version = _prometheus_version(config)
    if version not in PROMETHEUS_VERSIONS:
        raise pytest.UsageError(f"Prometheus version {version!r} ({ENV_PROMETHEUS_VERSION} or ini "
                                f"obsconf_prometheus_version): use one of {', '.join(PROMETHEUS_VERSIONS)}")
    before = os.environ.get(ENV_PROMETHEUS_VERSION)
    if before == version or (before is None and version == DEFAULT_PROMETHEUS_VERSION):
        return
    os.environ[ENV_PROMETHEUS_VERSION] = version

    def restore() -> None:
        if before is None:
            os.environ.pop(ENV_PROMETHEUS_VERSION, None)
        else:
            os.environ[ENV_PROMETHEUS_VERSION] = before

    config.add_cleanup(restore)


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




# --- the run summary in reports/: one CheckResult per test that records `obsconf_contract` ----------------


class RunSummary:
    """Collects conformance results of one pytest run and writes reports/conformance.{json,md} at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[Any] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        props = dict(report.user_properties)
        if "obsconf_contract" not in props:
            return
        from obsconf.report import CheckResult

        outcome = "passed" if report.passed else ("error" if report.when == "setup" else "failed")
        self.results.append(CheckResult(
            contract=props["obsconf_contract"], section=props.get("obsconf_section", ""), test_id=report.nodeid,
            outcome=outcome, duration_s=report.duration, findings=tuple(props.get("obsconf_findings", ())),
            message="" if report.passed else str(report.longrepr)[-4000:],
        ))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.results:
            return
        from pathlib import Path

        from obsconf.report import render_json, render_markdown

        out = Path(self.config.getoption("--obsconf-report-dir"))
        if not out.is_absolute():
            out = self.config.rootpath / out
        out.mkdir(parents=True, exist_ok=True)
        meta = {"stack": _stack_mode(self.config), "target": self.config.getoption("--obsconf-target") or "reference",
                "exit_status": int(exitstatus)}
        (out / "conformance.json").write_text(render_json(self.results, meta=meta))
        (out / "conformance.md").write_text(render_markdown(self.results, meta=meta))
        _progress(self.config)(f"run summary: {out / 'conformance.md'}")
