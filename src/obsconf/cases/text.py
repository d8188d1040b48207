"""Case descriptions in words, and the checks a contract turns off: for ``obsconf contract explain`` and the reports.

Pure: a description is derived from the contract item a case checks, found by the case's section and item
(the same pair that makes its id), so it always says what the case actually runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from obsconf.contract.model import (
    Contract,
    EmitStep,
    FaultScenarioSpec,
    HealthSpec,
    MetricSpec,
    RequestStep,
    RetrySpec,
    SpanSpec,
)


@dataclass(frozen=True)
class OptOut:
    """A check the contract does not run, with the contract's reason (shown by explain and the reports)."""

    check: str
    reason: str
    where: str = ""


def opt_outs(contract: Contract) -> list[OptOut]:
    """Every ``skip`` entry and every section whose semantic-conventions check is turned off."""
    out = [OptOut(s.check, s.reason, s.loc) for s in contract.skip]
    if contract.spans is not None and not contract.spans.semconv.enabled:
        out.append(OptOut("spans.semconv", contract.spans.semconv.reason, contract.spans.semconv.loc))
    if contract.metrics_semconv is not None and not contract.metrics_semconv.enabled:
        out.append(OptOut("metrics.semconv", contract.metrics_semconv.reason, contract.metrics_semconv.loc))
    return out


def _list(items: Any, limit: int = 6) -> str:
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _fields(fields: dict[str, str]) -> str:
    return _list(f"{k} ({v})" for k, v in fields.items())


def _workload(c: Contract) -> str:
    requests = [s for s in c.workload if isinstance(s, RequestStep)]
    total = sum(s.repeat for s in requests)
    emits = sum(s.n for s in c.workload if isinstance(s, EmitStep))
    text = f"each of the {total} workload requests answers its expected status"
    return text + (f" (and {emits} log lines are emitted)" if emits else "")


def _logs(c: Contract, item: str) -> str:
    logs = c.logs
    assert logs is not None
    sinks = {"loki": "the log store", "console": "stdout", "both": "the log store and stdout"}[logs.source]
    where = sinks if logs.store is None else f"{sinks} and PocketBase"
    if item == "schema":
        levels = f"; {logs.level_field} is one of {_list(logs.levels, 8)}" if logs.levels else ""
        return f"every log line is {logs.format.upper()} with {_fields(logs.required_fields) or 'any fields'}{levels}"
    if item == "redaction":
        r = logs.redaction
        parts = []
        if r.values:
            parts.append(f"none of the {_n(len(r.values), 'canary secret')} the workload sends")
        if r.patterns:
            parts.append(f"nothing matching {_n(len(r.patterns), 'secret pattern')}")
        if r.fields:
            parts.append("fields " + _list(f"{k} = {v!r}" for k, v in r.fields.items()) + " only")
        return f"no secret in any line of {where}: " + ("; ".join(parts) or "nothing declared")
    if item == "trace_id" and logs.correlation is not None:
        cor = logs.correlation
        exempt = f" (except lines matching {_n(len(cor.exempt), 'exemption')})" if cor.exempt else ""
        return f"every log line carries a well-formed {cor.trace_id_field} and {cor.span_id_field}{exempt}"
    if item.startswith("event_"):
        ev = next((e for e in logs.events if f"event_{e.name}" == item), None)
        if ev is not None:
            level = f"{ev.level} " if ev.level else ""
            fields = f" with {_fields(ev.fields)}" if ev.fields else ""
            return f"at least {_n(ev.min_count, level + 'line')} whose message matches /{ev.message}/{fields}"
    if item.startswith("store_") and logs.store is not None:
        st = logs.store
        extra = f"; indexes {_list(st.indexes)}" if st.indexes else ""
        return f"{st.kind} collection {st.collection!r} holds records with {_fields(st.required_fields)}{extra}"
    if item == "delivery" and logs.delivery is not None:
        emitted = sum(s.n for s in c.workload if isinstance(s, EmitStep))
        dup = "" if not logs.delivery.allow_duplicates else " (duplicates allowed)"
        return (f"each of the {emitted} emitted lines arrives exactly once in {_list(logs.delivery.sinks)}, "
                f"numbered by {logs.delivery.seq_field!r}{dup}")
    return f"logs: {item}"


