"""The obsconf pytest plugin: it collects contracts as tests, and gives options, markers and session fixtures.

Registered through the ``pytest11`` entry point, so installing obsconf is enough: ``pytest --obsconf-contract
my.yaml`` (or ``pytest my.obsconf.yaml``) collects the contract's cases in any repository. Heavy imports
happen inside the hooks and fixtures that need them, so a pytest run that uses no contract pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from obsconf.errors import ObsconfError
from obsconf.report.collector import RunSummary
from obsconf.session.config import (
    add_options,
    configured_contracts,
    fault_workers,
    load_mode,
    load_options,
    progress_writer,
    prometheus_version,
    report_dir,
    settings_from_config,
    stack_mode,
)
from obsconf.session.keys import RUNTIME
from obsconf.settings import ENV_STACK, STACK_MODES, Settings

if TYPE_CHECKING:
    from obsconf.readers.jaeger import JaegerReader
    from obsconf.readers.logs import LogReader
    from obsconf.readers.prometheus import PrometheusReader
    from obsconf.stack import Stack
    from obsconf.stack.pocketbase_admin import PocketBaseAdmin
    from obsconf.stack.toxiproxy import ToxiproxyClient


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


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "obsconf(contract, section): a conformance case generated from a contract")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "stack: needs the real backend stack")
    config.addinivalue_line("markers", "faults: injects network faults with Toxiproxy (-m 'not faults' skips them)")
    config.addinivalue_line("markers", "container: needs a Docker-compatible container engine")
    mode = stack_mode(config)
    if mode not in STACK_MODES:
        raise pytest.UsageError(f"{ENV_STACK}={mode!r} is not a stack mode: use one of {', '.join(STACK_MODES)}")
    if config.getoption("--obsconf-target") and config.getoption("--obsconf-target-cmd"):
        raise pytest.UsageError("--obsconf-target (a running service) and --obsconf-target-cmd (a command obsconf "
                                "starts) exclude each other: give one")
    from obsconf.session.runtime import SessionRuntime

    load = load_options(config)
    if load is not None:
        from obsconf.load import prepare

        prepare()  # already done before the conftests loaded; a no-op then
    try:
        settings = settings_from_config(config)
        workers = fault_workers(config)
    except ObsconfError as exc:  # a bad OBSCONF_* value: one line naming it, no traceback
        raise pytest.UsageError(str(exc)) from None
    runtime = SessionRuntime(settings, target_url=config.getoption("--obsconf-target"),
                             target_cmd=config.getoption("--obsconf-target-cmd"), report_dir=report_dir(config),
                             progress=progress_writer(config), load=load, fault_workers=workers)
    config.stash[RUNTIME] = runtime
    config.stash[_COLLECTED] = set()
    config.pluginmanager.register(RunSummary(config), "obsconf-run-summary")
    if load is not None:
        from obsconf.load.report import LoadReport

        config.pluginmanager.register(LoadReport(config, runtime, report_dir(config), progress_writer(config)),
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


def _is_contract(file_path: Path, parent: pytest.Collector) -> bool:
    if file_path.suffix not in _YAML:
        return False
    configured = {p.resolve() for p in configured_contracts(parent.config)}
    return (file_path.resolve() in configured or file_path.name.endswith((".obsconf.yaml", ".obsconf.yml"))
            or parent.session.isinitpath(file_path))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _is_contract(file_path, parent):
        return None
    from obsconf.session.nodes import ContractFile

    parent.config.stash[_COLLECTED].add(file_path.resolve())
    return ContractFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # contracts named by option live anywhere, not only under the paths pytest walked: collect the rest here,
    # before -k and -m select among all items
    from obsconf.session.nodes import ContractFile

    collected = config.stash[_COLLECTED]
    for path in configured_contracts(config):
        if path.resolve() in collected:
            continue
        collected.add(path.resolve())
        items.extend(session.genitems(ContractFile.from_parent(session, path=path)))


def pytest_collection_finish(session: pytest.Session) -> None:
    from obsconf.session.nodes import CaseItem

    contracts = [item.contract for item in session.items if isinstance(item, CaseItem)]
    kinds: dict[Any, set[str]] = {}
    for item in session.items:
        if isinstance(item, CaseItem):
            kinds.setdefault(item.contract.path.resolve(), set()).add(item.case.kind)
    ids = {item.case.id for item in session.items if isinstance(item, CaseItem)}
    try:
        session.config.stash[RUNTIME].select(contracts, kinds, ids)
    except ObsconfError as exc:
        raise pytest.UsageError(str(exc)) from None


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


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse an unknown Prometheus release; put the session's choice in the environment (restored at the
    end), because promtool checks and child processes resolve their Prometheus from it, as outside pytest."""
    import os

    from obsconf.settings import DEFAULT_PROMETHEUS_VERSION, ENV_PROMETHEUS_VERSION, PROMETHEUS_VERSIONS

    config = session.config
    version = prometheus_version(config)
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

    ends = obsconf_stack.endpoints
    return LogReader(ends.logs_query_url, ends.logs_dialect, log_file=log_file_of(obsconf_stack, "logs"))


@pytest.fixture(scope="session")
def pocketbase(obsconf_stack: Stack) -> PocketBaseAdmin:
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
        load = "" if load_mode(config) == "off" else " load=locust"
        return [f"obsconf: stack={stack_mode(config)} target={target or 'from each contract'}{load}"]
    return None
