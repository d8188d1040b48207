"""Load contract files: YAML -> JSON Schema validation -> semantic checks -> frozen dataclasses.

Any problem is one :class:`~obsconf.errors.ContractError` naming ``file:line``, the path inside the file
(``spans.operations[2].attributes.size_bytes``) and what is wrong, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from jsonschema import Draft202012Validator

from obsconf.contract.document import Doc, PathT, format_path, type_name
from obsconf.contract.model import (
    Budgets,
    Contract,
    DashboardSpec,
    SkipSpec,
    SloSpec,
    Step,
)
from obsconf.contract.parts import semconv, spec_from, steps
from obsconf.contract.schema import CONTRACT_SCHEMA
from obsconf.contract.schema_errors import explain, first_error
from obsconf.contract.sections_behaviour import alerts_section, fault_scenarios, health_specs, retry_specs
from obsconf.contract.sections_load import load_section
from obsconf.contract.sections_service import service_section
from obsconf.contract.sections_telemetry import logs_section, metric_families, spans_section
from obsconf.contract.seedtrace import item_traces
from obsconf.errors import ContractError

__all__ = ["ENV_CONTRACTS_DIR", "PathT", "contracts_dir", "default_contract_paths", "format_path", "load_contract",
           "load_contracts", "load_steps"]

#: Env var naming a directory of contracts to use instead of the shipped ones.
ENV_CONTRACTS_DIR = "OBSCONF_CONTRACTS_DIR"


def _build(doc: Doc) -> Contract:
    data = doc.data
    service = service_section(doc, data["service"])
    dependencies, listeners = service.dependencies, service.listeners
    slos = tuple(spec_from(SloSpec, s, target=float(s["target"]), loc=doc.loc(("slos", i)))
                 for i, s in enumerate(data.get("slos", [])))
    budgets = None
    if "budgets" in data:
        stated = {k: v for k, v in data["budgets"].items() if k not in ("seed", "convention")}
        if not stated:
            raise doc.error(("budgets",), "no budget given: name at least one of the seed's budgets")
        budgets = Budgets(**stated, loc=doc.loc(("budgets",)))
    # metrics: a list of families, or {semconv?, families?}
    raw_metrics = data.get("metrics")
    metrics_semconv = None
    if isinstance(raw_metrics, dict):
        metrics = metric_families(doc, raw_metrics.get("families", []), ("metrics", "families"))
        metrics_semconv = semconv(doc, raw_metrics.get("semconv"), ("metrics", "semconv"))
    else:
        metrics = metric_families(doc, raw_metrics or [])
        if raw_metrics is not None:
            metrics_semconv = semconv(doc, None, ("metrics", "semconv"))
    skip = tuple(spec_from(SkipSpec, s, loc=doc.loc(("skip", i))) for i, s in enumerate(data.get("skip", [])))
    dashboards = tuple(spec_from(DashboardSpec, x, loc=doc.loc(("dashboards", i)))
                       for i, x in enumerate(data.get("dashboards", [])))
    trace, untested = item_traces(doc, str(data.get("seed") or ""))
    return Contract(
        path=doc.file,
        seed=data.get("seed"),
        service=service,
        workload=steps(doc, data.get("workload", []), ("workload",)),
        logs=logs_section(doc, data["logs"], service.name) if "logs" in data else None,
        spans=spans_section(doc, data["spans"]) if "spans" in data else None,
        metrics=metrics,
        metrics_semconv=metrics_semconv,
        retries=retry_specs(doc, data.get("retries", []), dependencies),
        health=health_specs(doc, data.get("health", []), listeners),
        alerts=alerts_section(doc, data["alerts"], dependencies) if "alerts" in data else None,
        slos=slos,
        budgets=budgets,
        faults=fault_scenarios(doc, data.get("faults", []), dependencies),
        skip=skip,
        dashboards=dashboards,
        untested=untested,
        trace=trace,
        load=load_section(doc, data["load"], "spans" in data, service.metrics_path, "logs" in data) if "load" in data else None,
    )


def load_contract(path: str | os.PathLike[str]) -> Contract:
    """Read, validate and return one contract; raise ContractError naming file:line, path and problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(str(file), "", f"cannot read the contract: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ContractError(str(file), "", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    doc = Doc(file, text)
    if not isinstance(doc.data, dict):
        raise doc.error((), f"a contract is a mapping of sections, got {type_name(doc.data)}")
    error = first_error(doc)
    if error is not None:
        raise error
    return _build(doc)


def load_contracts(paths: Sequence[str | os.PathLike[str]]) -> list[Contract]:
    """Load several contracts; the first malformed one raises. Two contracts for one service are refused."""
    contracts = [load_contract(p) for p in paths]
    by_name: dict[str, Path] = {}
    for c in contracts:
        if c.service.name in by_name:
            raise ContractError(
                str(c.path), "service.name", f"service {c.service.name!r} is already described by {by_name[c.service.name]}"
            )
        by_name[c.service.name] = c.path
    return contracts


def contracts_dir() -> Path:
    """Directory of the shipped contracts (``fixtures/contracts``), or ``$OBSCONF_CONTRACTS_DIR``."""
    override = os.environ.get(ENV_CONTRACTS_DIR)
    if override:
        return Path(override)
    # src/obsconf/contract/loader.py -> repository root
    return Path(__file__).resolve().parents[3] / "fixtures" / "contracts"


def default_contract_paths() -> list[Path]:
    """The contract files shipped with obsconf, one per seed, sorted by name."""
    directory = contracts_dir()
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ContractError(
            str(directory), "", f"no *.yaml contracts found; set {ENV_CONTRACTS_DIR} to a directory that has them"
        )
    return paths


def load_steps(path: str | os.PathLike[str]) -> tuple[Step, ...]:
    """Workload steps from a YAML file: a list of steps in the contract's ``workload:`` format, or a mapping
    with a ``workload`` list (a contract). Errors name ``file:line``, the path and the problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(str(file), "", f"cannot read the steps file: {exc.strerror or exc}") from None
    doc = Doc(file, text)
    base: PathT = ()
    items = doc.data
    if isinstance(items, dict) and "workload" in items:
        base, items = ("workload",), items["workload"]
    if not isinstance(items, list):
        raise doc.error(base, "a steps file is a list of workload steps ({name?, request: {method, path, ...}}), "
                              f"or a mapping with a 'workload' list; got {type_name(items)}")
    errors = list(Draft202012Validator(CONTRACT_SCHEMA["properties"]["workload"]).iter_errors(items))
    if errors:
        errors.sort(key=lambda e: (doc.line(base + tuple(e.absolute_path)) or 0, -len(e.absolute_path)))
        sub, problem = explain(errors[0])
        raise doc.error(base + sub, problem)
    if not items:
        raise doc.error(base, "the steps file has no step")
    return steps(doc, items, base)