def _span(op: SpanSpec) -> str:
    kind = f"{op.kind} " if op.kind else ""
    if op.root:
        place = "a root span (no parent inside the service)"
    elif op.parent:
        names = op.parent if isinstance(op.parent, tuple) else (op.parent,)
        place = "a child of " + " or ".join(repr(n) for n in names)
    elif op.parent_kind:
        place = f"a child of a {op.parent_kind} span"
    else:
        place = "present"
    attrs = []
    for a in op.attributes:
        if a.equals is not None:
            attrs.append(f"{a.name} = {a.equals!r}")
        elif a.pattern:
            attrs.append(f"{a.name} ~ /{a.pattern}/")
        else:
            attrs.append(f"{a.name} ({a.type})")
    with_attrs = f", with {_list(attrs)}" if attrs else ""
    return f"{kind}span {op.name!r} arrives in Jaeger, {place}{with_attrs}"


def _spans(c: Contract, item: str) -> str:
    spans = c.spans
    assert spans is not None
    if item == "status_rules":
        rules = [f"{' or '.join(r.attribute)} >= {r.gte} -> status {r.status}"
                 + (f" ({r.span_kind} spans)" if r.span_kind else "") for r in spans.status_rules]
        return "span status follows the response: " + "; ".join(rules)
    if item == "redaction":
        return "no secret (canaries, secret patterns, sensitive keys) in any span attribute or event"
    if item == "sampling" and spans.sampling is not None:
        s = spans.sampling
        always = (["error responses"] if s.always_sample_errors else []) + (
            [f"requests slower than {s.always_sample_slow_ms:g} ms"] if s.always_sample_slow_ms else []) + (
            [f"requests to {_list(s.always_sample_paths)}"] if s.always_sample_paths else [])
        tail = f"; {', '.join(always)} are always traced" if always else ""
        if s.seed_default is not None and s.seed_default != s.run_rate:
            return (f"a second instance at the seed's sample rate {s.seed_default:g} ({s.env}) keeps the share of "
                    f"traces an exact two-sided binomial test (alpha 0.001) accepts{tail}")
        return f"the share of requests whose trace arrives matches the sampling rate {s.run_rate:g}{tail}"
    if item == "semconv":
        return ("span attribute names follow the OpenTelemetry semantic conventions: no deprecated names (each "
                "flagged with its replacement), known attributes have their value types")
    op = next((o for o in spans.operations if o.name == item), None)
    return _span(op) if op is not None else f"spans: {item}"


def _metric(m: MetricSpec) -> str:
    parts = [f"{m.type} {m.name!r} is exposed on /metrics"]
    if m.labels is not None:
        parts.append(f"labels exactly [{', '.join(m.labels)}]" if m.labels else "no labels")
    if m.buckets:
        parts.append(f"buckets {_list(['+Inf' if b == float('inf') else f'{b:g}' for b in m.buckets], 12)}")
    if m.help_required:
        parts.append("HELP text")
    if m.increases:
        sel = ", ".join(f"{k}={v!r}" for k, v in m.selector.items())
        parts.append(f"grows during the workload{f' where {sel}' if sel else ''}")
    return ", ".join(parts)


def _metrics(c: Contract, item: str) -> str:
    if item == "promtool_check_metrics":
        return "`promtool check metrics` accepts the service's /metrics text"
    if item == "semconv":
        return ("metric names follow the OpenTelemetry semantic conventions: no deprecated names; metrics the "
                "conventions define are in their unit (seconds, not milliseconds) and instrument type")
    by_name = {m.name: m for m in c.metrics}
    if item in by_name:
        return _metric(by_name[item])
    base = item.removesuffix("_in_prometheus")
    if base in by_name:
        return f"Prometheus scraped {base!r}: its series exist with the contract's labels"
    return f"metrics: {item}"


def _retry(r: RetrySpec) -> str:
    b = r.backoff
    fault = f"while {r.fault.dependency} is faulted ({r.fault.mode}), " if r.fault else ""
    signals = [f"span {n!r}" for n in (r.attempt_span,) if n] + ([f"metric {r.metric!r}"] if r.metric else []) \
        + ([f"log /{r.log.message}/"] if r.log else [])
    cap = f", capped at {b.max_ms:g} ms" if b.max_ms else ""
    return (f"{fault}{r.operation!r} makes at most {r.max_attempts} attempts, waiting {b.base_ms:g} ms x "
            f"{b.factor:g}^(n-1){cap} (+/-{b.tolerance:.0%}) between them; {_list(signals)} agree")


def _health(h: HealthSpec) -> str:
    status = " or ".join(str(s) for s in h.expect_status)
    return f"{h.method} {h.path} answers {status} with a JSON body that fits the contract's schema"


