"""Issue 8 fault scenarios b, c, d against the reference service on the session's real stack.

One test per scenario (``pytest conformance -m faults``, or ``-k syncd-pocketbase-outage``): each starts a
fresh reference service whose dependencies go through Toxiproxy, injects one fault under bounded load and
fails with every broken expectation. The counts of every scenario (sent, received, lost, duplicated, max
delay, retries, breaker transitions, shutdown time) go to ``reports/faults.json`` and ``reports/faults.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsconf.faults import FaultResult, run_scenario, scenario, write_reports

pytestmark = [pytest.mark.faults, pytest.mark.stack]


class FaultLog:
    """The results of this module's scenarios, written to the report directory when the module ends."""

    def __init__(self) -> None:
        self.results: list[FaultResult] = []
        self.total_s = 0.0


@pytest.fixture(scope="module")
def fault_log(pytestconfig: pytest.Config) -> Iterator[FaultLog]:
    log = FaultLog()
    yield log
    if log.results:
        out = Path(pytestconfig.getoption("--obsconf-report-dir"))
        if not out.is_absolute():
            out = pytestconfig.rootpath / out
        _, md = write_reports(log.results, log.total_s, out)
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"[obsconf] fault scenarios: {log.total_s:.1f} s in total, report {md}")


# Scenarios are parametrized in conftest.py: one per scenario whose profile's contract is selected, and none
# with --obsconf-target (they rewire the reference service's dependencies through Toxiproxy).
def test_fault(scenario_id: str, obsconf_stack, fault_log: FaultLog,
               tmp_path_factory: pytest.TempPathFactory) -> None:
    began = time.monotonic()
    result = run_scenario(scenario(scenario_id), obsconf_stack, log_dir=tmp_path_factory.mktemp(scenario_id))
    fault_log.total_s += time.monotonic() - began
    fault_log.results.append(result)
    if result.problems:
        pytest.fail(f"{scenario_id}: {len(result.problems)} problem(s):\n- " + "\n- ".join(result.problems)
                    + "\n" + "\n".join(result.notes), pytrace=False)
