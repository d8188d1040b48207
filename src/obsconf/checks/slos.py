"""Pure check that the SLOs a service reports (aurum's ``/v1/observability/slos``) match the contract."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from obsconf.contract.model import SloSpec
from obsconf.model import Finding, Series

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
    if not specs:
        return [Finding("slos", "slos", "the contract names no SLO, so none was checked", expected="slos",
                        actual="none")]
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
        if got.get("unit") != spec.unit:
            findings.append(
                Finding("slos", where, f"SLO {spec.name!r} does not report its target in {spec.unit!r}"
                        + ("" if "unit" in got else " (it names no unit)"), expected=spec.unit,
                        actual=got.get("unit"), query=query, link=link)
            )
    return findings


def env_targets(specs: Sequence[SloSpec]) -> dict[str, str]:
    """For each SLO with an ``env`` variable, a value other than its target (half of it), to set there: the
    service must then report that value, which proves it reads the variable."""
    return {s.env: f"{s.target / 2:g}" for s in specs if s.env}


def check_slo_env(specs: Sequence[SloSpec], reported: Any, *, query: str = "", link: str = "") -> list[Finding]:
    """A service started with :func:`env_targets` reports each of those values as the SLO's target."""
    with_env = [s for s in specs if s.env]
    if not with_env:
        return [Finding("slos", "slos", "no SLO of the contract names an env variable, so none was checked",
                        expected="slos[].env", actual="none")]
    slos = _as_map(reported)
    values = env_targets(specs)
    findings = []
    for spec in with_env:
        where = spec.loc or f"slos {spec.name}"
        assert spec.env is not None
        want = float(values[spec.env])
        got = slos.get(spec.name, {})
        target = next((got[k] for k in _TARGET_KEYS if k in got), None)
        if not isinstance(target, int | float) or isinstance(target, bool) or not math.isclose(float(target), want):
            findings.append(
                Finding("slos", where, f"started with {spec.env}={values[spec.env]}, the service reports SLO "
                        f"{spec.name!r} with target {target!r}: it does not read {spec.env}", expected=want,
                        actual=target, query=query, link=link))
    return findings


def check_slo_expressions(specs: Sequence[SloSpec], values: dict[str, list[Series]], *, query: str = "",
                          link: str = "") -> list[Finding]:
    """Every SLO's PromQL ``expression`` returns a number on the service's real series after the workload."""
    with_expr = [s for s in specs if s.expression]
    if not with_expr:
        return [Finding("slos", "slos", "no SLO of the contract gives its PromQL expression, so none was evaluated",
                        expected="slos[].expression", actual="none")]
    findings = []
    for spec in with_expr:
        where = spec.loc or f"slos {spec.name}"
        got = values.get(spec.name) or []
        numbers = [p[1] for series in got for p in series.points[-1:] if not math.isnan(p[1])]
        if not numbers:
            findings.append(
                Finding("slos", where, f"the expression of SLO {spec.name!r} has no value on the service's series "
                        f"({len(got)} series, none a number): the metrics it names are absent, or the workload does "
                        "not exercise them", expected="a number", actual="no data" if not got else "NaN",
                        query=spec.expression, link=link))
    return findings
