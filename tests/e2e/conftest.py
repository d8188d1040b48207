"""Shared, cached runs of the conformance suite: each (mode, contract, breaks) runs once per session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from obsconf.ports import free_port
from tests.e2e.suite_run import CONTRACTS, SuiteRun, run_suite


class SuiteRuns:
    """Runs the suite on demand and remembers each run, so a reference run serves several tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._runs: dict[tuple[str, ...], SuiteRun] = {}

    def _dir(self, key: tuple[str, ...]) -> Path:
        path = self.root / "-".join(k.replace(",", "+").replace(" ", "_") or "none" for k in key)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def target(self, profile: str, breaks: Sequence[str] = (), *, tests: str = "conformance/test_contracts.py",
               ) -> SuiteRun:
        """The suite with its own process stack and ``--obsconf-target`` pointing at a service that the
        e2e plugin starts on that stack: the broken target with ``breaks``, or the reference without."""
        key = ("target", profile, ",".join(breaks), tests)
        if key not in self._runs:
            where = self._dir(key)
            port = free_port()
            self._runs[key] = run_suite(
                [tests, "--obsconf-stack=process", "--obsconf-target", f"http://127.0.0.1:{port}",
                 "--obsconf-contract", str(CONTRACTS / f"{profile}.yaml")],
                report_dir=where / "report",
                env={"OBSCONF_E2E_MODE": "target", "OBSCONF_E2E_PORT": str(port),
                     "OBSCONF_E2E_BREAK": ",".join(breaks), "OBSCONF_E2E_LOG_DIR": str(where / "logs")})
        return self._runs[key]

    def own(self, profile: str, breaks: Sequence[str] | None = None, *, select: str = "",
            tests: str = "conformance/test_contracts.py") -> SuiteRun:
        """The suite starting its own stack and its own target behind Toxiproxy (faults work). With
        ``breaks`` (even empty) the launched process is the broken target; with None, the reference."""
        key = ("own", profile, "reference" if breaks is None else ",".join(breaks) or "none", select, tests)
        if key not in self._runs:
            where = self._dir(key)
            args = [tests, "--obsconf-stack=process", "--obsconf-contract", str(CONTRACTS / f"{profile}.yaml")]
            if select:
                args += ["-k", select]
            env = None if breaks is None else {"OBSCONF_E2E_MODE": "swap", "OBSCONF_E2E_BREAK": ",".join(breaks),
                                               "OBSCONF_E2E_LOG_DIR": str(where / "logs")}
            self._runs[key] = run_suite(args, report_dir=where / "report", env=env, plugin=breaks is not None)
        return self._runs[key]


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> SuiteRuns:
    return SuiteRuns(tmp_path_factory.mktemp("suite-runs"))
