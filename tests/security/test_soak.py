"""The pure part of scripts/soak: outcomes from run summaries, flips between runs, the report."""

from __future__ import annotations

import json

from obsconf.soak import Run, Series, flips, outcomes, render_json


def _summary(results: dict[str, str]) -> dict[str, object]:
    return {"contracts": {"persist": {"checks": [{"test_id": t, "outcome": o} for t, o in results.items()]}}}


def test_outcomes_are_keyed_by_the_ids_the_suite_wrote() -> None:
    got = outcomes(_summary({"conformance/test_contracts.py::test_contract[a]": "passed", "x::y": "failed"}))
    assert got == {"conformance/test_contracts.py::test_contract[a]": "passed", "x::y": "failed"}


def test_flips_are_tests_whose_outcome_changed_or_that_went_missing() -> None:
    runs = [{"a": "passed", "b": "failed", "c": "passed"}, {"a": "passed", "b": "failed", "c": "failed"},
            {"a": "passed", "b": "failed"}]
    assert flips(runs) == {"c": ["passed", "failed", "absent"]}
    assert flips([{"a": "passed"}] * 10) == {}


def test_report_counts_flips_per_series_and_lists_steady_failures() -> None:
    warm = Series("warm", [Run(1, 1, 60.0, 1, 1, "r1"), Run(2, 1, 61.0, 1, 1, "r2")],
                  [{"a": "passed", "b": "failed"}, {"a": "failed", "b": "failed"}])
    fresh = Series("fresh", [Run(1, 0, 70.0, 2, 0, "f1")], [{"a": "passed", "b": "passed"}])
    doc = json.loads(render_json([warm, fresh], meta={"n": 2}))
    assert doc["flip_count"] == 1
    assert doc["series"]["warm"]["flips"] == {"a": ["passed", "failed"]}
    assert doc["series"]["warm"]["failing_every_run"] == ["b"]
    assert doc["series"]["fresh"]["flip_count"] == 0 and doc["series"]["fresh"]["tests"] == 2




def test_a_seed_defect_is_neither_a_failure_nor_a_steady_failure(tmp_path) -> None:  # noqa: ANN001
    from obsconf.soak import _record

    report = tmp_path / "r"
    report.mkdir()
    (report / "conformance.json").write_text(json.dumps(_summary({"a": "passed", "d": "seed_defect", "f": "failed"})))
    series = Series("warm")
    _record(series, 1, report, 1, 60.0)
    run = series.runs[0]
    assert (run.passed, run.failed, run.seed_defects) == (1, 1, 1)
    assert series.summary()["failing_every_run"] == ["f"]
