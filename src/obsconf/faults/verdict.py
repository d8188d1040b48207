"""Pure verdict of a fault scenario: every expectation of ``faults[].expect`` the observations break."""

from __future__ import annotations

from collections.abc import Callable

from obsconf.contract.model import FaultScenarioSpec
from obsconf.faults.accounting import percentile
from obsconf.faults.observations import FaultRun, SinkCount
from obsconf.model import Finding


def _finding(where: str, message: str, expected: object = None, actual: object = None) -> Finding:
    return Finding("faults", where, message, expected=expected, actual=actual)


def _where(spec: FaultScenarioSpec) -> str:
    return spec.loc or f"faults {spec.name}"


def _what(spec: FaultScenarioSpec) -> str:
    return f"while {spec.fault.dependency} was {spec.fault.mode} for {spec.seconds:g} s"


def judge_fault(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """Findings for each broken expectation; none when the service behaved as its contract says."""
    steps: tuple[Callable[[FaultScenarioSpec, FaultRun], list[Finding]], ...] = (
        _reach_findings, _request_findings, _effect_findings, _delivery_findings, _reactions_findings,
        _shutdown_findings)
    return [finding for step in steps for finding in step(spec, run)]


def _reach_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """The fault reached the service (traffic through the proxy) and the load ran during it."""
    out = []
    if run.traffic == 0:
        out.append(_finding(
            _where(spec), f"the service never connected through the proxy of {spec.fault.dependency!r}, so the fault "
            f"({_what(spec)}) never reached it: does it read the dependency's variable, and does the workload make "
            "it call it?", expected="connections through the proxy", actual=0))
    if spec.expect.shutdown_within_s is None and not run.during():
        out.append(_finding(_where(spec), f"no request of the workload was made {_what(spec)} (the load did not run)",
                            expected="requests", actual=0))
    return out


def _request_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """Requests made during the fault: answered as expected, and within the latency limits."""
    ex, where, what = spec.expect, _where(spec), _what(spec)
    during = run.during()
    out = []
    failed = [r for r in during if not r.ok]
    if ex.available and failed:
        first = failed[0]
        out.append(_finding(
            where, f"{len(failed)} of {len(during)} requests did not answer as expected {what}; first: {first.label} "
            f"-> {first.status or 'no answer'} after {first.seconds * 1000:.0f} ms (the service must keep serving "
            "requests that do not need the dependency)", expected="every request answered as expected",
            actual=f"{len(failed)} failed"))
    seconds = [r.seconds for r in during]
    if ex.max_request_ms is not None and seconds and max(seconds) * 1000 > ex.max_request_ms:
        out.append(_finding(
            where, f"the slowest request took {max(seconds) * 1000:.0f} ms {what} (the fault leaks into request "
            "handling)", expected=f"<= {ex.max_request_ms:g} ms", actual=f"{max(seconds) * 1000:.0f} ms"))
    if ex.p95_request_ms is not None and seconds and percentile(seconds, 0.95) * 1000 > ex.p95_request_ms:
        p95_ms = percentile(seconds, 0.95) * 1000
        out.append(_finding(where, f"p95 request latency {p95_ms:.0f} ms {what}",
                            expected=f"<= {ex.p95_request_ms:g} ms", actual=f"{p95_ms:.0f} ms"))
    return out


def _effect_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """The fault was felt by the requests that need the dependency, and the service recovered after it."""
    ex, where = spec.expect, _where(spec)
    out = []
    if ex.dependent_min_ms is not None:
        slowest = max(run.dependent_s, default=0.0) * 1000
        if slowest < ex.dependent_min_ms:
            out.append(_finding(
                where, f"the fault had no visible effect: the slowest request that needs {spec.fault.dependency} "
                f"took {slowest:.0f} ms ({len(run.dependent_s)} made): did the service give up at once, or not call "
                "it?", expected=f">= {ex.dependent_min_ms:g} ms", actual=f"{slowest:.0f} ms"))
    if ex.recovers_within_s is not None and ex.shutdown_within_s is None and run.recovered_after_s is None:
        out.append(_finding(
            where, f"the service did not answer as expected again within {ex.recovers_within_s:g} s after the fault "
            "ended", expected=f"recovery within {ex.recovers_within_s:g} s", actual="not recovered"))
    return out


def _delivery_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """Each sink of ``expect.delivered``: countable, and every loss or duplicate counted by the service."""
    ex, where = spec.expect, _where(spec)
    out = []
    for sink in run.sinks:
        if sink.requests == 0:
            out.append(_finding(where, f"{sink.sink}: no request answered as expected, so delivery could not be "
                                "counted", expected="answered requests", actual=0))
            continue
        if sink.expected == 0:
            out.append(_finding(
                where, f"{sink.sink}: with no fault the workload's requests leave nothing in this sink under their "
                f"trace id ({sink.per_request or 'no baseline'}), so delivery cannot be counted: log the trace id of "
                f"each request (logs.correlation.trace_id_field), or drop {sink.sink!r} from expect.delivered",
                expected="items with the request's trace id", actual=0))
            continue
        out += _uncounted(where, sink, "lost", run.dropped_counted, ex.dropped_metric)
        out += _uncounted(where, sink, "duplicated", run.duplicates_counted, ex.duplicates_metric)
    return out


def _uncounted(where: str, sink: SinkCount, kind: str, counted: float | None, metric: str | None) -> list[Finding]:
    """A finding when ``sink`` lost (or duplicated) more items than ``metric`` counted."""
    got = counted or 0.0
    how = f"only {got:g} counted by {metric}" if metric else "none counted"
    if kind == "lost":
        silent = sink.lost - got
        if not (sink.lost and silent > 0):
            return []
        return [_finding(where, f"{sink.sink}: {sink.lost} of {sink.expected} items of {sink.requests} requests "
                         f"were lost, {how}: {silent:g} lost silently",
                         expected="every item delivered, or its loss counted",
                         actual=f"received {sink.received}, lost {sink.lost}")]
    if sink.duplicated <= got:
        return []
    return [_finding(where, f"{sink.sink}: {sink.duplicated} items were stored more than once ({how}): a retried "
                     "batch was stored twice", expected="stored = sent + counted duplicates",
                     actual=f"{sink.duplicated} duplicated")]


def _reactions_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    return [finding for m in run.metrics for finding in _reaction_findings(spec, m, _where(spec))]


def _reaction_findings(spec: FaultScenarioSpec, m: dict[str, object], where: str) -> list[Finding]:
    reaction = next(r for r in spec.expect.metrics if r.name == m["name"] and r.selector == m["selector"])
    name = m["name"] + (str(m["selector"]) if m["selector"] else "")
    before, peak, after = m["before"], m["peak"], m["after"]
    out = []
    if before is None and after is None and peak is None:
        return [Finding("faults", where, f"metric {name} was not exposed during the scenario",
                        expected=f"{name} on the metrics path", actual="absent")]
    if reaction.increases and not (isinstance(after, float) and after > (before or 0.0)):
        out.append(Finding("faults", where, f"{name} did not increase during the fault", expected="an increase",
                           actual=f"{before} -> {after}"))
    if reaction.peak_above is not None and not (isinstance(peak, float) and peak > reaction.peak_above):
        out.append(Finding("faults", where, f"{name} never rose above {reaction.peak_above:g} during the fault",
                           expected=f"> {reaction.peak_above:g}", actual=peak))
    if reaction.ends_at is not None and after != reaction.ends_at:
        out.append(Finding("faults", where, f"{name} did not return to {reaction.ends_at:g} after the fault",
                           expected=reaction.ends_at, actual=after))
    return out


def _shutdown_findings(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """With ``expect.shutdown_within_s``: the service exited by itself, in time, after SIGTERM during the fault."""
    limit = spec.expect.shutdown_within_s
    if limit is None:
        return []
    if run.shutdown_s is not None and run.exited_by_itself and run.shutdown_s <= limit:
        return []
    how = "did not exit and was killed" if not run.exited_by_itself else "exited"
    return [_finding(_where(spec), f"after SIGTERM {_what(spec)}, the service {how} after {run.shutdown_s} s",
                     expected=f"exit within {limit:g} s", actual=f"{run.shutdown_s} s")]
