"""The conformance suite: one test per check of each contract, against real backends.

Contracts come from ``--obsconf-contract`` (repeatable) or every file in ``fixtures/contracts/``. Each
contract's target (the reference service, or ``--obsconf-target``) starts on first use; its data is
collected once and shared by that contract's checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from obsconf.contract.loader import default_contract_paths, load_contracts
from obsconf.contract.model import Contract
from obsconf.errors import ContractError, ObsconfError

_CONTRACTS = pytest.StashKey[list[Contract]]()


def _contracts(config: pytest.Config) -> list[Contract]:
    if _CONTRACTS not in config.stash:
        paths = config.getoption("--obsconf-contract") or default_contract_paths()
        try:
            config.stash[_CONTRACTS] = load_contracts([Path(p) for p in paths])
        except ContractError as exc:
            raise pytest.UsageError(f"invalid contract: {exc}") from None
        except FileNotFoundError as exc:
            raise pytest.UsageError(f"--obsconf-contract: no such file: {exc.filename}") from None
    return config.stash[_CONTRACTS]


def pytest_configure(config: pytest.Config) -> None:
    _contracts(config)  # a malformed contract is a usage error (exit 4, one line) before collection starts


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario_id" in metafunc.fixturenames:
        metafunc.parametrize("scenario_id", _fault_scenarios(metafunc.config))
    if "obsconf_case" not in metafunc.fixturenames:
        return
    from obsconf.suite import build_cases

    params = [
        pytest.param(case, id=case.id, marks=pytest.mark.obsconf(contract=case.contract.service.profile,
                                                                 section=case.section))
        for contract in _contracts(metafunc.config) for case in build_cases(contract)
    ]
    metafunc.parametrize("obsconf_case", params)


def _fault_scenarios(config: pytest.Config) -> list[str]:
    """Fault scenarios (issue 8) of the selected contracts' profiles. None with --obsconf-target: they start
    the reference service with its dependencies behind Toxiproxy, which a service obsconf did not start is not."""
    from obsconf.faults import SCENARIOS

    if config.getoption("--obsconf-target"):
        return []
    profiles = {c.service.profile for c in _contracts(config)}
    return [sc.id for sc in SCENARIOS if sc.profile in profiles]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # an empty parameter set would show as a skip; no scenario applies, so the test is deselected instead
    empty = [i for i in items if i.name.startswith("test_fault") and i.get_closest_marker("skip") is not None]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("--obsconf-target"):
        return ("obsconf: fault scenarios are not generated with --obsconf-target (they need the reference "
                "service behind Toxiproxy)")
    return None


class Probes:
    """One live probe per contract, each with its target started on first use and stopped at session end."""

    def __init__(self, request: pytest.FixtureRequest, log_dir: Path) -> None:
        self.request = request
        self.log_dir = log_dir
        self._probes: dict[str, object] = {}
        self._targets: list[object] = []
        self._failed: dict[str, str] = {}

    def get(self, contract: Contract):  # noqa: ANN201
        from obsconf.probe import LiveProbe
        from obsconf.target import start_target

        key = contract.name
        if key in self._failed:
            pytest.fail(self._failed[key], pytrace=False)
        if key not in self._probes:
            stack = self.request.getfixturevalue("obsconf_stack")
            target_url = self.request.config.getoption("--obsconf-target")
            try:
                target = start_target(contract, stack, log_dir=self.log_dir / contract.service.profile,
                                      target_url=target_url)
            except ObsconfError as exc:
                self._failed[key] = f"{contract.name}: could not start the target: {exc}"
                pytest.fail(self._failed[key], pytrace=False)
            self._targets.append(target)
            self._probes[key] = LiveProbe(
                contract, target,
                jaeger=self.request.getfixturevalue("jaeger"), logs=self.request.getfixturevalue("loki"),
                prometheus=self.request.getfixturevalue("prometheus"),
                pocketbase=self.request.getfixturevalue("pocketbase"), toxiproxy=stack.toxiproxy,
            )
        return self._probes[key]

    def close(self) -> None:
        for target in self._targets:
            target.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def obsconf_probes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probes]:
    probes = Probes(request, tmp_path_factory.mktemp("targets"))
    try:
        yield probes
    finally:
        probes.close()
