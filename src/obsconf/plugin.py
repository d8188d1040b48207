"""The obsconf pytest plugin: it collects contracts as tests, and gives options, markers and session fixtures.

Registered through the ``pytest11`` entry point, so installing obsconf is enough: ``pytest --obsconf-contract
my.yaml`` (or ``pytest my.obsconf.yaml``) collects the contract's cases in any repository. Heavy imports
happen inside the hooks and fixtures that need them, so a pytest run that uses no contract pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from obsconf.errors import ObsconfError
from obsconf.keys import RUNTIME
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
    group.addoption("--obsconf-contract", action="append", default=None, metavar="PATH",
                    help="contract YAML to check (repeatable); its cases are collected like tests. Files named "
                         "*.obsconf.yaml are collected anyway, and so is any YAML file given as a path argument")
    parser.addini("obsconf_contracts", "contract files checked when --obsconf-contract is not given", type="paths",
                  default=[])
    group.addoption("--obsconf-target-cmd", default=None, metavar="CMD",
                    help="start your service with CMD ({port} becomes a free 127.0.0.1 port) instead of the "
                         "contract's service.command; obsconf gives it the standard OTEL_*/LOKI_* variables")
    group.addoption("--obsconf-target", default=None, metavar="URL",
                    help="check the service already running at URL (obsconf cannot inject its faults then)")
    group.addoption("--obsconf-stack", choices=STACK_MODES, default=None,
                    help="how to run the backends: auto (attach to `obsconf stack up` if it runs, else containers "
                         "if an engine answers, else processes), process, container, attach, external (URLs below). "
                         "Env OBSCONF_STACK, ini obsconf_stack. Default auto.")
    parser.addini("obsconf_stack", "default for --obsconf-stack", default="auto")
    group.addoption("--obsconf-ready-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds to wait for each backend to become ready (env OBSCONF_READY_TIMEOUT, default 30)")
    group.addoption("--obsconf-report-dir", default=None, metavar="DIR",
                    help="where the run summary (JSON, Markdown) and the services' output go (ini obsconf_report_dir, "
                         "default: reports)")
    parser.addini("obsconf_report_dir", "default for --obsconf-report-dir", default="reports")
    for suffix, _key, help_text in _EXTERNAL_OPTIONS:
        group.addoption(f"--obsconf-{suffix}", default=None, help=help_text)
    _add_load_options(parser, group)
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


#: the load options: (option suffix, ini name, type, help)
_LOAD_OPTIONS = (
    ("users", "obsconf_load_users", int, "Locust users (default: the contract's load.users)"),
    ("spawn-rate", "obsconf_load_spawn_rate", float, "users started per second (default: load.spawn_rate)"),
    ("seconds", "obsconf_load_seconds", float, "how long the load runs (default: load.seconds)"),
    ("workers", "obsconf_load_workers", int, "run Locust distributed: a master in pytest and N worker processes "
                                             "on 127.0.0.1 (default 0: one local runner)"),
    ("remote-workers", "obsconf_load_remote_workers", int, "also wait for N workers started by hand, e.g. on other "
                                                           "machines through an SSH tunnel (python -m "
                                                           "obsconf.load.worker ...)"),
    ("master-port", "obsconf_load_master_port", int, "the Locust master's port on 127.0.0.1 (default: a free one)"),
)
LOAD_MODES = ("off", "locust")


def _add_load_options(parser: pytest.Parser, group: Any) -> None:
    group.addoption("--obsconf-load", choices=LOAD_MODES, default=None,
                    help="locust: each contract's Locust user class (its 'load' section) drives the service, every "
                         "case reads what that load produced, and the signals are accounted per route "
                         "(ini obsconf_load, default off)")
    parser.addini("obsconf_load", "default for --obsconf-load", default="off")
    for suffix, ini, kind, help_text in _LOAD_OPTIONS:
        group.addoption(f"--obsconf-load-{suffix}", type=kind, default=None, metavar="N", help=help_text)
        parser.addini(ini, f"default for --obsconf-load-{suffix}", default="")


def _load_value(config: pytest.Config, suffix: str, ini: str, kind: type) -> Any:
    value = config.getoption(f"--obsconf-load-{suffix}")
    if value is None and str(config.getini(ini)).strip():
        try:
            value = kind(str(config.getini(ini)).strip())
        except ValueError:
            raise pytest.UsageError(f"ini {ini} = {config.getini(ini)!r} is not a number") from None
    if value is not None and value < 0:
        raise pytest.UsageError(f"--obsconf-load-{suffix} {value} must not be negative")
    return value


def _load_mode(config: pytest.Config) -> str:
    mode = config.getoption("--obsconf-load") or str(config.getini("obsconf_load")).strip() or "off"
    if mode not in LOAD_MODES:
        raise pytest.UsageError(f"ini obsconf_load = {mode!r}: use one of {', '.join(LOAD_MODES)}")
    return mode


def load_options(config: pytest.Config) -> Any:
    """The session's :class:`obsconf.load.runner.LoadOptions`, or None without ``--obsconf-load locust``."""
    values = {suffix: _load_value(config, suffix, ini, kind) for suffix, ini, kind, _ in _LOAD_OPTIONS}
    if _load_mode(config) != "locust":
        given = [f"--obsconf-load-{k}" for k, v in values.items() if v is not None]
        if given:
            raise pytest.UsageError(f"{', '.join(given)} set(s) the load, which runs only with --obsconf-load locust: "
                                    "add it")
        return None
    from obsconf.load.runner import LoadOptions

    return LoadOptions(users=values["users"] or None, spawn_rate=values["spawn-rate"] or None,
                       seconds=values["seconds"] or None, workers=values["workers"] or 0,
                       remote_workers=values["remote-workers"] or 0, master_port=values["master-port"] or 0)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # Locust patches the process with gevent when imported: before any conftest imports requests
    ns = early_config.known_args_namespace
    mode = getattr(ns, "obsconf_load", None) or str(early_config.getini("obsconf_load")).strip()
    if mode == "locust":
        from obsconf.errors import UsageError
        from obsconf.load import prepare

        try:
            prepare()
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "obsconf(contract, section): a conformance case generated from a contract")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "stack: needs the real backend stack")
    config.addinivalue_line("markers", "faults: injects network faults with Toxiproxy (-m 'not faults' skips them)")
    config.addinivalue_line("markers", "container: needs a Docker-compatible container engine")
    mode = _stack_mode(config)
    if mode not in STACK_MODES:
        raise pytest.UsageError(f"{ENV_STACK}={mode!r} is not a stack mode: use one of {', '.join(STACK_MODES)}")
    if config.getoption("--obsconf-target") and config.getoption("--obsconf-target-cmd"):
        raise pytest.UsageError("--obsconf-target (a running service) and --obsconf-target-cmd (a command obsconf "
                                "starts) exclude each other: give one")
    from obsconf.runtime import SessionRuntime

    load = load_options(config)
    if load is not None:
        from obsconf.load import prepare

        prepare()  # already done before the conftests loaded; a no-op then
    try:
        settings = settings_from_config(config)
    except ObsconfError as exc:  # a bad OBSCONF_* value: one line naming it, no traceback
        raise pytest.UsageError(str(exc)) from None
    runtime = SessionRuntime(settings, target_url=config.getoption("--obsconf-target"),
                             target_cmd=config.getoption("--obsconf-target-cmd"), report_dir=report_dir(config),
                             progress=_progress(config), load=load)
    config.stash[RUNTIME] = runtime
    config.stash[_COLLECTED] = set()
    config.pluginmanager.register(RunSummary(config), "obsconf-run-summary")
    if load is not None:
        from obsconf.load.report import LoadReport

        config.pluginmanager.register(LoadReport(config, runtime, report_dir(config), _progress(config)),
                                      "obsconf-load-report")
    # a malformed contract named on the command line is a usage error (exit 4, one line) before collection
    from obsconf.errors import ContractError

    for path in configured_contracts(config):
        try:
            runtime.contract(path)
        except ContractError as exc:
            raise pytest.UsageError(f"invalid contract: {exc}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME, None)
    if runtime is not None:
        runtime.close()


_COLLECTED = pytest.StashKey[set]()  # resolved paths of the contract files collected so far
_YAML = (".yaml", ".yml")


def configured_contracts(config: pytest.Config) -> list[Path]:
    """Contracts named by --obsconf-contract, else by the ``obsconf_contracts`` ini setting."""
    given = config.getoption("--obsconf-contract") or []
    paths = [Path(p) for p in given] or [Path(p) for p in config.getini("obsconf_contracts")]
    for path in paths:
        if not path.is_file():
            raise pytest.UsageError(f"--obsconf-contract {path}: no such file")
    return paths


def _is_contract(file_path: Path, parent: pytest.Collector) -> bool:
    if file_path.suffix not in _YAML:
        return False
    configured = {p.resolve() for p in configured_contracts(parent.config)}
    return (file_path.resolve() in configured or file_path.name.endswith((".obsconf.yaml", ".obsconf.yml"))
            or parent.session.isinitpath(file_path))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _is_contract(file_path, parent):
        return None
    from obsconf.nodes import ContractFile

    parent.config.stash[_COLLECTED].add(file_path.resolve())
    return ContractFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # contracts named by option live anywhere, not only under the paths pytest walked: collect the rest here,
    # before -k and -m select among all items
    from obsconf.nodes import ContractFile

    collected = config.stash[_COLLECTED]
    for path in configured_contracts(config):
        if path.resolve() in collected:
            continue
        collected.add(path.resolve())
        items.extend(session.genitems(ContractFile.from_parent(session, path=path)))


def pytest_collection_finish(session: pytest.Session) -> None:
    from obsconf.nodes import CaseItem

    contracts = [item.contract for item in session.items if isinstance(item, CaseItem)]
    kinds: dict[Any, set[str]] = {}
    for item in session.items:
        if isinstance(item, CaseItem):
            kinds.setdefault(item.contract.path.resolve(), set()).add(item.case.kind)
    try:
        session.config.stash[RUNTIME].select(contracts, kinds)
    except ObsconfError as exc:
        raise pytest.UsageError(str(exc)) from None


def _write_coverage(contracts: dict[Any, Any], out: Path) -> dict[str, Any]:
    """The traceability of the run's contracts to their seeds: reports/coverage.{json,md}, and the summary's
    ``coverage`` slot (a contract whose seed file is not found is left out)."""
    from obsconf.coverage import seed_coverage, write_reports

    covs = [c for c in (seed_coverage(contract) for contract in contracts.values()) if not c.missing_seed]
    return write_reports(covs, out / "coverage.json", out / "coverage.md") if covs else {}


def _stack_mode(config: pytest.Config) -> str:
    import os

    return config.getoption("--obsconf-stack") or os.environ.get(ENV_STACK) or str(config.getini("obsconf_stack"))


def report_dir(config: pytest.Config) -> Path:
    out = Path(config.getoption("--obsconf-report-dir") or config.getini("obsconf_report_dir"))
    return out if out.is_absolute() else config.rootpath / out


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


def _progress(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines on the terminal, shown at once even while a test's output is captured."""
    from contextlib import nullcontext

    def say(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capman = config.pluginmanager.get_plugin("capturemanager")
        with capman.global_and_fixture_disabled() if capman is not None else nullcontext():
            reporter.write_line(f"[obsconf] {line}")

    return say


@pytest.fixture(scope="session")
def obsconf_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings of this session (stack mode, cache dir, external URLs)."""
    return pytestconfig.stash[RUNTIME].settings


@pytest.fixture(scope="session")
def obsconf_stack(pytestconfig: pytest.Config) -> Stack:
    """The running backend stack for the session (shared with the contract cases); stopped at session end."""
    from obsconf.errors import ObsconfError

    try:
        return pytestconfig.stash[RUNTIME].stack()
    except ObsconfError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def jaeger(obsconf_stack: Stack) -> JaegerReader:
    """Reads traces from the session's Jaeger: ``traces(service)``, ``trace(trace_id)``."""
    from obsconf.readers._http import log_file_of
    from obsconf.readers.jaeger import JaegerReader

    return JaegerReader(obsconf_stack.endpoints.jaeger_query_url, log_file=log_file_of(obsconf_stack, "jaeger"))


@pytest.fixture(scope="session")
def prometheus(obsconf_stack: Stack) -> PrometheusReader:
    """PromQL against the session's Prometheus: ``query``, ``query_range``, ``targets``."""
    from obsconf.readers._http import log_file_of
    from obsconf.readers.prometheus import PrometheusReader

    return PrometheusReader(obsconf_stack.endpoints.prometheus_url, log_file=log_file_of(obsconf_stack, "prometheus"))


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
    from obsconf.readers._http import log_file_of
    from obsconf.readers.logs import LogReader

    e = obsconf_stack.endpoints
    return LogReader(e.logs_query_url, e.logs_dialect, log_file=log_file_of(obsconf_stack, "logs"))


@pytest.fixture(scope="session")
def pocketbase(obsconf_stack: Stack) -> PocketBaseClient:
    """The session's PocketBase as a superuser: ``records(collection, filter=...)``."""
    client = obsconf_stack.pocketbase()
    if client is None:
        pytest.fail("no PocketBase in this stack: no selected contract uses it (give --obsconf-pocketbase-url with "
                    "--obsconf-stack=external)", pytrace=False)
    return client


@pytest.fixture(scope="session")
def toxiproxy(obsconf_stack: Stack) -> ToxiproxyClient:
    """The session's Toxiproxy: ``create_proxy``, ``toxic(...)``, ``outage(...)``."""
    client = obsconf_stack.toxiproxy
    if client is None:
        pytest.fail("no Toxiproxy in this stack: pass --obsconf-toxiproxy-url with --obsconf-stack=external",
                    pytrace=False)
    return client


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    target = config.getoption("--obsconf-target") or config.getoption("--obsconf-target-cmd")
    if target or config.getoption("--obsconf-stack") or config.getoption("--obsconf-contract"):
        load = "" if _load_mode(config) == "off" else " load=locust"
        return [f"obsconf: stack={_stack_mode(config)} target={target or 'from each contract'}{load}"]
    return None


# --- the run summary in reports/: one CheckResult per test that records `obsconf_contract` ----------------


class RunSummary:
    """Collects conformance results of one pytest run and writes reports/conformance.{json,md} at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[Any] = []
        self.cases: dict[str, Any] = {}  # nodeid -> obsconf.cases.case.Case
        self.opt_outs: dict[str, list[dict[str, str]]] = {}  # contract -> checks it turns off, with reasons

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # the case behind each contract item gives the report its stable id, description and the contract's
        # opt-outs with their reasons
        from obsconf.nodes import CaseItem

        self.cases.update({item.nodeid: item.case for item in session.items if isinstance(item, CaseItem)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        props = dict(report.user_properties)
        if "obsconf_contract" not in props:
            return
        from obsconf.report import CheckResult

        outcome = "passed" if report.passed else ("error" if report.when == "setup" else "failed")
        if hasattr(report, "wasxfail"):
            outcome = "seed_defect"  # a case that proved a defect of the seed (obsconf.cases.case.SEED_DEFECT)
        case = self.cases.get(report.nodeid)
        if case is not None and props["obsconf_contract"] not in self.opt_outs:
            from dataclasses import asdict

            from obsconf.casetext import opt_outs

            self.opt_outs[props["obsconf_contract"]] = [asdict(o) for o in opt_outs(case.contract)]
        self.results.append(CheckResult(
            contract=props["obsconf_contract"], section=props.get("obsconf_section", ""), test_id=report.nodeid,
            outcome=outcome, duration_s=report.duration, findings=tuple(props.get("obsconf_findings", ())),
            message="" if report.passed else str(report.longrepr)[-4000:],
            case_id=case.id if case is not None else "",
            describe=case.describe if case is not None else str(props.get("obsconf_describe", "")),
        ))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.results:
            return
        from obsconf.report import render_json, render_markdown
        from obsconf.report_html import write_html

        out = report_dir(self.config)
        out.mkdir(parents=True, exist_ok=True)
        target = self.config.getoption("--obsconf-target") or self.config.getoption("--obsconf-target-cmd")
        meta = {"stack": _stack_mode(self.config), "target": target or "from each contract",
                "exit_status": int(exitstatus)}
        runtime = self.config.stash.get(RUNTIME, None)
        faults = runtime.fault_results() if runtime is not None else []
        if faults:
            from obsconf.faults.report import write_reports

            _, md = write_reports(faults, out)
            _progress(self.config)(f"fault scenarios: {md}")
        coverage = _write_coverage({case.contract.path.resolve(): case.contract for case in self.cases.values()}, out)
        (out / "conformance.json").write_text(render_json(self.results, meta=meta, opt_outs=self.opt_outs,
                                                          coverage=coverage))
        (out / "conformance.md").write_text(render_markdown(self.results, meta=meta, opt_outs=self.opt_outs))
        page = write_html(out / "conformance.json")
        _progress(self.config)(f"run summary: {out / 'conformance.md'}, {page}")
