"""Every check of every contract, as one test each: ``pytest conformance -k persist-spans``."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from obsconf.errors import ObsconfError


def test_contract(obsconf_case, obsconf_probes, record_property) -> None:
    record_property("obsconf_contract", obsconf_case.contract.service.profile)
    record_property("obsconf_section", obsconf_case.section)
    probe = obsconf_probes.get(obsconf_case.contract)
    try:
        findings = obsconf_case.run(probe)
    except ObsconfError as exc:  # a condition the user must fix (e.g. faults need proxies): no traceback
        pytest.fail(f"{obsconf_case.id}: {exc}", pytrace=False)
    record_property("obsconf_findings", [asdict(f) for f in findings])
    if findings:
        body = "\n".join(f.render() for f in findings)
        pytest.fail(f"{len(findings)} finding(s) for {obsconf_case.id}:\n{body}", pytrace=False)
