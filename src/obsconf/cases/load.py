"""Cases of the ``load`` section, collected only under ``--obsconf-load locust``: Locust's requests, the
cross-signal accounting, the histogram's count, and the SLOs measured under load."""

from __future__ import annotations

from obsconf.cases.case import Case, Probe
from obsconf.checks.accounting import check_accounting, check_histogram_count
from obsconf.checks.load_slos import check_load_slo
from obsconf.checks.loadrun import check_load_requests
from obsconf.contract.model import Contract
from obsconf.model import Finding


def load_cases(contract: Contract) -> list[Case]:
    """Cases of the ``load`` section; collected only under ``--obsconf-load locust`` (see nodes.py)."""
    load = contract.load
    if load is None or load.accounting is None:
        return []
    acc = load.accounting

    def requests(probe: Probe) -> list[Finding]:
        got = probe.load()
        return check_load_requests(got.run.stats, got.run.exceptions, where=load.loc, user_class=load.user_class)

    def accounting(probe: Probe) -> list[Finding]:
        got = probe.load()
        return check_accounting(acc, got.rows, sample_rate=got.sample_rate,
                                always_sample_errors=got.always_sample_errors, query=got.queries.get("counter", ""),
                                recorded=len(got.run.records), locust_total=got.run.stats["total"]["num_requests"])

    signals = [f"the increase of {acc.counter.name}"] + [x for x, on in (
        ("the server spans", acc.spans), ("the access-log lines", acc.access_log)) if on]
    cases = [
        Case(contract, "load", "requests", "load.requests", requests,
             f"(--obsconf-load locust) every request of Locust's {load.user_class} gets the answer it expects",
             ("load",)),
        Case(contract, "load", "accounting", "load.accounting", accounting,
             f"(--obsconf-load locust) per route and status class, the requests sent, {', '.join(signals)} agree",
             ("load.accounting", "load")),
    ]
    if acc.histogram is not None:
        hist = acc.histogram

        def histogram(probe: Probe) -> list[Finding]:
            got = probe.load()
            counter, counts = got.histogram
            return check_histogram_count(hist.name, counter, counts, where=hist.loc,
                                         query=got.queries.get("histogram_count", ""))

        cases.append(Case(contract, "load", "histogram_count", "load.histogram", histogram,
                          f"(--obsconf-load locust) {hist.name}_count increases exactly as {acc.counter.name}",
                          ("load.accounting.histogram", "load.accounting", "load")))
    if load.slos is not None:
        slos = load.slos
        for name in ("availability", "error_rate", "p95_ms"):
            if getattr(slos, name) is None:
                continue

            def slo(probe: Probe, name: str = name) -> list[Finding]:
                got = probe.load()
                measure = next(m for m in got.slos if m.name == name)
                return check_load_slo(measure, where=slos.loc, query=got.queries.get("counter", ""))

            cases.append(Case(contract, "load", f"slo_{name}", "load.slos", slo,
                              f"(--obsconf-load locust) {name} meets {getattr(slos, name):g} by Locust's numbers "
                              "and by the service's telemetry, and the two agree", ("load.slos", "load")))
    return cases