def _expectations(f: FaultScenarioSpec) -> list[str]:
    ex = f.expect
    out = ["requests keep their expected status"] if ex.available else []
    if ex.p95_request_ms is not None or ex.max_request_ms is not None:
        out.append(f"latency within p95 {ex.p95_request_ms or '-'} ms / max {ex.max_request_ms or '-'} ms")
    if ex.delivered:
        out.append("every item of every request reaches " + "/".join(ex.delivered) + " (or its loss is counted)")
    out += [f"{m.name} reacts" for m in ex.metrics]
    if ex.shutdown_within_s is not None:
        out.append(f"SIGTERM exits within {ex.shutdown_within_s:g} s")
    if ex.recovers_within_s is not None and ex.shutdown_within_s is None:
        out.append(f"recovery within {ex.recovers_within_s:g} s")
    return out


def _correlation(contract: Contract) -> str:
    correlation = contract.logs.correlation if contract.logs else None
    return ("log lines, traces and requests agree on trace ids: each log line's trace exists in Jaeger, "
            "each request's trace (the id of its traceparent) arrived"
            + (" and has a log line" if correlation and correlation.request_log_required else ""))


def _retry_item(contract: Contract, item: str) -> str | None:
    spec = next((r for r in contract.retries if r.operation == item), None)
    return _retry(spec) if spec is not None else None


def _health_item(contract: Contract, item: str) -> str | None:
    spec = next((h for h in contract.health if h.path == item), None)
    return _health(spec) if spec is not None else None


def _alerts(contract: Contract, item: str) -> str | None:
    alerts = contract.alerts
    if alerts is None:
        return None
    if item == "promtool_test_rules":
        return f"`promtool test rules` passes {alerts.tests_file.name if alerts.tests_file else ''}"
    drive = next((d for d in alerts.drives if item == f"drive_{d.name}"), None)
    if drive is not None:
        how = ("the service stopped" if drive.stop_service else f"{drive.fault.dependency} {drive.fault.mode}"
               if drive.fault else "the drive's workload")
        override = f" ('for' shortened to {alerts.for_override} by the contract)" if alerts.for_override else ""
        return (f"with {how} on a second instance, {_list(drive.fires)} reach pending or firing on its real "
                f"series in Prometheus and the other rules stay quiet{override}")
    rule = next((r for r in alerts.rules if item == f"defect_{r.name}" and r.defect), None)
    if rule is not None and rule.defect is not None:
        return (f"seed defect in {rule.name}, reported (not a failure) while promtool proves it "
                f"({rule.defect.proof.name}): {rule.defect.claim}")
    return f"{alerts.rules_file.name} defines {_list(r.name for r in alerts.rules)} as the seed states them"


def _fault(contract: Contract, item: str) -> str | None:
    scenario = next((f for f in contract.faults if f.name == item), None)
    if scenario is None:
        return None
    return (f"{scenario.fault.dependency} {scenario.fault.mode} for {scenario.seconds:g} s while the workload runs: "
            + _list(_expectations(scenario)))


def _service(contract: Contract, item: str) -> str | None:
    if item != "dependencies":
        return None
    return "every dependency is called through its Toxiproxy proxy: " + _list(
        f"{d.name} ({d.env})" for d in contract.service.dependencies)


def _slos(contract: Contract, item: str) -> str:
    slos = contract.slos
    if item == "env_targets":
        return ("a second instance started with other values in " + _list(s.env for s in slos if s.env)
                + " reports those values as the SLOs' targets")
    if item == "expressions":
        return "the PromQL of " + _list(s.name for s in slos if s.expression) + " has a value on the real series"
    return "the service reports " + _list(f"{s.name} ({s.comparison} {s.target:g} {s.unit})" for s in slos)


#: section -> its description of an item (None: no contract item to describe; the case's id words are used)
_DESCRIBERS: dict[str, Callable[[Contract, str], str | None]] = {
    "workload": lambda contract, item: _workload(contract),
    "logs": lambda contract, item: _logs(contract, item) if contract.logs is not None else None,
    "correlation": lambda contract, item: _correlation(contract),
    "spans": lambda contract, item: _spans(contract, item) if contract.spans is not None else None,
    "metrics": _metrics,
    "retries": _retry_item,
    "health": _health_item,
    "alerts": _alerts,
    "faults": _fault,
    "service": _service,
    "slos": _slos,
}


def describe_case(contract: Contract, section: str, item: str) -> str:
    """One sentence saying what the case ``<profile>-<section>-<item>`` checks."""
    describe = _DESCRIBERS.get(section)
    text = describe(contract, item) if describe is not None else None
    return text if text is not None else f"{section}: {item}"
