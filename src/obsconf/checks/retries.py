"""Pure checks of retries: attempt bound, backoff intervals, and agreement of spans, logs and metrics.

Attempts are read from one span per attempt (children of the span around the operation, timed by
start/end) or, when a service has no attempt spans, from the WARN line logged before each retry.
The delay before retry n is the gap between the end of attempt n and the start of attempt n+1 (spans),
or between consecutive WARN lines (logs; this includes the next attempt's own duration).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from obsconf.checks._common import clip
from obsconf.checks.metrics import find_family, metric_value
from obsconf.contract.model import LogsSpec, RetrySpec
from obsconf.model import Finding, LogRecord, MetricFamily, Span, get_field, is_missing


@dataclass(frozen=True)
class RetryGroup:
    """One operation's attempts as observed: ``delays_ms[i]`` is the delay before retry i+1."""

    key: str  # parent span id (spans) or trace id (logs)
    trace_id: str
    attempts: int
    delays_ms: tuple[float, ...]
    source: str  # "spans" | "logs"
    attempt_numbers: tuple[int, ...] = ()  # from logs: the retry numbers logged, in order
    max_logged: int | None = None  # from logs: the max_retries value logged


def span_groups(spec: RetrySpec, spans: Sequence[Span]) -> list[RetryGroup]:
    """Attempt spans grouped by their parent, in start order."""
    if not spec.attempt_span:
        return []
    groups: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for span in spans:
        if span.name == spec.attempt_span:
            groups[(span.trace_id, span.parent_id or span.span_id)].append(span)
    out = []
    for (trace_id, parent), items in groups.items():
        items.sort(key=lambda s: s.start_us)
        delays = tuple(
            (nxt.start_us - (prev.start_us + prev.duration_us)) / 1000.0 for prev, nxt in zip(items, items[1:], strict=False)
        )
        out.append(RetryGroup(parent, trace_id, len(items), delays, "spans"))
    return out


def _retry_lines(spec: RetrySpec, logs: Sequence[LogRecord], message_field: str, level_field: str) -> list[LogRecord]:
    assert spec.log is not None
    out = []
    for rec in logs:
        if not rec.fields:
            continue
        message = get_field(rec.fields, message_field)
        if is_missing(message) or not re.search(spec.log.message, str(message)):
            continue
        if get_field(rec.fields, level_field) != spec.log.level:
            continue
        out.append(rec)
    return out


def log_groups(spec: RetrySpec, logs: Sequence[LogRecord], *, message_field: str = "message",
               level_field: str = "level", trace_id_field: str = "trace_id") -> list[RetryGroup]:
    """Retry WARN lines grouped by trace id, in time order (lines without a trace id, e.g. a background
    shipper's, share a trace key). Within one trace key, a line logging retry 1 starts a new operation: a
    shipper that gave up on a batch and tries it again on its next flush logs 1, 2, 3 and then 1 again."""
    if spec.log is None:
        return []
    by_trace: dict[str, list[LogRecord]] = defaultdict(list)
    for rec in _retry_lines(spec, logs, message_field, level_field):
        trace = get_field(rec.fields, trace_id_field)
        by_trace["" if is_missing(trace) else str(trace)].append(rec)
    runs: list[tuple[str, list[LogRecord]]] = []
    for trace, items in by_trace.items():
        items.sort(key=lambda r: r.timestamp_ns)
        current: list[LogRecord] = []
        for rec in items:
            if current and get_field(rec.fields, spec.log.attempt_field) == 1:
                runs.append((trace, current))
                current = []
            current.append(rec)
        runs.append((trace, current))
    out = []
    for trace, items in runs:
        numbers = []
        for r in items:
            value = get_field(r.fields, spec.log.attempt_field)
            if isinstance(value, int) and not isinstance(value, bool):
                numbers.append(value)
        max_logged = None
        if spec.log.max_field:
            value = get_field(items[0].fields, spec.log.max_field)
            max_logged = value if isinstance(value, int) and not isinstance(value, bool) else None
        delays = tuple((b.timestamp_ns - a.timestamp_ns) / 1e6 for a, b in zip(items, items[1:], strict=False))
        out.append(RetryGroup(trace, trace, len(items) + 1, delays, "logs", tuple(numbers), max_logged))
    return out


