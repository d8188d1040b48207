"""Loaded into the conformance suite's own pytest process (``-p tests.e2e.suite_plugin``) by the e2e tests.

The suite starts its stack; this plugin decides what service it checks. Environment variables:

- ``OBSCONF_E2E_MODE=target``: as soon as the suite's stack is up, start a service on 127.0.0.1:
  ``OBSCONF_E2E_PORT`` wired straight to that stack (no proxies) - the broken target with
  ``OBSCONF_E2E_BREAK``, or with no breaks the reference service via ``start_reference``. The suite is run
  with ``--obsconf-target http://127.0.0.1:<port>``, so it checks a service it did not start. The service
  gets the contract's ``service.env``, as a user would configure their own service.
- ``OBSCONF_E2E_MODE=swap``: the suite starts its target itself, behind its Toxiproxy proxies (so retry
  faults are injected for real), but the process it launches is the broken target with ``OBSCONF_E2E_BREAK``.

``OBSCONF_E2E_LOG_DIR`` receives the service's log.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import pytest

ENV_MODE = "OBSCONF_E2E_MODE"
ENV_PORT = "OBSCONF_E2E_PORT"
ENV_BREAK = "OBSCONF_E2E_BREAK"
ENV_LOG_DIR = "OBSCONF_E2E_LOG_DIR"


def _breaks() -> list[str]:
    from tests.broken_target.breaks import parse_breaks

    return parse_breaks(os.environ.get(ENV_BREAK, ""))


def _log_dir() -> Path:
    return Path(os.environ.get(ENV_LOG_DIR) or ".")


def pytest_configure(config: pytest.Config) -> None:
    mode = os.environ.get(ENV_MODE, "")
    if mode not in ("target", "swap"):
        raise pytest.UsageError(f"tests.e2e.suite_plugin: set {ENV_MODE} to target or swap, got {mode!r}")
    if mode == "swap":
        import obsconf.reference.launch as launch
        from tests.broken_target.launch import start_broken

        breaks = _breaks()

        def start_reference(profile: str, port: int, endpoints: Any, *, log_dir: Path,
                            env: Mapping[str, str] | None = None, ready_timeout: float = 20.0,
                            registry: Path | None = None) -> Any:
            proc = start_broken(profile, port, endpoints, breaks=breaks, log_dir=log_dir, env=env,
                                ready_timeout=ready_timeout, registry=registry)
            # a trace for the e2e test that the suite launched this process and not the reference
            _log_dir().mkdir(parents=True, exist_ok=True)
            with (_log_dir() / "launches.txt").open("a") as out:
                out.write(" ".join(proc.argv) + "\n")
            return proc

        # obsconf.target.start_target imports start_reference from this module when it launches a target
        launch.start_reference = start_reference


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None, Any, Any]:
    stack = yield
    if fixturedef.argname != "obsconf_stack" or os.environ.get(ENV_MODE) != "target":
        return stack
    from obsconf.contract.loader import load_contract
    from obsconf.reference.launch import start_reference
    from tests.broken_target.launch import start_broken

    paths = request.config.getoption("--obsconf-contract") or []
    if len(paths) != 1:
        raise pytest.UsageError("tests.e2e.suite_plugin (target mode) needs exactly one --obsconf-contract")
    contract = load_contract(paths[0])
    port = int(os.environ[ENV_PORT])
    profile, env = contract.service.profile, dict(contract.service.env)
    breaks = _breaks()
    if breaks:
        proc = start_broken(profile, port, stack.endpoints, breaks=breaks, log_dir=_log_dir(), env=env)
    else:
        proc = start_reference(profile, port, stack.endpoints, log_dir=_log_dir(), env=env)
    fixturedef.addfinalizer(proc.stop)  # runs before the stack's own teardown (finalizers are LIFO)
    return stack
