"""Pure verdict of a fault scenario: every expectation of ``faults[].expect`` the observations break."""

from __future__ import annotations

from obsconf.contract.model import FaultScenarioSpec
from obsconf.faults.accounting import percentile
from obsconf.faults.runner import FaultRun
from obsconf.model import Finding


def judge_fault(spec: FaultScenarioSpec, run: FaultRun) -> list[Finding]:
    """Findings for each broken expectation; none when the service behaved as its contract says."""
    ex = spec.expect
    where = spec.loc or f"faults {spec.name}"
    what = f"while {spec.fault.dependency} was {spec.fault.mode} for {spec.seconds:g} s"
    out: list[Finding] = []

    def add(message: str, expected: object = None, actual: object = None) -> None:
        out.append(Finding("faults", where, message, expected=expected, actual=actual))

    if run.traffic == 0:
        add(f"the service never connected through the proxy of {spec.fault.dependency!r}, so the fault ({what}) "
            "never reached it: does it read the dependency's variable, and does the workload make it call it?",
            expected="connections through the proxy", actual=0)
    during = run.during()
    if ex.shutdown_within_s is None and not during:
        add(f"no request of the workload was made {what} (the load did not run)", expected="requests", actual=0)
    failed = [r for r in during if not r.ok]
    if ex.available and failed:
        first = failed[0]
        add(f"{len(failed)} of {len(during)} requests did not answer as expected {what}; first: {first.label} -> "
            f"{first.status or 'no answer'} after {first.seconds * 1000:.0f} ms (the service must keep serving "
            "requests that do not need the dependency)", expected="every request answered as expected",
            actual=f"{len(failed)} failed")
    seconds = [r.seconds for r in during]
    if ex.max_request_ms is not None and seconds and max(seconds) * 1000 > ex.max_request_ms:
        add(f"the slowest request took {max(seconds) * 1000:.0f} ms {what} (the fault leaks into request handling)",
            expected=f"<= {ex.max_request_ms:g} ms", actual=f"{max(seconds) * 1000:.0f} ms")
    if ex.p95_request_ms is not None and seconds and percentile(seconds, 0.95) * 1000 > ex.p95_request_ms:
        add(f"p95 request latency {percentile(seconds, 0.95) * 1000:.0f} ms {what}",
            expected=f"<= {ex.p95_request_ms:g} ms", actual=f"{percentile(seconds, 0.95) * 1000:.0f} ms")
    if ex.dependent_min_ms is not None:
        slowest = max(run.dependent_s, default=0.0) * 1000
        if slowest < ex.dependent_min_ms:
            add(f"the fault had no visible effect: the slowest request that needs {spec.fault.dependency} took "
                f"{slowest:.0f} ms ({len(run.dependent_s)} made): did the service give up at once, or not call it?", expected=f">= {ex.dependent_min_ms:g} ms", actual=f"{slowest:.0f} ms")
    if ex.recovers_within_s is not None and ex.shutdown_within_s is None and run.recovered_after_s is None:
        add(f"the service did not answer as expected again within {ex.recovers_within_s:g} s after the fault ended",
            expected=f"recovery within {ex.recovers_within_s:g} s", actual="not recovered")
    out += _delivery_findings(spec, run, add_where=where)
    for m in run.metrics:
        out += _reaction_findings(spec, m, where)
    if ex.shutdown_within_s is not None:
        if run.shutdown_s is None or not run.exited_by_itself or run.shutdown_s > ex.shutdown_within_s:
            how = "did not exit and was killed" if not run.exited_by_itself else "exited"
            add(f"after SIGTERM {what}, the service {how} after {run.shutdown_s} s",
                expected=f"exit within {ex.shutdown_within_s:g} s", actual=f"{run.shutdown_s} s")
    return out


def _delivery_findings(spec: FaultScenarioSpec, run: FaultRun, *, add_where: str) -> list[Finding]:
    ex = spec.expect
    out = []
    for sink in run.sinks:
        if sink.requests == 0:
            out.append(Finding("faults", add_where, f"{sink.sink}: no request answered as expected, so delivery "
                               "could not be counted", expected="answered requests", actual=0))
            continue
        if sink.expected == 0:
            out.append(Finding(
                "faults", add_where,
                f"{sink.sink}: with no fault the workload's requests leave nothing in this sink under their trace "
                f"id ({sink.per_request or 'no baseline'}), so delivery cannot be counted: log the trace id of each "
                f"request (logs.correlation.trace_id_field), or drop {sink.sink!r} from expect.delivered",
                expected="items with the request's trace id", actual=0))
            continue
        counted = run.dropped_counted or 0.0
        silent = sink.lost - counted
        if sink.lost and silent > 0:
            how = f"only {counted:g} counted by {ex.dropped_metric}" if ex.dropped_metric else "none counted"
            out.append(Finding(
                "faults", add_where,
                f"{sink.sink}: {sink.lost} of {sink.expected} items of {sink.requests} requests were lost, {how}: "
                f"{silent:g} lost silently", expected="every item delivered, or its loss counted",
                actual=f"received {sink.received}, lost {sink.lost}"))
        dup_counted = run.duplicates_counted or 0.0
        if sink.duplicated > dup_counted:
            how = f"only {dup_counted:g} counted by {ex.duplicates_metric}" if ex.duplicates_metric else "none counted"
            out.append(Finding(
                "faults", add_where,
                f"{sink.sink}: {sink.duplicated} items were stored more than once ({how}): a retried batch was "
                f"stored twice", expected="stored = sent + counted duplicates",
                actual=f"{sink.duplicated} duplicated"))
    return out


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
