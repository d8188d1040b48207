"""Fresh-instance fault scenarios run side by side: which ones a batch holds, and whose case an error fails.

The scenarios themselves run on real backends in ``conformance/`` (``-m faults``) and in ``test_proof.py``;
here the runner is replaced by a recorder, so only the probe's choice of batch is under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from obsconf.contract.loader import load_contract
from obsconf.errors import UsageError
from obsconf.faults import runner
from obsconf.live.probe import LiveProbe

SYNCD = Path(__file__).resolve().parents[2] / "fixtures" / "contracts" / "syncd.yaml"


class _Runtime:
    def __init__(self, workers: int, selected: set[str] | None) -> None:
        self.fault_workers, self.selected, self.lines = workers, selected, []

    def is_selected(self, case_id: str) -> bool:
        return self.selected is None or case_id in self.selected

    def progress(self, line: str) -> None:
        self.lines.append(line)


def _probe(workers: int, selected: set[str] | None, monkeypatch: pytest.MonkeyPatch,
           fail: str = "") -> tuple[LiveProbe, list[list[str]]]:
    contract = load_contract(SYNCD)
    batches: list[list[str]] = []

    def record(specs: Any, probe: Any, *, workers: int) -> dict[str, Any]:
        batches.append([s.name for s in specs])
        return {s.name: UsageError(f"{s.name} broke") if s.name == fail else f"run of {s.name}" for s in specs}

    monkeypatch.setattr(runner, "run_fault_scenarios", record)
    probe = LiveProbe(contract, None, jaeger=None, logs=None, prometheus=None, pocketbase=None,  # type: ignore[arg-type]
                      toxiproxy=None, runtime=_Runtime(workers, selected))
    return probe, batches


def _fresh(probe: LiveProbe) -> list[Any]:
    return [s for s in probe.contract.faults if s.fresh_instance]


def test_the_first_case_runs_every_selected_fresh_scenario_once(monkeypatch: pytest.MonkeyPatch) -> None:
    probe, batches = _probe(4, None, monkeypatch)
    fresh = _fresh(probe)
    assert len(fresh) > 2, "syncd's contract has several fresh-instance scenarios"
    got = [probe._fresh_fault_run(spec) for spec in fresh]
    assert got == [f"run of {s.name}" for s in fresh]
    assert batches == [[s.name for s in fresh]]
    assert "at a time" in probe.runtime.lines[0]


def test_only_selected_scenarios_join_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    probe, batches = _probe(4, set(), monkeypatch)  # -k chose none of the others
    first = _fresh(probe)[0]
    assert probe._fresh_fault_run(first) == f"run of {first.name}"
    assert batches == [[first.name]]


def test_one_worker_runs_each_scenario_in_its_own_case(monkeypatch: pytest.MonkeyPatch) -> None:
    probe, batches = _probe(1, None, monkeypatch)
    for spec in _fresh(probe)[:2]:
        probe._fresh_fault_run(spec)
    assert batches == [[s.name] for s in _fresh(probe)[:2]]


def test_an_error_fails_the_scenarios_own_case_only(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [s.name for s in load_contract(SYNCD).faults if s.fresh_instance]
    probe, _ = _probe(4, None, monkeypatch, fail=names[1])
    fresh = _fresh(probe)
    assert probe._fresh_fault_run(fresh[0]) == f"run of {names[0]}"
    with pytest.raises(UsageError, match=f"{names[1]} broke"):
        probe._fresh_fault_run(fresh[1])
    assert probe._fresh_fault_run(fresh[2]) == f"run of {names[2]}"


def test_worker_count_below_one_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--obsconf-fault-workers=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--obsconf-fault-workers 0: give 1 (one scenario at a time) or more*"])
    pytester.makeini("[pytest]\nobsconf_fault_workers = many\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*obsconf_fault_workers = 'many' is not a whole number*"])
