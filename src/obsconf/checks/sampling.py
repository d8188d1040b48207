"""Pure check of trace sampling: the share of requests traced fits the sample rate (an exact binomial test),
and every error, slow request and critical path the contract always samples was traced."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from obsconf.checks._common import trace_link
from obsconf.checks.binomial import ALPHA, two_sided_p
from obsconf.contract.model import SamplingSpec
from obsconf.model import Finding, HttpExchange, Span


def status_code(span: Span) -> int | None:
    """The HTTP status code a server span records (current or older semantic-convention name)."""
    for name in ("http.response.status_code", "http.status_code"):
        value = span.attributes.get(name)
        if value is not None:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def span_path(span: Span) -> str:
    """The request path a server span records (``url.path``, ``http.target``, ``http.route``, or the name)."""
    for name in ("url.path", "http.target", "http.route"):
        value = span.attributes.get(name)
        if isinstance(value, str) and value.startswith("/"):
            return urlsplit(value).path
    last = span.name.split(" ")[-1]
    return last if last.startswith("/") else ""


def _is_error(span: Span) -> bool:
    code = status_code(span)
    return span.status == "error" or (code is not None and code >= 400)


#: the kinds of request a sampling run tells apart: always-sampled errors, slow requests and critical paths,
#: and the rest ("base"), which the sample rate applies to
_KINDS = ("base", "error", "slow", "path")


class _Kinds:
    """Which of :data:`_KINDS` a request, or the server span of a request, belongs to under ``spec``."""

    def __init__(self, spec: SamplingSpec) -> None:
        self.spec = spec

    def _critical(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.spec.always_sample_paths)

    def of_request(self, exchange: HttpExchange) -> str:
        slow_ms = self.spec.always_sample_slow_ms
        if self.spec.always_sample_errors and exchange.status >= 400:
            return "error"
        if slow_ms is not None and exchange.elapsed_ms >= slow_ms:
            return "slow"
        return "path" if self._critical(urlsplit(exchange.url).path) else "base"

    def of_span(self, span: Span) -> str:
        slow_ms = self.spec.always_sample_slow_ms
        if self.spec.always_sample_errors and _is_error(span):
            return "error"
        if slow_ms is not None and span.duration_us / 1000.0 >= slow_ms:
            return "slow"
        return "path" if self._critical(span_path(span)) else "base"


def check_sampling(
    spec: SamplingSpec,
    exchanges: Sequence[HttpExchange],
    spans: Sequence[Span],
    *,
    rate: float | None = None,
    trace_url: str = "",
    query: str = "",
    where: str = "",
) -> list[Finding]:
    """The share of requests whose trace arrived fits the sample ``rate`` (default ``run_rate``) by an exact
    two-sided binomial test at alpha 0.001; with ``always_sample_errors`` / ``always_sample_slow_ms`` every error
    and every slow request is traced.

    Requests that carried a W3C traceparent are paired with their traces by trace id. Requests without one (a
    sampling run lets the service's own sampler decide) are paired by count: the server spans of the run whose
    path is a path of the requests, split into error, slow and other spans as the requests are."""
    where = where or spec.loc or "spans.sampling"
    rate = spec.run_rate if rate is None else rate
    if not exchanges:
        return [Finding("spans.sampling", where, "no request was made, so sampling could not be checked: give the "
                        "sampling case requests (spans.sampling.workload, or the contract's workload)",
                        expected="requests", actual="0 requests")]
    kinds = _Kinds(spec)
    sent: dict[str, list[HttpExchange]] = {kind: [] for kind in _KINDS}
    for exchange in exchanges:
        sent[kinds.of_request(exchange)].append(exchange)
    kept, how = _traced(kinds, sent, exchanges, spans)
    findings = _rate_findings(spec, rate, len(sent["base"]), kept["base"], how, where, query)
    return findings + _always_sampled_findings(spec, sent, kept, how, where, trace_url, query)


def _traced(kinds: _Kinds, sent: dict[str, list[HttpExchange]], exchanges: Sequence[HttpExchange],
            spans: Sequence[Span]) -> tuple[dict[str, int], str]:
    """How many requests of each kind were traced, and how that was found out (for the messages)."""
    if all(exchange.trace_id for exchange in exchanges):
        traced_ids = {span.trace_id for span in spans}
        kept = {kind: sum(1 for x in requests if x.trace_id in traced_ids) for kind, requests in sent.items()}
        return kept, "by the trace ids of their traceparent"
    paths = {urlsplit(exchange.url).path for exchange in exchanges}
    kept = dict.fromkeys(_KINDS, 0)
    for span in spans:
        if span.kind == "server" and span_path(span) in paths:
            kept[kinds.of_span(span)] += 1
    return kept, f"by counting the service's server spans for {', '.join(sorted(paths))} in the run"


def _rate_findings(spec: SamplingSpec, rate: float, requests: int, traced: int, how: str, where: str,
                   query: str) -> list[Finding]:
    """The traced share of the ordinary requests against the sample rate (exact two-sided binomial test)."""
    if not requests:
        return []
    pvalue = two_sided_p(min(traced, requests), requests, rate)
    if traced <= requests and pvalue >= ALPHA:
        return []
    return [Finding(
        "spans.sampling", where,
        f"{traced} of {requests} requests were traced ({how}): at sample rate {rate:g} that has probability "
        f"p = {pvalue:.2g} < {ALPHA:g} (exact two-sided binomial test)"
        + (f"; does the service read {spec.env}={rate:g}?" if spec.env else ""),
        expected=f"about {requests * rate:.1f} of {requests} (rate {rate:g})", actual=traced, query=query)]


def _always_sampled_findings(spec: SamplingSpec, sent: dict[str, list[HttpExchange]], kept: dict[str, int], how: str,
                             where: str, trace_url: str, query: str) -> list[Finding]:
    """Every error, slow request and request to a critical path was traced, and the run had some of each."""
    slow_ms = spec.always_sample_slow_ms
    always = (("error", "error responses", spec.always_sample_errors, "a failing request (GET /api/fail?status=500)"),
              ("slow", f"requests slower than {slow_ms or 0:g} ms", slow_ms is not None, "a slow request"),
              ("path", f"requests to {', '.join(spec.always_sample_paths)}", bool(spec.always_sample_paths),
               "a request to one of those paths"))
    findings = []
    for kind, what, on, how_to in always:
        count = len(sent[kind])
        if not on:
            continue
        if not count:
            findings.append(Finding(
                "spans.sampling", where, f"no {what} in the sampling run, so 'always sampled' was not exercised: "
                f"add {how_to} to spans.sampling.workload", expected=f">= 1 of the {what}", actual=0))
        elif kept[kind] < count:
            findings.append(Finding(
                "spans.sampling", where, f"only {kept[kind]} of {count} {what} were traced although they are always "
                f"sampled ({how})", expected=f"all {count} traced", actual=kept[kind], query=query,
                link=trace_link(trace_url, next((x.trace_id for x in sent[kind] if x.trace_id), ""))))
    return findings
