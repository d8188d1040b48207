"""Pure check that a dashboard query of the seed returns series of the service, on real data."""

from __future__ import annotations

import math
from collections.abc import Sequence

from obsconf.contract.model import DashboardSpec
from obsconf.model import Finding, Series


def check_dashboard(spec: DashboardSpec, series: Sequence[Series], *, job: str, query: str = "",
                    link: str = "") -> list[Finding]:
    """``spec.expr`` (evaluated after the workload) returns at least one series of ``job`` - or, for a query that
    aggregates the job label away, at least one series - with a number (NaN: 0/0, the series exist but the
    workload never moved them)."""
    where = spec.loc or f"dashboards {spec.name}"
    mine = [s for s in series if s.labels.get("job") in (job, None)]
    if not mine:
        jobs = sorted({s.labels.get("job", "") for s in series})
        return [Finding("dashboards", where, f"dashboard query {spec.name!r} returned no series of job {job!r}"
                        + (f" (only of {', '.join(jobs)})" if jobs else "") + ": the metric or label names it uses "
                        "are not the service's, or the workload did not exercise them",
                        expected="at least one series", actual="0 series", query=query or spec.expr, link=link)]
    numbers = [s for s in mine if s.points and not math.isnan(s.points[-1][1])]
    if not numbers:
        return [Finding("dashboards", where, f"dashboard query {spec.name!r} returns {len(mine)} series, all NaN: "
                        "the series exist but did not change during the workload (0/0)", expected="a number",
                        actual="NaN", query=query or spec.expr, link=link)]
    return []
