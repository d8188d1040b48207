"""A case and where it reads from: :class:`Case` (one check of one contract) and :class:`Probe` (its data).

A :class:`Case` is pure: it asks a :class:`Probe` for collected data and hands it to a check in
:mod:`obsconf.checks`. The plugin's probe (:class:`obsconf.live.probe.LiveProbe`) reads real backends, lazily,
so ``-k`` selects what is collected; unit tests give a probe built from fixed data. Case ids read
``<contract>-<section>-<item>``, e.g. ``persist-spans-save_snapshot``, where ``<contract>`` is
:attr:`Contract.id`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from obsconf.cases.inputs import DriveRun, RetryRun, SamplingRun
from obsconf.contract.model import (
    AlertDrive,
    Contract,
    DashboardSpec,
    FaultScenarioSpec,
    MetricSpec,
    RetrySpec,
)
from obsconf.model import AuthExchange, Finding, HttpExchange, Series

#: The check id of a finding that demonstrates a defect of the seed itself: the case is reported as a seed
#: defect (pytest xfail), not as a failure of the service.
SEED_DEFECT = "seed.defect"


class Probe(Protocol):
    """Where cases get their data. Each method is called lazily and its result cached by the implementation."""

    def collected(self) -> Any: ...  # obsconf.live.collect.Collected
    def retry(self, spec: RetrySpec) -> RetryRun: ...
    def fault(self, spec: FaultScenarioSpec) -> list[Finding]: ...
    def health(self) -> list[HttpExchange]: ...
    def slo_report(self) -> tuple[Any, str]: ...  # (parsed JSON, the URL asked)
    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]: ...  # (series, promql, link)
    def rules_text(self) -> str: ...
    def trace_url(self) -> str: ...  # a template with {trace_id}, e.g. "<jaeger>/trace/{trace_id}"
    def store_indexes(self) -> tuple[list[str] | None, str]: ...  # (the collection's indexes, what was asked)
    def sampling_run(self) -> SamplingRun: ...
    def alert_drive(self, drive: AlertDrive) -> DriveRun: ...
    def slo_env_report(self) -> tuple[Any, str]: ...  # the SLO report of an instance started with env targets
    def slo_values(self) -> tuple[dict[str, list[Series]], str]: ...  # SLO name -> its PromQL's series
    def dashboard(self, spec: DashboardSpec) -> tuple[list[Series], str, str]: ...  # (series, promql, link)
    def budget(self, key: str) -> Any: ...  # obsconf.checks.budgets.Measurement | Unmeasurable
    def auth(self) -> list[AuthExchange]: ...  # each protected endpoint without, with a wrong and the right token
    def load(self) -> Any: ...  # obsconf.load.collect.LoadResult (under --obsconf-load locust)


@dataclass(frozen=True)
class Case:
    """One check of one contract: ``kind`` is the check kind a contract's ``skip`` names."""

    contract: Contract
    section: str
    item: str
    kind: str
    run: Callable[[Probe], list[Finding]]
    describe: str = ""  # what the case checks, in words (reports, ``obsconf contract explain``)
    sources: tuple[str, ...] = ()  # the contract paths of the items it checks (their ``seed:`` lines are its own)

    @property
    def id(self) -> str:
        return case_id(self.contract, self.section, self.item)


def case_id(contract: Contract, section: str, item: str) -> str:
    """The id of a case (``<contract>-<section>-<item>``): its pytest name and ``-k`` handle."""
    return f"{contract.id}-{section}-{slug(item)}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "all"


def path_of(loc: str) -> str:
    """The contract path in an item's ``loc`` (``persist.yaml:42 spans.operations[2]`` -> ``spans.operations[2]``)."""
    return loc.split(" ", 1)[1] if " " in loc else loc


def with_notes(findings: list[Finding], probe: Probe) -> list[Finding]:
    """Findings, each told about a fallback the collection took (e.g. spans found by service name)."""
    notes = getattr(probe.collected(), "notes", [])
    if not findings or not notes:
        return findings
    suffix = " (note: " + "; ".join(notes) + ")"
    return [replace(f, message=f.message + suffix) for f in findings]


def query_of(probe: Probe, key: str) -> dict[str, str]:
    """The query and link the collection used for ``key`` (``logs``, ``traces``, ``metrics``, ``store``)."""
    got = probe.collected()
    return {"query": got.queries.get(key, ""), "link": got.links.get(key, "")}
