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
    p = spec.run_rate if rate is None else rate
    if not exchanges:
        return [Finding("spans.sampling", where, "no request was made, so sampling could not be checked: give the "
                        "sampling case requests (spans.sampling.workload, or the contract's workload)",
                        expected="requests", actual="0 requests")]
    slow_ms = spec.always_sample_slow_ms

    def critical(path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in spec.always_sample_paths)

    def kind_of_request(x: HttpExchange) -> str:
        if spec.always_sample_errors and x.status >= 400:
            return "error"
        if slow_ms is not None and x.elapsed_ms >= slow_ms:
            return "slow"
        return "path" if critical(urlsplit(x.url).path) else "base"

    def kind_of_span(s: Span) -> str:
        if spec.always_sample_errors and _is_error(s):
            return "error"
        if slow_ms is not None and s.duration_us / 1000.0 >= slow_ms:
            return "slow"
        return "path" if critical(span_path(s)) else "base"

    by_kind: dict[str, list[HttpExchange]] = {"base": [], "error": [], "slow": [], "path": []}
    for x in exchanges:
        by_kind[kind_of_request(x)].append(x)
    paired = all(x.trace_id for x in exchanges)
    if paired:
        traced_ids = {s.trace_id for s in spans}
        kept = {k: sum(1 for x in xs if x.trace_id in traced_ids) for k, xs in by_kind.items()}
        how = "by the trace ids of their traceparent"
    else:
        paths = {urlsplit(x.url).path for x in exchanges}
        servers = [s for s in spans if s.kind == "server" and span_path(s) in paths]
        kept = {"base": 0, "error": 0, "slow": 0, "path": 0}
        for s in servers:
            kept[kind_of_span(s)] += 1
        how = f"by counting the service's server spans for {', '.join(sorted(paths))} in the run"
    findings = []
    n, k = len(by_kind["base"]), kept["base"]
    if n:
        pvalue = two_sided_p(min(k, n), n, p)
        if k > n or pvalue < ALPHA:
            findings.append(Finding(
                "spans.sampling", where,
                f"{k} of {n} requests were traced ({how}): at sample rate {p:g} that has probability "
                f"p = {pvalue:.2g} < {ALPHA:g} (exact two-sided binomial test)"
                + (f"; does the service read {spec.env}={p:g}?" if spec.env else ""),
                expected=f"about {n * p:.1f} of {n} (rate {p:g})", actual=k, query=query))
    always = (("error", "error responses", spec.always_sample_errors, "a failing request (GET /api/fail?status=500)"),
              ("slow", f"requests slower than {slow_ms or 0:g} ms", slow_ms is not None, "a slow request"),
              ("path", f"requests to {', '.join(spec.always_sample_paths)}", bool(spec.always_sample_paths),
               "a request to one of those paths"))
    for kind, what, on, how_to in always:
        sent = len(by_kind[kind])
        if not on:
            continue
        if not sent:
            findings.append(Finding(
                "spans.sampling", where, f"no {what} in the sampling run, so 'always sampled' was not exercised: "
                f"add {how_to} to spans.sampling.workload", expected=f">= 1 of the {what}", actual=0))
        elif kept[kind] < sent:
            findings.append(Finding(
                "spans.sampling", where, f"only {kept[kind]} of {sent} {what} were traced although they are always "
                f"sampled ({how})", expected=f"all {sent} traced", actual=kept[kind], query=query,
                link=trace_link(trace_url, next((x.trace_id for x in by_kind[kind] if x.trace_id), ""))))
    return findings