def _metric_delta(spec: RetrySpec, before: Sequence[MetricFamily] | None, after: Sequence[MetricFamily]) -> float | None:
    assert spec.metric is not None
    base = spec.metric.removesuffix("_total")

    def total(families: Sequence[MetricFamily] | None) -> float | None:
        fam = find_family(families or [], spec.metric or "")
        if fam is None:
            return None
        return sum(
            s.value
            for s in fam.samples
            if s.name in (base + "_total", base) and all(s.labels.get(k) == v for k, v in spec.metric_selector.items())
        )

    got = total(after)
    if got is None:
        return None
    return got - (total(before) or 0.0)


def _interval_findings(spec: RetrySpec, groups: list[RetryGroup], where: str, link: str, query: str) -> list[Finding]:
    for g in groups:
        for n, delay in enumerate(g.delays_ms, start=1):
            low, high = spec.backoff.window_ms(n)
            if low <= delay <= high:
                continue
            expected = spec.backoff.expected_ms(n)
            observed = [round(d, 1) for d in g.delays_ms]
            schedule = [round(spec.backoff.expected_ms(i), 1) for i in range(1, len(g.delays_ms) + 1)]
            if delay < low and delay < 0.2 * expected:
                why = "retries without backoff: the operation retried (almost) at once"
            elif delay < low:
                why = "the backoff is shorter than the contract's schedule"
            else:
                why = "the backoff is longer than the contract's schedule"
            return [
                Finding(
                    "retries",
                    where,
                    f"{why}; delay before retry {n} of {spec.operation!r} was {delay:.1f} ms, allowed "
                    f"{low:.1f}..{high:.1f} ms (base {spec.backoff.base_ms:g} ms x {spec.backoff.factor:g}^{n - 1}, "
                    f"tolerance {spec.backoff.tolerance:.0%} + {spec.backoff.slack_ms:g} ms) [from {g.source}, "
                    f"trace {g.trace_id or '?'}]",
                    expected=schedule,
                    actual=observed,
                    query=query,
                    link=link.format(trace_id=g.trace_id) if "{trace_id}" in link else link,
                )
            ]
    return []


def check_retries(
    spec: RetrySpec,
    *,
    spans: Sequence[Span] = (),
    logs: Sequence[LogRecord] = (),
    before: Sequence[MetricFamily] | None = None,
    after: Sequence[MetricFamily] | None = None,
    logs_spec: LogsSpec | None = None,
    trace_url: str = "",
    query: str = "",
) -> list[Finding]:
    """Attempts <= max_attempts, delays follow base*factor^(n-1) within tolerance, and the retry counter,
    the ``retry_count`` attribute and the WARN lines agree. No retry observed at all is a finding.
    ``logs_spec`` (the contract's ``logs``) names the message and level fields of the log lines."""
    where = spec.loc or f"retries {spec.operation}"
    message_field = logs_spec.message_field if logs_spec else "message"
    level_field = logs_spec.level_field if logs_spec else "level"
    s_groups = span_groups(spec, spans)
    l_groups = log_groups(spec, logs, message_field=message_field, level_field=level_field)
    retried_spans = [g for g in s_groups if g.attempts > 1]
    if not retried_spans and not l_groups:
        return [_no_retry(spec, s_groups, where, query)]
    findings = _span_bound(spec, s_groups, where, trace_url) + _log_bound(spec, l_groups, where, query)
    # Intervals: attempt spans are exact; WARN lines are used only when there are no attempt spans.
    timed = retried_spans if retried_spans else l_groups
    findings += _interval_findings(spec, timed, where, trace_url, query)
    # Agreement of the signals.
    counts: dict[str, float] = {}
    if spec.attempt_span:
        counts[f"{spec.attempt_span} spans - 1 per operation"] = sum(g.attempts - 1 for g in s_groups)
    if spec.log:
        counts[f"{spec.log.level} retry log lines"] = sum(g.attempts - 1 for g in l_groups)
    if spec.span and spec.count_attribute:
        findings += _count_attribute(spec, spans, s_groups, counts, where, trace_url, query)
    if spec.metric:
        findings += _retry_counter(spec, before, after, counts, where, query)
    if spec.log and spec.log.fields:
        findings += _log_field_findings(spec, logs, message_field, level_field, where, query)
    if spec.errors_metric:
        findings += _errors_counted(spec, before, after, where, query)
    if len(set(counts.values())) > 1:
        findings.append(
            Finding(
                "retries",
                where,
                f"the signals disagree on how many times {spec.operation!r} retried: every retry must be "
                "counted, logged and recorded once",
                expected="equal counts",
                actual={k: (int(v) if float(v).is_integer() else v) for k, v in counts.items()},
                query=query,
            )
        )
    return findings


