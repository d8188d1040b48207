"""Pure check of endpoints behind a bearer token: anonymous and wrong-token requests refused with a bare
401, the right token accepted (seed 002 "Access Control: Secure observability endpoints")."""

from __future__ import annotations

from collections.abc import Sequence

from obsconf.contract.model import AuthSpec, HealthSpec, Step
from obsconf.model import AuthExchange, Finding
from obsconf.workload.tracecontext import header_value

CHECK = "auth"


def probe_paths(spec: AuthSpec, workload: Sequence[Step], health: Sequence[HealthSpec] = ()) -> list[tuple[str, str]]:
    """(method, path) pairs to try: each exact path with GET, and for a prefix (``/v1/observability/*``) every
    request of the workload and every health endpoint under it (with its own method), or the prefix itself
    when the contract names none. Paths with ``{placeholders}`` are left out; query strings are kept."""
    wanted: list[tuple[str, str]] = []
    named = [(getattr(s, "method", "POST"), s.path) for s in workload] + [(h.method, h.path) for h in health]
    for p in spec.paths:
        if not p.endswith("/*"):
            wanted.append(("GET", p))
            continue
        under = [(m, path) for m, path in named if "{" not in path and spec.covers(path)
                 and path.split("?", 1)[0].startswith(p[:-1])]
        wanted.extend(under or [("GET", p[:-2] or "/")])
    seen: set[tuple[str, str]] = set()
    return [x for x in wanted if not (x in seen or seen.add(x))]


def check_auth(spec: AuthSpec, exchanges: Sequence[AuthExchange], *, where: str = "") -> list[Finding]:
    """Every protected endpoint: 401 without a token and with a wrong one (the same answer both times, with
    ``WWW-Authenticate``, echoing nothing), and no 401/403/5xx with the token obsconf gave the service."""
    where = where or spec.loc or "service.auth"
    if not exchanges:
        return [Finding(CHECK, where, "no protected endpoint was probed: list exact paths in service.auth.paths, "
                        "or requests under its prefixes in the workload", expected="at least one endpoint", actual=0)]
    findings: list[Finding] = []
    for x in exchanges:
        what = f"{x.method} {x.path}"
        for label, ex in (("without a token", x.anonymous), ("with a wrong token", x.wrong)):
            if ex.status != 401:
                findings.append(Finding(
                    CHECK, where, f"{what} answered {ex.status} {label}: the endpoint must refuse it with 401",
                    expected=401, actual=ex.status, query=f"{ex.method} {ex.url}"))
            elif not (header_value(ex.headers, "www-authenticate") or "").lower().startswith(spec.scheme):
                findings.append(Finding(
                    CHECK, where, f"{what} refused a request {label} without 'WWW-Authenticate: Bearer' "
                    "(RFC 6750 section 3)", expected="WWW-Authenticate: Bearer ...",
                    actual=header_value(ex.headers, "www-authenticate"), query=f"{ex.method} {ex.url}"))
        if x.anonymous.status == 401 and x.wrong.status == 401 and str(x.anonymous.body) != str(x.wrong.body):
            findings.append(Finding(
                CHECK, where, f"{what} tells a missing token from a wrong one: both refusals must be the same "
                "(no detail a caller can probe with)", expected=str(x.anonymous.body)[:200],
                actual=str(x.wrong.body)[:200]))
        if x.wrong_token and x.wrong_token in str(x.wrong.body) + "".join(x.wrong.headers.values()):
            findings.append(Finding(CHECK, where, f"{what} echoes the token it refused in its answer"))
        ok = x.authorised
        if ok.status in (401, 403):
            findings.append(Finding(
                CHECK, where, f"{what} refused the token obsconf gave the service in {spec.env} "
                f"({ok.status}): does the service read {spec.env}?", expected="not 401/403", actual=ok.status,
                query=f"{ok.method} {ok.url}"))
        elif ok.status >= 500:
            findings.append(Finding(
                CHECK, where, f"{what} failed with {ok.status} for an authorised request: {str(ok.body)[:160]}",
                expected="< 500", actual=ok.status, query=f"{ok.method} {ok.url}"))
    return findings
