"""One pytest session's live side: the stack, started on first use with only the backends the selected
contracts need, and per contract a target service and the probe that reads what it left in the backends.

The plugin creates one :class:`SessionRuntime` per session and closes it at the end; contract cases and the
``obsconf_stack`` fixture share it, so a session never starts two stacks.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from obsconf.contract.loader import load_contract
from obsconf.contract.model import Contract
from obsconf.errors import ObsconfError, UsageError
from obsconf.settings import Settings


def needed_components(contracts: Iterable[Contract]) -> frozenset[str]:
    """The optional stack components (``pocketbase``, ``s3``) that ``contracts`` use."""
    out: set[str] = set()
    for c in contracts:
        out |= {d.backend for d in c.service.dependencies if d.backend in ("pocketbase", "s3")}  # type: ignore[misc]
        if c.logs is not None and c.logs.store is not None and c.logs.store.kind == "pocketbase":
            out.add("pocketbase")
    return frozenset(out)


class SessionRuntime:
    """The stack, targets and probes of one session; everything it started is stopped by :meth:`close`."""

    def __init__(self, settings: Settings, *, target_url: str | None, target_cmd: str | None, report_dir: Path,
                 progress: Callable[[str], None], load: Any = None, fault_workers: int = 1) -> None:
        self.settings = settings
        self.fault_workers = fault_workers  # fault scenarios on fresh instances run this many at a time
        self.load = load  # obsconf.load.runner.LoadOptions under --obsconf-load locust, else None
        self.target_url = target_url
        self.target_cmd = target_cmd
        self.report_dir = report_dir
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:10]
        self.selected: list[Contract] | None = None  # contracts of the selected cases (None: not known)
        self.selected_kinds: dict[Path, set[str]] | None = None  # contract path -> kinds of its selected cases
        self.selected_ids: set[str] | None = None  # ids of the selected cases (None: not known)
        self._start_lock = threading.Lock()  # fault scenarios start their fresh instances from several threads
        self._contracts: dict[Path, Contract] = {}
        self._stack: Any = None
        self._stack_error: ObsconfError | None = None
        self._probes: dict[Path, Any] = {}
        self._failed: dict[Path, str] = {}
        self._targets: list[Any] = []

    # ---- contracts -------------------------------------------------------------------------------------
    def contract(self, path: Path) -> Contract:
        """The contract at ``path``, loaded and validated once (ContractError names file, line and key)."""
        key = path.resolve()
        if key not in self._contracts:
            self._contracts[key] = load_contract(key)
        return self._contracts[key]

    def wants(self, contract: Contract, kind: str) -> bool:
        """Whether a selected case of ``contract`` has ``kind`` (or one below it); True when not known."""
        if self.selected_kinds is None:
            return True
        got = self.selected_kinds.get(contract.path.resolve(), set())
        return any(k == kind or k.startswith(kind + ".") for k in got)

    def is_selected(self, case_id: str) -> bool:
        """Whether the case ``case_id`` is selected (-k, -m, node ids); True when not known."""
        return self.selected_ids is None or case_id in self.selected_ids

    def select(self, contracts: Sequence[Contract], kinds: dict[Path, set[str]] | None = None,
               ids: set[str] | None = None) -> None:
        unique = list({c.path.resolve(): c for c in contracts}.values())
        if (self.target_url or self.target_cmd) and len(unique) > 1:
            option = "--obsconf-target" if self.target_url else "--obsconf-target-cmd"
            raise UsageError(f"{option} names one service, but cases of {len(unique)} contracts are selected "
                             f"({', '.join(c.name for c in unique)}); select one with --obsconf-contract or -k")
        self.selected = unique
        if kinds is not None:
            self.selected_kinds = {Path(k): set(v) for k, v in kinds.items()}
        if ids is not None:
            self.selected_ids = set(ids)
        if self.load is not None:
            without = [c.name for c in unique if c.load is None]
            if without:
                raise UsageError(f"--obsconf-load locust runs each contract's 'load' section, but {', '.join(without)} "
                                 "has none: add one (load: {locustfile, user_class, accounting}) or select "
                                 "contracts that have one")

    # ---- the stack -------------------------------------------------------------------------------------
    def stack(self) -> Any:
        """The session's stack, started (or attached to, or reached) on first use."""
        if self._stack_error is not None:
            raise self._stack_error
        if self._stack is None:
            from obsconf.stack import start_stack

            needs = None if not self.selected else needed_components(self.selected)
            try:
                self._stack = start_stack(self.settings, progress=self.progress, needs=needs)
            except ObsconfError as exc:
                self._stack_error = type(exc)(f"obsconf could not start the backend stack ({self.settings.stack} "
                                              f"mode):\n{exc}")
                raise self._stack_error from None
            timings = ", ".join(f"{k} {v:.2f}s" for k, v in self._stack.timings.items())
            self.progress(f"stack ({self._stack.mode}) ready" + (f": {timings}" if timings else ""))
        return self._stack

    # ---- targets and probes ----------------------------------------------------------------------------
    def service_dir(self, contract: Contract, suffix: str = "") -> Path:
        """Where a service's stdout, stderr and file sinks go: ``<report dir>/services/<contract id>``."""
        path = self.report_dir / "services" / f"{contract.id}{suffix}"
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_service(self, contract: Contract, *, env: dict[str, str] | None = None, suffix: str = "") -> Any:
        """Start (or reach) the service of ``contract``; the caller stops it (the runtime does at close).
        ``suffix`` names a further instance (its log directory and its Prometheus job end in it)."""
        from obsconf.target import plan_target, probe_url, start_target

        plan = plan_target(contract, target_url=self.target_url, target_cmd=self.target_cmd)
        if plan.how == "url":
            probe_url(plan.url, contract.service.probe_path)  # before any backend starts
        stack = self.stack()
        what = plan.describe() + (f" ({suffix.lstrip('-')})" if suffix else "")
        self.progress(f"{contract.name}: starting {what}" if plan.how != "url" else f"{contract.name}: checking {what}")
        # one start at a time: free ports are picked, and proxies and scrape targets added, while it starts
        with self._start_lock:
            target = start_target(contract, stack, plan, log_dir=self.service_dir(contract, suffix),
                                  run_id=self.run_id, env=env, name_suffix=suffix, registry=self.settings.run_dir)
            self._targets.append(target)
        return target

    def probe(self, contract: Contract) -> Any:
        """The live probe of ``contract``: its target is started on first use; a failure to start is
        remembered, so every case of the contract fails at once with the same message."""
        from obsconf.live.probe import LiveProbe
        from obsconf.readers.jaeger import JaegerReader
        from obsconf.readers.logs import LogReader
        from obsconf.readers.prometheus import PrometheusReader

        key = contract.path.resolve()
        if key in self._failed:
            raise ObsconfError(self._failed[key])
        if key not in self._probes:
            try:
                target = self.start_service(contract)
            except ObsconfError as exc:
                self._failed[key] = f"{contract.name}: could not start or reach the service: {exc}"
                raise ObsconfError(self._failed[key]) from None
            from obsconf.readers._http import log_file_of

            stack = self.stack()
            ends = stack.endpoints
            # a backend that dies mid-run is then named with its log file in the failure
            self._probes[key] = LiveProbe(
                contract, target, runtime=self,
                jaeger=JaegerReader(ends.jaeger_query_url, log_file=log_file_of(stack, "jaeger")),
                logs=LogReader(ends.logs_query_url, ends.logs_dialect, log_file=log_file_of(stack, "logs")),
                prometheus=PrometheusReader(ends.prometheus_url, log_file=log_file_of(stack, "prometheus")),
                pocketbase=stack.pocketbase(), toxiproxy=stack.toxiproxy)
        return self._probes[key]

    def load_results(self) -> list[Any]:
        """Every contract load run this session (for ``reports/load.{json,md}``)."""
        return [probe.load_result for probe in self._probes.values() if probe.load_result is not None]

    def fault_results(self) -> list[Any]:
        """Every fault scenario run this session (for ``reports/faults.{json,md}``)."""
        return [run for probe in self._probes.values() for run in probe.fault_results]

    def close(self) -> None:
        """Stop every target, then the stack (an attached or external stack is left running)."""
        targets, self._targets = self._targets, []
        for target in targets:
            target.stop()
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.stop()