def _no_retry(spec: RetrySpec, s_groups: list[RetryGroup], where: str, query: str) -> Finding:
    sources = [f"{spec.attempt_span!r} spans ({len(s_groups)} operations, none retried)"] if spec.attempt_span else []
    sources += [f"{spec.log.level} lines /{spec.log.message}/ (0)"] if spec.log else []
    return Finding(
        "retries",
        where,
        f"no retry of {spec.operation!r} was observed in {' or '.join(sources)}: either the fault "
        f"({spec.fault.dependency + ' ' + spec.fault.mode if spec.fault else 'none'}) was not injected, or the "
        "service does not retry, or its retries are not instrumented",
        expected="at least one retried operation",
        actual="none",
        query=query,
    )


def _span_bound(spec: RetrySpec, s_groups: list[RetryGroup], where: str, trace_url: str) -> list[Finding]:
    """The first operation whose attempt spans outnumber ``max_attempts``."""
    for g in s_groups:
        if g.attempts > spec.max_attempts:
            return [Finding("retries", where, f"{spec.operation!r} made {g.attempts} attempts (trace {g.trace_id}); "
                            f"the contract allows at most {spec.max_attempts}", expected=f"<= {spec.max_attempts}",
                            actual=g.attempts, link=trace_url.format(trace_id=g.trace_id) if trace_url else "")]
    return []


def _log_bound(spec: RetrySpec, l_groups: list[RetryGroup], where: str, query: str) -> list[Finding]:
    """The first logged operation with too many retries, a logged maximum other than the contract's, or retry
    numbers out of order."""
    for g in l_groups:
        top = max(g.attempt_numbers, default=g.attempts - 1)
        if top > spec.max_attempts - 1 or g.attempts > spec.max_attempts:
            return [Finding("retries", where, f"{spec.operation!r} logged retry number {top} (trace "
                            f"{g.trace_id or '?'}); at most {spec.max_attempts - 1} retries are allowed",
                            expected=f"<= {spec.max_attempts - 1}", actual=top, query=query)]
        if spec.log and spec.log.max_field and g.max_logged is not None and g.max_logged != spec.max_attempts - 1:
            return [Finding("retries", where, f"the retry log line says {spec.log.max_field}={g.max_logged}, the "
                            f"contract says {spec.max_attempts - 1} retries", expected=spec.max_attempts - 1,
                            actual=g.max_logged, query=query)]
        if g.attempt_numbers and list(g.attempt_numbers) != list(range(1, len(g.attempt_numbers) + 1)):
            return [Finding("retries", where, f"retry numbers in {spec.log.attempt_field if spec.log else 'the log'} "
                            "are not 1, 2, 3, ... in time order", expected=list(range(1, len(g.attempt_numbers) + 1)),
                            actual=list(g.attempt_numbers), query=query)]
    return []


