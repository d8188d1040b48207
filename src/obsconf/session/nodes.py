"""pytest collection nodes for contracts: a contract file is a test file, each of its cases a test item.

``ContractFile`` loads and validates the contract (a malformed one is a collection error that names file,
line and key); each ``CaseItem`` runs one :class:`obsconf.cases.case.Case` against the session's live probe and
fails with the case's findings, rendered for a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest

from obsconf.cases.case import SEED_DEFECT, Case
from obsconf.cases.suite import build_cases
from obsconf.errors import ContractError, ObsconfError
from obsconf.model import Finding


class CaseFailed(Exception):
    """A case's findings: the service does not meet this part of its contract."""

    def __init__(self, case: Case, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} finding(s)")
        self.case = case
        self.findings = findings

    def render(self) -> str:
        body = "\n".join(f.render() for f in self.findings)
        return f"{len(self.findings)} finding(s) for {self.case.id}:\n{body}"


def runtime_of(config: pytest.Config) -> Any:
    from obsconf.session.keys import RUNTIME

    return config.stash[RUNTIME]


def scrub_findings(contract: Any, findings: list[Finding]) -> list[Finding]:
    """Findings with the contract's secrets masked: a finding that quotes a line (an event, a schema error)
    must not carry into the terminal and the reports the canary it found there."""
    redaction = contract.logs.redaction if contract.logs is not None else None
    if redaction is None or not (redaction.values or redaction.patterns):
        return findings
    from dataclasses import replace

    from obsconf.checks.redaction import scrub

    def clean(value: Any) -> Any:
        return scrub(redaction, value) if isinstance(value, str) else value

    return [replace(f, message=clean(f.message), expected=clean(f.expected), actual=clean(f.actual),
                    query=clean(f.query)) for f in findings]


class ContractFile(pytest.File):
    """A contract YAML file; its items are the contract's cases."""

    def collect(self) -> Iterator[CaseItem]:
        runtime = runtime_of(self.config)
        contract = runtime.contract(self.path)
        for case in build_cases(contract):
            if case.section == "load" and getattr(runtime, "load", None) is None:
                continue  # the load cases need the load: --obsconf-load locust
            item = CaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker(pytest.mark.obsconf(contract=contract.id, section=case.section))
            if case.section == "faults":
                item.add_marker(pytest.mark.faults)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ObsconfError):
            return f"invalid contract: {excinfo.value}"
        return super().repr_failure(excinfo, style)


class CaseItem(pytest.Item):
    """One case of a contract, run against the real backends."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    @property
    def contract(self) -> Any:
        return self.case.contract

    def runtest(self) -> None:
        case = self.case
        self.user_properties += [("obsconf_contract", case.contract.id), ("obsconf_section", case.section),
                                 ("obsconf_describe", case.describe)]
        probe = runtime_of(self.config).probe(case.contract)
        findings = scrub_findings(case.contract, case.run(probe))
        self.user_properties.append(("obsconf_findings", [asdict(f) for f in findings]))
        if findings and all(f.check == SEED_DEFECT for f in findings):
            # the seed itself is broken and the case proved it: reported as a seed defect, not a failure
            pytest.xfail("; ".join(f.message for f in findings))
        if findings:
            raise CaseFailed(case, findings)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        exc = excinfo.value
        if isinstance(exc, CaseFailed):
            return exc.render()
        if isinstance(exc, ContractError | ObsconfError):
            return f"{self.case.id}: {exc}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.case.id}: {self.case.describe}"
