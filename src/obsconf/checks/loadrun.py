"""Pure check of the load itself: the user class got the answers it expects (Locust counted no failure)
and its own code raised nothing, so what the other load checks read is the load the contract describes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from obsconf.model import Finding


def check_load_requests(stats: Mapping[str, Any], exceptions: Sequence[str], *, where: str = "",
                        user_class: str = "the user class") -> list[Finding]:
    """``stats`` is :func:`obsconf.load.runner.stats_summary` of the run; ``exceptions`` the errors raised in
    the user class's code."""
    where = where or "load"
    total = stats.get("total", {})
    findings = []
    if not total.get("num_requests"):
        findings.append(Finding("load.requests", where, f"{user_class} sent no request: are its tasks tagged out, "
                                "or does on_start stop every user?", expected="requests", actual=0))
    failures = int(total.get("num_failures", 0))
    if failures:
        errors = sorted(stats.get("errors", []), key=lambda e: -int(e.get("occurrences", 0)))
        shown = "; ".join(f"{e['method']} {e['name']}: {e['error']} ({e['occurrences']}x)" for e in errors[:5])
        findings.append(Finding("load.requests", where, f"{failures} of {total.get('num_requests')} requests did not "
                                f"get the answer {user_class} expects under load: {shown}", expected="0 failures",
                                actual=failures))
    if exceptions:
        findings.append(Finding("load.requests", where, f"{user_class}'s code raised {len(exceptions)} kinds of "
                                f"error: {exceptions[0][:600]}", expected="no error in the user class",
                                actual=len(exceptions)))
    return findings
