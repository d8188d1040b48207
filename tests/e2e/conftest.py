"""Shared, cached runs of the conformance suite: each (mode, contract, breaks, selection) runs once per session."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.suite_run import BROKEN_ENV, CONTRACTS, REPO_ROOT, SuiteRun, broken_command, run_suite


class SuiteRuns:
    """Runs the suite on demand and remembers each run, so one run serves several tests."""

    def __init__(self, root: Path, services: ExitStack) -> None:
        self.root = root
        self._runs: dict[tuple[str, ...], SuiteRun] = {}
        self._services = services
        self._stack: Any = None

    def _dir(self, key: tuple[str, ...]) -> Path:
        path = self.root / "-".join(k.replace(",", "+").replace(" ", "_").replace("/", "_") or "none" for k in key)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cmd(self, profile: str, breaks: Sequence[str] | None = (), *, select: str = "",
            marks: str = "not faults", extra: Sequence[str] = ()) -> SuiteRun:
        """The suite with its own stack, starting ``--obsconf-target-cmd``: the broken target with ``breaks``
        (empty: with no break), or with None the contract's own reference service; ``extra`` options last
        (e.g. ``--obsconf-load locust``)."""
        key = ("cmd", profile, "reference" if breaks is None else ",".join(breaks) or "none", select, marks,
               *extra)
        if key not in self._runs:
            where = self._dir(key)
            args = [str(CONTRACTS / f"{profile}.yaml"), "--obsconf-stack=process"]
            if breaks is not None:
                args += ["--obsconf-target-cmd", broken_command(profile, breaks)]
            args += (["-k", select] if select else []) + (["-m", marks] if marks else []) + list(extra)
            self._runs[key] = run_suite(args, report_dir=where / "report", env=BROKEN_ENV)
        return self._runs[key]

    def url(self, profile: str, breaks: Sequence[str] = ()) -> SuiteRun:
        """The suite against a service it did not start: this process runs a stack and the service (the broken
        target, or the reference with no breaks) wired to it, and gives the suite their URLs
        (``--obsconf-stack=external``, ``--obsconf-target``)."""
        key = ("url", profile, ",".join(breaks))
        if key not in self._runs:
            where = self._dir(key)
            stack = self._shared_stack()
            base = _start_outside(stack, profile, breaks, where / "service", self._services)
            e = stack.endpoints
            args = ["--obsconf-stack=external", f"--obsconf-jaeger-url={e.jaeger_query_url}",
                    f"--obsconf-otlp-url={e.otlp_http_url}", f"--obsconf-prometheus-url={e.prometheus_url}",
                    f"--obsconf-loki-url={e.logs_query_url}", "--obsconf-loki-dialect=logsql",
                    f"--obsconf-pocketbase-url={e.pocketbase_url}",
                    f"--obsconf-pocketbase-admin={e.pocketbase_admin_email}:{e.pocketbase_admin_password}",
                    f"--obsconf-toxiproxy-url={e.toxiproxy_url}",
                    "--obsconf-target", base, str(CONTRACTS / f"{profile}.yaml"),
                    "-m", "not faults"]
            self._runs[key] = run_suite(args, report_dir=where / "report")
        return self._runs[key]

    def _shared_stack(self) -> Any:
        if self._stack is None:
            from obsconf.settings import Settings
            from obsconf.stack import start_stack

            self._stack = self._services.enter_context(
                start_stack(Settings.from_env(stack="process"), progress=lambda _: None))
        return self._stack


def _start_outside(stack: Any, profile: str, breaks: Sequence[str], log_dir: Path, services: ExitStack) -> str:
    """Start the broken target wired straight to ``stack`` (no proxies), as a user runs their own service,
    and have the stack's Prometheus scrape it (an external Prometheus must be told by its owner)."""
    import os

    from obsconf.contract.command import parse_command
    from obsconf.contract.loader import load_contract
    from obsconf.ports import free_port
    from obsconf.target.env import service_env
    from obsconf.target.launch import start_service
    from obsconf.target.proxies import dependency_env, upstream_url

    contract = load_contract(CONTRACTS / f"{profile}.yaml")
    env = dict(os.environ, **BROKEN_ENV, **service_env(stack.endpoints, service_name=contract.service.name))
    for dep in contract.service.dependencies:
        env.update(dependency_env(dep, upstream_url(dep, stack.endpoints), stack.endpoints))
    env.update(contract.service.env)
    env["OBSCONF_LOG_DIR"] = str(log_dir / "files")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_service(f"broken target {profile}", parse_command(broken_command(profile, breaks)), port=port,
                         ready_url=base + contract.service.probe_path, env=env, cwd=REPO_ROOT, log_dir=log_dir,
                         ready_timeout=30)
    services.callback(proc.stop)
    stack.add_scrape_target(contract.service.name, f"127.0.0.1:{port}", contract.service.metrics_path)
    return base


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteRuns]:
    with ExitStack() as services:
        yield SuiteRuns(tmp_path_factory.mktemp("suite-runs"), services)

