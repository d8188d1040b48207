"""The budget measurements against the seeds' limits, proven with paired effects in one run: the same
measurement of the reference and of the reference with a known burn put in. No test holds a measured time
against a number of its own: the verdicts are the budget check's, on the seed's limits, and the burn is many
times the limit while the reference is many times below it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

import obsconf.live.budgets as budgets
from obsconf.checks.budgets import Measurement, Unmeasurable, check_budget
from obsconf.contract.loader import default_contract_paths, load_contract
from tests.broken_target.breaks import apply_breaks

pytestmark = pytest.mark.measures  # paired burns in one run: alone, not beside a parallel test

AURUM = load_contract(next(p for p in default_contract_paths() if p.name == "aurum.yaml"))
PRETHRIFT = load_contract(next(p for p in default_contract_paths() if p.name == "prethrift.yaml"))


class _Reference:
    plan = type("Plan", (), {"how": "reference"})()
    process = None


class _Command:
    plan = type("Plan", (), {"how": "command"})()
    process = None


def _with_breaks(monkeypatch: pytest.MonkeyPatch, kinds: list[str]) -> None:
    inner = budgets._reference_app

    def app(contract: Any, instrumentation: str = "on") -> Any:
        built = inner(contract, instrumentation)
        if instrumentation == "on":
            apply_breaks(built, kinds)
        return built

    monkeypatch.setattr(budgets, "_reference_app", app)


def test_log_line_budget_catches_a_slow_logger_and_passes_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = AURUM.budgets.log_line_ms
    reference = budgets.measure_budget("log_line_ms", AURUM, _Reference())
    assert isinstance(reference, Measurement) and check_budget("log_line_ms", limit, reference) == []
    _with_breaks(monkeypatch, ["log-burn"])
    broken = budgets.measure_budget("log_line_ms", AURUM, _Reference())
    assert isinstance(broken, Measurement)
    (finding,) = check_budget("log_line_ms", limit, broken)
    assert "over the seed's budget of 1 ms" in finding.message and "logger" in finding.message
    assert broken.value > reference.value  # the paired effect: the burn is what moved it


@pytest.mark.parametrize("key", ["span_ms", "metric_update_ms", "memory_baseline_mb"])
def test_reference_meets_the_seed_budgets_in_process(key: str) -> None:
    got = budgets.measure_budget(key, AURUM, _Reference())
    assert isinstance(got, Measurement) and got.samples > 0
    assert check_budget(key, AURUM.budgets.stated()[key], got) == [], got


def test_request_overhead_from_the_in_process_ab_without_a_report(tmp_path: Any) -> None:
    got = budgets.measure_budget("request_overhead_ms", PRETHRIFT, _Reference(), report_dir=tmp_path)
    assert isinstance(got, Measurement) and "no A/B report for this profile" in got.how
    assert check_budget("request_overhead_ms", PRETHRIFT.budgets.request_overhead_ms, got) == []


def test_a_report_of_another_profile_is_not_used(tmp_path: Any) -> None:
    import json

    (tmp_path / "overhead.json").write_text(json.dumps({"config": {"profile": "persist"}, "rounds": []}))
    got = budgets.measure_budget("request_overhead_ms", PRETHRIFT, _Command(), report_dir=tmp_path)
    assert isinstance(got, Unmeasurable) and "not 'prethrift'" in got.reason and "obsconf overhead" in got.reason


def test_a_target_obsconf_cannot_load_gets_a_finding_not_a_pass() -> None:
    got = budgets.measure_budget("span_ms", AURUM, _Command())
    assert isinstance(got, Unmeasurable)
    (finding,) = check_budget("span_ms", 0.1, got)
    assert "cannot be measured for this target" in finding.message and "reference service" in finding.message
    unstarted = budgets.measure_budget("metrics_cpu_percent", replace(AURUM), _Command())
    assert isinstance(unstarted, Unmeasurable) and "did not start this service" in unstarted.reason