def _count_attribute(spec: RetrySpec, spans: Sequence[Span], s_groups: list[RetryGroup], counts: dict[str, float],
                     where: str, trace_url: str, query: str) -> list[Finding]:
    """The ``count_attribute`` of each ``span`` is an integer equal to its attempt children minus one; its sum
    joins ``counts``."""
    assert spec.span is not None and spec.count_attribute is not None
    holders = [s for s in spans if s.name == spec.span]
    values = [s.attributes.get(spec.count_attribute) for s in holders]
    if not holders:
        return [Finding("retries", where, f"no {spec.span!r} span arrived to carry {spec.count_attribute!r}",
                        expected=f"{spec.span} spans", actual="0 spans", query=query)]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        return [Finding("retries", where, f"{len([v for v in values if not isinstance(v, int)])} of {len(holders)} "
                        f"{spec.span!r} spans lack an integer {spec.count_attribute!r} attribute",
                        expected=f"{spec.count_attribute}: integer", actual=values[:5], query=query)]
    counts[f"{spec.span}.{spec.count_attribute}"] = sum(int(v) for v in values)  # type: ignore[arg-type]
    by_parent = {g.key: g for g in s_groups}
    for holder in holders:
        group = by_parent.get(holder.span_id)
        value = holder.attributes[spec.count_attribute]
        if group is not None and value != group.attempts - 1:
            return [Finding("retries", where, f"span {spec.span!r} says {spec.count_attribute}={value} but has "
                            f"{group.attempts} {spec.attempt_span!r} children (trace {holder.trace_id})",
                            expected=group.attempts - 1, actual=value,
                            link=trace_url.format(trace_id=holder.trace_id) if trace_url else "")]
    return []


def _retry_counter(spec: RetrySpec, before: Sequence[MetricFamily] | None, after: Sequence[MetricFamily] | None,
                   counts: dict[str, float], where: str, query: str) -> list[Finding]:
    """The retry counter is exposed; its increase joins ``counts``."""
    delta = _metric_delta(spec, before, after or [])
    if delta is None:
        return [Finding("retries", where, f"retry counter {spec.metric!r} is not exposed", expected=spec.metric,
                        actual="absent", query=query)]
    counts[f"{spec.metric}{spec.metric_selector or ''} increase"] = delta
    return []


def _errors_counted(spec: RetrySpec, before: Sequence[MetricFamily] | None, after: Sequence[MetricFamily] | None,
                    where: str, query: str) -> list[Finding]:
    """The error counter rose while every attempt failed."""
    assert spec.errors_metric is not None
    after_errors = metric_value(after or [], spec.errors_metric, spec.errors_selector)
    before_errors = metric_value(before or [], spec.errors_metric, spec.errors_selector) or 0.0
    if after_errors is None or after_errors <= before_errors:
        return [Finding("retries", where, f"error counter {spec.errors_metric}{spec.errors_selector or ''} did not "
                        f"rise while every attempt of {spec.operation!r} failed: failed attempts must be counted as "
                        "errors", expected=f"> {before_errors:g}",
                        actual="absent" if after_errors is None else after_errors, query=query)]
    return []


def _log_field_findings(spec: RetrySpec, logs: Sequence[LogRecord], message_field: str, level_field: str,
                        where: str, query: str) -> list[Finding]:
    """Every retry line carries the contract's fields (bucket, key, operation ...) with their types."""
    from obsconf.checks.spans import attribute_problem

    assert spec.log is not None
    lines = _retry_lines(spec, logs, message_field, level_field)
    out = []
    for attr in spec.log.fields:
        bad = []
        for rec in lines:
            value = get_field(rec.fields, attr.name)
            problem = attribute_problem(attr, {} if is_missing(value) else {attr.name: value})
            if problem is not None:
                bad.append((rec, problem))
        if bad:
            rec, problem = bad[0]
            out.append(Finding("retries", where, f"{len(bad)} of {len(lines)} retry log lines lack field "
                               f"{attr.name!r} as the contract states; first: {clip(rec.line)}",
                               expected=f"{attr.name}: {attr.type}", actual=f"{attr.name}: {problem}", query=query))
    return out
