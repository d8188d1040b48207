"""Pure cross-signal accounting under load: per route and status class, the requests sent, the increase
of the request counter, the server spans and the access-log lines must agree ("sent equals received", the
rule of the OpenTelemetry Collector's test bed, applied across signals).

Every signal is tallied into a :class:`RouteKey` (method, route template, status class). A request path
becomes a route through the route templates the signals themselves name (``/snapshots/{key}``,
``/items/<sku>``, ``/users/:id``), so nothing here knows a service. A mismatch is one finding per route
showing the four numbers. Spans of a run that samples below 1.0 must fall within the binomial bounds of
the rate (4 standard deviations, as :func:`obsconf.checks.spans.check_sampling`), exactly where errors are
always sampled; the request-duration histogram's ``_count`` must equal the counter.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from obsconf.contract.model import AccessLogSpec, AccountingSpec, SpanAccountingSpec
from obsconf.model import Finding, HttpExchange, LogRecord, Span, get_field, is_missing

NO_ANSWER = "no answer"  # the status class of a request that got no HTTP answer
ANY = "*"  # a key part a signal does not carry (e.g. no method label): not compared


def status_class(value: object) -> str:
    """``200`` or ``"200"`` -> ``2xx``; 0 or nothing -> ``no answer``; a non-numeric value (``"error"``) as is."""
    if value is None or is_missing(value) or isinstance(value, bool):
        return NO_ANSWER if value is None or is_missing(value) else str(value)
    try:
        code = int(float(str(value).strip()))
    except ValueError:
        return str(value)
    if code == 0:
        return NO_ANSWER
    return f"{code // 100}xx" if 100 <= code <= 599 else str(code)


@dataclass(frozen=True, order=True)
class RouteKey:
    """What the accounting groups by: method (``*`` when not compared), route template, status class."""

    method: str
    route: str
    status: str

    def label(self) -> str:
        method = "" if self.method == ANY else f"{self.method} "
        return f"{method}{self.route} {self.status}".strip()


_PARAM = re.compile(r"\{[^}/]+\}|<[^>/]+>|(?<=/):[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=1024)
def template_regex(template: str) -> re.Pattern[str] | None:
    """A route template as a regex: ``{name}``, ``<name>``, ``<conv:name>`` and ``:name`` match one path
    segment, ``{name:path}``/``<path:name>`` any rest. None for a value that is not a path."""
    if not template.startswith("/"):
        return None
    out, last = [], 0
    for m in _PARAM.finditer(template):
        out.append(re.escape(template[last:m.start()]))
        out.append(".+" if "path" in m.group(0) else "[^/]+")
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("".join(out) + "$")


class RouteMatcher:
    """Maps a request path to the route template it belongs to: an exact template first, else the matching
    template with the most literal text; a path no template matches is its own route."""

    def __init__(self, templates: Iterable[str]) -> None:
        self.templates = sorted({t for t in templates if t and t.startswith("/")},
                                key=lambda t: (-len(_PARAM.sub("", t)), t))
        self._exact = set(self.templates)
        self._cache: dict[str, str] = {}

    def route(self, path: str) -> str:
        path = urlsplit(path).path if "://" in path or "?" in path else path
        if path in self._exact:
            return path
        if path not in self._cache:
            self._cache[path] = next((t for t in self.templates if (rx := template_regex(t)) and rx.match(path)),
                                     path)
        return self._cache[path]


def _method(value: object) -> str:
    return str(value).upper() if value is not None and not is_missing(value) else "?"


def _first(attributes: Mapping[str, object], names: Sequence[str]) -> object:
    return next((attributes[n] for n in names if n in attributes), None)


def request_key(exchange: HttpExchange, matcher: RouteMatcher, exclude: Iterable[str], *,
                by_method: bool) -> RouteKey | None:
    """The key of one request the client sent (None: its route is excluded)."""
    path = urlsplit(exchange.url).path
    route = matcher.route(path)
    if route in exclude or path in exclude:
        return None
    return RouteKey(exchange.method.upper() if by_method else ANY, route, status_class(exchange.status))


def tally_sent(exchanges: Sequence[HttpExchange], matcher: RouteMatcher, exclude: Iterable[str], *,
               by_method: bool) -> Counter[RouteKey]:
    """The requests the client sent, by the status it got (0: no answer)."""
    skip = set(exclude)
    keys = (request_key(x, matcher, skip, by_method=by_method) for x in exchanges)
    return Counter(k for k in keys if k is not None)


def tally_series(deltas: Sequence[tuple[Mapping[str, str], float]], matcher: RouteMatcher, exclude: Iterable[str],
                 *, route_label: str, status_label: str | None, method_label: str | None) -> Counter[RouteKey]:
    """A counter's increase per series (labels, delta) grouped by route, status class and method labels; a
    label not named is summed over (``*``)."""
    skip = set(exclude)
    out: Counter[RouteKey] = Counter()
    for labels, delta in deltas:
        raw = labels.get(route_label, "")
        route = matcher.route(raw) if raw.startswith("/") else (raw or "(no route label)")
        if route in skip or raw in skip:
            continue
        method = _method(labels.get(method_label)) if method_label else ANY
        status = status_class(labels.get(status_label)) if status_label else ANY
        out[RouteKey(method, route, status)] += round(delta)
    return +out


def tally_spans(spans: Sequence[Span], spec: SpanAccountingSpec, matcher: RouteMatcher, exclude: Iterable[str],
                *, by_method: bool) -> Counter[RouteKey]:
    """Server spans by the route, status code and method their attributes name (the route falls back on
    ``url.path``/``http.target`` or the span name, mapped through the templates)."""
    skip = set(exclude)
    out: Counter[RouteKey] = Counter()
    for s in spans:
        if s.kind != "server":
            continue
        raw = _first(s.attributes, spec.route_attribute)
        if raw is None:
            raw = _first(s.attributes, ("url.path", "http.target")) or next(
                (part for part in s.name.split() if part.startswith("/")), "(no route)")
        path = str(raw)
        route = matcher.route(path)
        if route in skip or path in skip:
            continue
        method = _method(_first(s.attributes, spec.method_attribute)) if by_method else ANY
        out[RouteKey(method, route, status_class(_first(s.attributes, spec.status_attribute)))] += 1
    return out


def is_access_line(record: LogRecord, spec: AccessLogSpec) -> bool:
    value = get_field(record.fields, spec.match.field) if record.fields else None
    return value is not None and not is_missing(value) and re.search(spec.match.pattern, str(value)) is not None


def tally_logs(records: Sequence[LogRecord], spec: AccessLogSpec, matcher: RouteMatcher, exclude: Iterable[str],
               *, by_method: bool) -> Counter[RouteKey]:
    """Access-log lines (those ``spec.match`` selects) by the route, status and method fields they carry."""
    skip = set(exclude)
    out: Counter[RouteKey] = Counter()
    for rec in records:
        if not is_access_line(rec, spec):
            continue
        raw = get_field(rec.fields, spec.route_field)
        path = "(no route field)" if is_missing(raw) else str(raw)
        route = matcher.route(path)
        if route in skip or path in skip:
            continue
        method = _method(get_field(rec.fields, spec.method_field)) if by_method and spec.method_field else ANY
        out[RouteKey(method, route, status_class(get_field(rec.fields, spec.status_field)))] += 1
    return out


def route_templates(spec: AccountingSpec, deltas: Sequence[tuple[Mapping[str, str], float]],
                    spans: Sequence[Span], records: Sequence[LogRecord]) -> list[str]:
    """Every route template the contract and the signals name: the counter's route label values, the server
    spans' route attributes and the access lines' route fields (values that are paths)."""
    out = set(spec.routes)
    out |= {labels.get(spec.counter.route_label, "") for labels, _ in deltas}
    if spec.spans is not None:
        out |= {str(v) for s in spans if s.kind == "server"
                and (v := _first(s.attributes, spec.spans.route_attribute)) is not None}
    if spec.access_log is not None:
        out |= {str(v) for r in records if is_access_line(r, spec.access_log)
                and not is_missing(v := get_field(r.fields, spec.access_log.route_field))}
    return sorted(t for t in out if t.startswith("/"))


@dataclass(frozen=True)
class AccountingRow:
    """The four numbers of one route and status class (None: that signal is not accounted)."""

    key: RouteKey
    sent: int
    counter: int
    spans: int | None = None
    logs: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"method": self.key.method, "route": self.key.route, "status": self.key.status, "sent": self.sent,
                "counter": self.counter, "spans": self.spans, "logs": self.logs}


def account(sent: Counter[RouteKey], counter: Counter[RouteKey], spans: Counter[RouteKey] | None,
            logs: Counter[RouteKey] | None) -> list[AccountingRow]:
    """One row per key any signal saw, sorted by route, method, status."""
    keys = set(sent) | set(counter) | set(spans or ()) | set(logs or ())
    return [AccountingRow(k, sent[k], counter[k], None if spans is None else spans[k],
                          None if logs is None else logs[k])
            for k in sorted(keys, key=lambda k: (k.route, k.method, k.status))]


def _spans_ok(row: AccountingRow, rate: float, errors_exact: bool) -> bool:
    if row.spans is None:
        return True
    n, k = row.sent, row.spans
    if rate >= 1.0 or (errors_exact and row.key.status in ("4xx", "5xx")):
        return k == n
    sigma = math.sqrt(n * rate * (1 - rate))
    return abs(k - n * rate) <= max(4 * sigma, 1e-9)


def _numbers(row: AccountingRow, counter: str) -> str:
    parts = [f"sent {row.sent}", f"{counter} +{row.counter}"]
    if row.spans is not None:
        parts.append(f"server spans {row.spans}")
    if row.logs is not None:
        parts.append(f"access-log lines {row.logs}")
    return ", ".join(parts)


def check_accounting(spec: AccountingSpec, rows: Sequence[AccountingRow], *, sample_rate: float = 1.0,
                     always_sample_errors: bool = False, where: str = "", query: str = "",
                     recorded: int | None = None, locust_total: int | None = None) -> list[Finding]:
    """Every row agrees: the counter and the access log exactly, the spans exactly at rate 1.0 (else within
    the binomial bounds). Requests that got no answer are shown but not compared (the service may never
    have seen them). ``recorded``/``locust_total``: obsconf's per-request records must be Locust's own count."""
    where = where or spec.loc or "load.accounting"
    counter = spec.counter.name
    findings: list[Finding] = []
    if recorded is not None and locust_total is not None and recorded != locust_total:
        findings.append(Finding("load.accounting", where, f"obsconf recorded {recorded} requests but Locust's "
                                f"statistics count {locust_total}: a request event was lost, so the accounting "
                                "below is not exact", expected=locust_total, actual=recorded))
    if sum(r.sent for r in rows) == 0:
        return findings + [Finding("load.accounting", where, "the load sent no request to an accounted route, so "
                                   "nothing could be accounted", expected="requests", actual=0, query=query)]
    if not any(r.counter for r in rows):
        findings.append(Finding("load.accounting", where, f"the request counter {counter} did not increase on any "
                                f"route (is it exposed, scraped as this job, and are {spec.counter.route_label!r} "
                                f"and {spec.counter.status_label!r} its labels?)", expected="an increase",
                                actual=0, query=query))
        return findings
    for row in rows:
        if row.key.status == NO_ANSWER:
            continue
        wrong = []
        if row.counter != row.sent:
            wrong.append(f"the counter {'misses' if row.counter < row.sent else 'has'} "
                         f"{abs(row.sent - row.counter)} {'' if row.counter < row.sent else 'extra '}requests")
        if not _spans_ok(row, sample_rate, always_sample_errors):
            bound = "" if sample_rate >= 1.0 else f" (rate {sample_rate:g}: about {row.sent * sample_rate:.0f})"
            wrong.append(f"{row.spans} server spans for {row.sent} requests{bound}")
        if row.logs is not None and row.logs != row.sent:
            wrong.append(f"{row.logs} access-log lines for {row.sent} requests")
        if wrong:
            findings.append(Finding(
                "load.accounting", where, f"{row.key.label()}: {_numbers(row, counter)}: {'; '.join(wrong)}",
                expected=f"{row.sent} in every signal", actual=row.as_dict(), query=query))
    return findings


def check_histogram_count(name: str, counter: Counter[RouteKey], histogram: Counter[RouteKey], *, where: str = "",
                          query: str = "") -> list[Finding]:
    """The histogram's ``_count`` increase equals the counter's, per key (both grouped alike)."""
    where = where or "load.accounting.histogram"
    if not histogram:
        return [Finding("load.histogram", where, f"{name}_count did not increase on any route (is {name} a "
                        "histogram this job exposes?)", expected="an increase", actual=0, query=query)]
    findings = []
    for key in sorted(set(counter) | set(histogram), key=lambda k: (k.route, k.method, k.status)):
        if counter[key] != histogram[key]:
            findings.append(Finding(
                "load.histogram", where, f"{key.label()}: {name}_count +{histogram[key]}, request counter "
                f"+{counter[key]}: every request counted must be observed once", expected=counter[key],
                actual=histogram[key], query=query))
    return findings


def counter_deltas(before: Sequence[tuple[Mapping[str, str], float]],
                   after: Sequence[tuple[Mapping[str, str], float]]) -> list[tuple[dict[str, str], float]]:
    """Each series' increase from ``before`` to ``after`` (a series new since ``before`` counts from 0; one
    that went down was reset, so its whole ``after`` value is the increase)."""
    start = {tuple(sorted(labels.items())): value for labels, value in before}
    out = []
    for labels, value in after:
        base = start.get(tuple(sorted(labels.items())), 0.0)
        out.append((dict(labels), value - base if value >= base else value))
    return out
