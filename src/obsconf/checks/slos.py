"""Pure check that the SLOs a service reports (aurum's ``/v1/observability/slos``) match the contract."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from obsconf.contract.model import SloSpec
from obsconf.model import Finding

_TARGET_KEYS = ("target", "objective", "threshold")


def _as_map(reported: Any) -> dict[str, dict[str, Any]]:
    """Accept ``[{name, target}]``, ``{"slos": [...]}`` or ``{name: {target}}``."""
    if isinstance(reported, dict) and "slos" in reported:
        reported = reported["slos"]
    if isinstance(reported, list):
        return {str(item.get("name")): item for item in reported if isinstance(item, dict) and "name" in item}
    if isinstance(reported, dict):
        return {str(k): v for k, v in reported.items() if isinstance(v, dict)}
    return {}


def check_slos(
    specs: Sequence[SloSpec], reported: Any, *, query: str = "", link: str = ""
) -> list[Finding]:
    """Every contract SLO is reported under its name with the same target (and comparison, if given)."""
    slos = _as_map(reported)
    if not slos:
        return [
            Finding("slos", "slos", "the service reported no SLO definitions (expected a list of {name, target})",
                    expected=[s.name for s in specs], actual=reported if not isinstance(reported, str) else reported[:200],
                    query=query, link=link)
        ]
    findings = []
    for spec in specs:
        where = spec.loc or f"slos {spec.name}"
        got = slos.get(spec.name)
        if got is None:
            findings.append(
                Finding("slos", where, f"SLO {spec.name!r} is not reported", expected=spec.name,
                        actual=sorted(slos), query=query, link=link)
            )
            continue
        target = next((got[k] for k in _TARGET_KEYS if k in got), None)
        if not isinstance(target, int | float) or isinstance(target, bool):
            findings.append(
                Finding("slos", where, f"SLO {spec.name!r} reports no numeric target", expected=spec.target,
                        actual=target, query=query, link=link)
            )
        elif not math.isclose(float(target), spec.target, rel_tol=1e-9, abs_tol=1e-12):
            findings.append(
                Finding("slos", where, f"SLO {spec.name!r} has a different target than the contract"
                        + (f" (env {spec.env})" if spec.env else ""), expected=spec.target, actual=target,
                        query=query, link=link)
            )
        if "comparison" in got and got["comparison"] != spec.comparison:
            findings.append(
                Finding("slos", where, f"SLO {spec.name!r} compares the other way", expected=spec.comparison,
                        actual=got["comparison"], query=query, link=link)
            )
    return findings
