"""The run summary in reports/: one CheckResult per test that records ``obsconf_contract``, written as
conformance.{json,md,html} (with the fault scenarios and the seed coverage) at the end of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from obsconf.session.config import progress_writer, report_dir, stack_mode
from obsconf.session.keys import RUNTIME


def _write_coverage(contracts: dict[Any, Any], out: Path) -> dict[str, Any]:
    """The traceability of the run's contracts to their seeds: reports/coverage.{json,md}, and the summary's
    ``coverage`` slot (a contract whose seed file is not found is left out)."""
    from obsconf.report.coverage import seed_coverage, write_reports

    covs = [c for c in (seed_coverage(contract) for contract in contracts.values()) if not c.missing_seed]
    return write_reports(covs, out / "coverage.json", out / "coverage.md") if covs else {}


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
        from obsconf.session.nodes import CaseItem

        self.cases.update({item.nodeid: item.case for item in session.items if isinstance(item, CaseItem)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        props = dict(report.user_properties)
        if "obsconf_contract" not in props:
            return
        from obsconf.report.summary import CheckResult

        outcome = "passed" if report.passed else ("error" if report.when == "setup" else "failed")
        if hasattr(report, "wasxfail"):
            outcome = "seed_defect"  # a case that proved a defect of the seed (obsconf.cases.case.SEED_DEFECT)
        case = self.cases.get(report.nodeid)
        if case is not None and props["obsconf_contract"] not in self.opt_outs:
            from dataclasses import asdict

            from obsconf.cases.text import opt_outs

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
        from obsconf.report.html import write_html
        from obsconf.report.summary import render_json, render_markdown

        out = report_dir(self.config)
        out.mkdir(parents=True, exist_ok=True)
        target = self.config.getoption("--obsconf-target") or self.config.getoption("--obsconf-target-cmd")
        meta = {"stack": stack_mode(self.config), "target": target or "from each contract",
                "exit_status": int(exitstatus)}
        runtime = self.config.stash.get(RUNTIME, None)
        faults = runtime.fault_results() if runtime is not None else []
        if faults:
            from obsconf.faults.report import write_reports

            _, md = write_reports(faults, out)
            progress_writer(self.config)(f"fault scenarios: {md}")
        coverage = _write_coverage({case.contract.path.resolve(): case.contract for case in self.cases.values()}, out)
        (out / "conformance.json").write_text(render_json(self.results, meta=meta, opt_outs=self.opt_outs,
                                                          coverage=coverage))
        (out / "conformance.md").write_text(render_markdown(self.results, meta=meta, opt_outs=self.opt_outs))
        page = write_html(out / "conformance.json")
        progress_writer(self.config)(f"run summary: {out / 'conformance.md'}, {page}")
