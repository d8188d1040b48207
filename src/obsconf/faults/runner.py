"""Run one contract fault scenario against the real service and backends, and collect what happened.

The scenario's workload (the contract's own requests) runs at a steady pace before, during and after the
fault, each request with a fresh W3C traceparent. Every request's telemetry is then counted in each sink the
contract names, by its trace id, against a no-fault baseline of the same request: nothing here depends on a
route of the reference service. The verdict is pure (:mod:`obsconf.faults.verdict`).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from obsconf.checks.metrics import metric_value
from obsconf.contract.model import FaultScenarioSpec, Step
from obsconf.errors import ObsconfError, UsageError
from obsconf.faults.inject import inject
from obsconf.faults.observations import FaultRun, Request, count_sink
from obsconf.live.collect import read_traces
from obsconf.model import LogRecord, get_field
from obsconf.readers.console import console_records
from obsconf.readers.metrics_text import scrape
from obsconf.waiting import poll
from obsconf.workload.run import expand_steps, run_workload

BEFORE_S = 1.0  # steady load before the fault starts


def _label(step: Step) -> str:
    return getattr(step, "name", "") or f"{getattr(step, 'method', 'POST')} {getattr(step, 'path', '')}"


class _Load(threading.Thread):
    """The scenario's workload, one request at a time, every ``pace_s``, until stopped."""

    def __init__(self, base: str, steps: Sequence[Step], pace_s: float, run_id: str, phase: Callable[[], str],
                 sink: list[Request]) -> None:
        super().__init__(name="obsconf-fault-load", daemon=True)
        self.base, self.steps, self.pace_s, self.run_id = base, expand_steps(steps), pace_s, run_id
        self.phase, self.sink = phase, sink
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set() and self.steps:
            step = self.steps[i % len(self.steps)]
            tick = time.monotonic()
            phase = self.phase()
            try:
                ex = run_workload(self.base, [step], variables={"run_id": f"{self.run_id}-{i}"}, timeout=5.0)[0]
                ok, status, trace_id = ex.status in step.expect_status, ex.status, ex.trace_id
            except ObsconfError:
                ok, status, trace_id = False, 0, ""
            self.sink.append(Request(phase, _label(step), ok, status, time.monotonic() - tick, trace_id, tick))
            i += 1
            self._halt.wait(max(0.0, self.pace_s - (time.monotonic() - tick)))

    def stop(self) -> None:
        self._halt.set()
        self.join(15)


class _Sampler(threading.Thread):
    """Scrapes the service's metrics every 0.2 s, keeping each reaction's peak."""

    def __init__(self, url: str, reactions: Sequence[Any]) -> None:
        super().__init__(name="obsconf-fault-metrics", daemon=True)
        self.url, self.reactions = url, reactions
        self.peaks: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            try:
                _, families = scrape(self.url, timeout=2)
            except ObsconfError:
                continue  # a missed sample only lowers the peak seen
            for i, r in enumerate(self.reactions):
                value = metric_value(families, r.name, r.selector)
                if value is not None:
                    self.peaks[i] = max(self.peaks.get(i, value), value)
                    self.last[i] = value

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


class _Sinks:
    """Reads, by trace id, the items the scenario's requests left in each sink."""

    def __init__(self, probe: Any, target: Any, start_ns: int, console_mark: int) -> None:
        self.probe, self.target = probe, target
        self.start_ns, self.console_mark = start_ns, console_mark
        spec = probe.contract.logs
        self.trace_field = spec.correlation.trace_id_field if spec and spec.correlation else "trace_id"

    def items(self, sink: str, trace_ids: set[str]) -> dict[str, list[str]]:
        """trace id -> the raw items (lines, records, span ids) found for it."""
        out: dict[str, list[str]] = {t: [] for t in trace_ids}
        records: list[LogRecord] = []
        field_path = self.trace_field
        contract = self.probe.contract
        if sink == "logs":
            records = self.probe.logs.lines(contract.logs.stream, start_ns=self.start_ns, limit=20000)
        elif sink == "console":
            records = console_records(self.target.stdout_since(self.console_mark))
        elif sink == "store":
            store = contract.logs.store
            field_path = store.trace_id_field or self.trace_field
            rows = self._store_rows(store.collection, field_path, trace_ids)
            records = [LogRecord(0, _record_identity(r), r, {}, "pocketbase") for r in rows]
        elif sink == "spans":
            found = read_traces(self.probe.jaeger, contract.service.name, sorted(trace_ids), timeout=3)
            for tid, spans in found.items():
                out[tid] = [s.span_id for s in spans]
            return out
        for rec in records:
            value = get_field(rec.fields, field_path) if rec.fields else None
            if isinstance(value, str) and value.lower() in out:
                out[value.lower()].append(rec.line)
        return out

    def _store_rows(self, collection: str, field_path: str, trace_ids: set[str]) -> list[dict[str, Any]]:
        """The records that carry one of ``trace_ids``: asked by id, not read whole each poll (instances of
        scenarios side by side write thousands to one collection); the whole collection if it cannot be."""
        pocketbase = self.probe.pocketbase
        if pocketbase is None:
            return []
        try:
            return pocketbase.records_matching(collection, field_path, trace_ids, sort="@rowid")
        except (ValueError, ObsconfError):  # a field PocketBase cannot filter on: read it all, match here
            return pocketbase.records(collection, sort="@rowid")


def _record_identity(row: dict[str, Any]) -> str:
    """A PocketBase record without what PocketBase adds, so a record stored twice shows as the same text."""
    import json

    return json.dumps({k: v for k, v in row.items() if k not in ("id", "created", "updated", "collectionId",
                                                                   "collectionName")}, sort_keys=True)


def _baseline(base: str, steps: Sequence[Step], sinks: _Sinks, names: Sequence[str], run_id: str
              ) -> dict[str, dict[str, int]]:
    """Items each distinct request leaves in each sink with no fault: sink -> label -> count."""
    distinct: dict[str, Step] = {}
    for step in expand_steps(steps):
        distinct.setdefault(_label(step), step)
    traces: dict[str, str] = {}
    for i, (label, step) in enumerate(distinct.items()):
        ex = run_workload(base, [step], variables={"run_id": f"{run_id}-base{i}"})[0]
        if ex.trace_id:
            traces[ex.trace_id] = label
    out: dict[str, dict[str, int]] = {}
    for sink in names:
        got = poll(lambda sink=sink: sinks.items(sink, set(traces)), lambda _: False, timeout=6.0, interval=0.4,
                   progress=lambda found: sum(map(len, found.values())), quiet=1.5)
        out[sink] = {traces[t]: len(items) for t, items in got.items()}
    return out


def run_fault_scenario(spec: FaultScenarioSpec, probe: Any) -> FaultRun:
    """Run ``spec`` on ``probe``'s service (or a fresh instance of it) and return the observations."""
    contract = probe.contract
    run = FaultRun(contract.id, spec.name, spec.fault.dependency, spec.fault.mode, spec.seconds)
    began = time.monotonic()
    target = probe.target
    if spec.fresh_instance:
        if probe.runtime is None or not target.started:
            raise UsageError(f"{spec.loc or spec.name}: this scenario needs a fresh instance of the service (it sets "
                             "env or shuts the service down), which obsconf can start only for a service it starts "
                             "itself; give service.command or --obsconf-target-cmd")
        target = probe.runtime.start_service(contract, env=spec.env, suffix=f"-fault-{spec.name}")
    try:
        _run(spec, probe, target, run)
    finally:
        if target is not probe.target:
            target.stop()
    run.duration_s = round(time.monotonic() - began, 2)
    return run


def run_fault_scenarios(specs: Sequence[FaultScenarioSpec], probe: Any, *, workers: int
                        ) -> dict[str, FaultRun | Exception]:
    """Run scenarios that each start a fresh instance of the service side by side, ``workers`` at a time:
    scenario name -> its observations, or the error that ended it (raised by the scenario's own case).

    They cannot see each other's faults: each has its own instance, its own Toxiproxy proxies and its own
    Prometheus job, and its telemetry is counted by its own trace ids. Most of a scenario is waiting (the
    outage, the drain), so side by side they take about as long as the longest few, not as all of them."""
    from concurrent.futures import ThreadPoolExecutor

    def one(spec: FaultScenarioSpec) -> FaultRun | Exception:
        try:
            return run_fault_scenario(spec, probe)
        except Exception as exc:  # noqa: BLE001 - handed to the scenario's case, which raises it as its failure
            return exc

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="obsconf-fault") as pool:
        return dict(zip((s.name for s in specs), pool.map(one, specs), strict=True))


def _run(spec: FaultScenarioSpec, probe: Any, target: Any, run: FaultRun) -> None:
    dep = _faulted_proxy(spec, probe, target)
    steps = spec.workload or probe.contract.workload
    if not steps:
        raise UsageError(f"{spec.loc or spec.name}: no workload to run during the fault: give the scenario a "
                         "workload, or the contract one")
    ex = spec.expect
    run_id = f"fault-{spec.name}-{int(time.time())}"
    start_ns, console_mark = time.time_ns(), target.stdout_size()
    sinks = _Sinks(probe, target, start_ns, console_mark)
    per_label = _baseline(target.base_url, steps, sinks, ex.delivered, run_id) if ex.delivered else {}
    metrics_url = target.base_url + probe.contract.service.metrics_path
    before = _scrape_quietly(metrics_url)
    sampler = _Sampler(metrics_url, ex.metrics)
    dependent = _drive(spec, probe.toxiproxy, target, dep.proxy, steps, run_id, run, sampler)
    run.dependent_s = [r.seconds for r in dependent if r.phase == "during"] if spec.dependent else []
    _count_sinks(run, sinks, per_label, ex.delivered)
    run.traffic = target.traffic().get(spec.fault.dependency, 0)
    after = _scrape_quietly(metrics_url) if run.shutdown_s is None else {}
    _read_counters(run, spec, before, after, sampler)


def _faulted_proxy(spec: FaultScenarioSpec, probe: Any, target: Any) -> Any:
    """The Toxiproxy proxy in front of the faulted dependency; a UsageError when the service has none."""
    dep = target.proxies.get(spec.fault.dependency)
    if dep is None or probe.toxiproxy is None:
        raise UsageError(
            f"{spec.loc or spec.name}: the fault on {spec.fault.dependency!r} needs the service's traffic to go through "
            f"a Toxiproxy proxy, which obsconf sets up only for a service it starts ({target.plan.describe()} was "
            "not); give service.command or --obsconf-target-cmd")
    return dep


def _drive(spec: FaultScenarioSpec, toxiproxy: Any, target: Any, proxy: Any, steps: Sequence[Step], run_id: str,
           run: FaultRun, sampler: _Sampler) -> list[Request]:
    """The load before, during and after the fault (and SIGTERM in it, when the scenario says so); every
    request labelled with its phase. Returns the requests of the scenario's ``dependent`` load."""
    ex = spec.expect
    state = {"phase": "before"}
    load = _Load(target.base_url, steps, spec.pace_ms / 1000, run_id, lambda: state["phase"], run.requests)
    dependent = _Load(target.base_url, spec.dependent, 0.0, f"{run_id}-dep", lambda: state["phase"], [])
    threads = [load, sampler] + ([dependent] if spec.dependent else [])
    for t in threads:
        t.start()
    try:
        time.sleep(BEFORE_S)
        state["phase"] = "during"
        fault_began = time.monotonic()
        with inject(toxiproxy, proxy, spec.fault.mode, spec.fault.attributes):
            if ex.shutdown_within_s is not None:
                time.sleep(spec.seconds / 2)
                load.stop()
                run.shutdown_s, run.exited_by_itself = _terminate(target, ex.shutdown_within_s + 5.0)
            else:
                time.sleep(max(0.0, spec.seconds - (time.monotonic() - fault_began)))
        state["phase"] = "after"
        ended = time.monotonic()
        if ex.shutdown_within_s is None and ex.recovers_within_s is not None:
            run.recovered_after_s = _wait_recovered(run.requests, ended, ex.recovers_within_s)
    finally:
        for t in threads:
            t.stop()
    # a request belongs to the fault if it was in flight at any time during it: one stuck for the whole
    # fault (started just before) is the clearest sign the fault reached request handling
    for r in [*run.requests, *dependent.sink]:
        r.phase = "before" if r.at + r.seconds < fault_began else ("after" if r.at > ended else "during")
    return dependent.sink


def _count_sinks(run: FaultRun, sinks: _Sinks, per_label: dict[str, dict[str, int]], delivered: Sequence[str]
                 ) -> None:
    """Each sink of ``expect.delivered``: the items of the requests answered, read until complete or settled."""
    answered = [r for r in run.requests if r.ok and r.trace_id]
    wanted = {r.trace_id for r in answered}
    for sink in delivered:
        labels = per_label.get(sink, {})

        def complete(found: dict[str, list[str]], labels: dict[str, int] = labels) -> bool:
            by_id = {r.trace_id: r.label for r in answered}
            return all(len(set(v)) >= labels.get(by_id[t], 0) for t, v in found.items())

        found = poll(lambda sink=sink: sinks.items(sink, wanted), complete, timeout=15.0, interval=0.5,
                     progress=lambda f: sum(map(len, f.values())), quiet=3.0)
        run.sinks.append(count_sink(sink, answered, found, labels))


def _read_counters(run: FaultRun, spec: FaultScenarioSpec, before: dict[str, Any], after: dict[str, Any],
                   sampler: _Sampler) -> None:
    """What the service counted: dropped and duplicated items, and each metric reaction's before/peak/after."""
    ex = spec.expect
    if ex.dropped_metric:
        run.dropped_counted = _delta(before, after, ex.dropped_metric, ex.dropped_selector)
    if ex.duplicates_metric:
        run.duplicates_counted = _delta(before, after, ex.duplicates_metric, ex.duplicates_selector)
    for i, r in enumerate(ex.metrics):
        final = metric_value(after["families"], r.name, r.selector) if after else sampler.last.get(i)
        run.metrics.append({"name": r.name, "selector": r.selector,
                            "before": metric_value(before.get("families", []), r.name, r.selector),
                            "peak": sampler.peaks.get(i), "after": final})


def _scrape_quietly(url: str) -> dict[str, Any]:
    try:
        return {"families": scrape(url)[1]}
    except ObsconfError:
        return {}


def _delta(before: dict[str, Any], after: dict[str, Any], name: str, selector: dict[str, str]) -> float | None:
    a = metric_value(after.get("families", []), name, selector)
    if a is None:
        return None
    return a - (metric_value(before.get("families", []), name, selector) or 0.0)


def _wait_recovered(requests: list[Request], since: float, within_s: float) -> float | None:
    """Seconds from the end of the fault to the first request of an unbroken run of three answered as
    expected; None when that did not happen within ``within_s``."""
    return poll(lambda: _recovered_after(requests, since), lambda after_s: after_s is not None,
                timeout=max(0.0, since + within_s - time.monotonic()), interval=0.1)


def _recovered_after(requests: list[Request], since: float) -> float | None:
    after = [r for r in requests if r.at >= since]
    last_bad = max((i for i, r in enumerate(after) if not r.ok), default=-1)
    good = after[last_bad + 1:]
    return round(good[0].at - since, 2) if len(good) >= 3 else None


def _terminate(target: Any, wait_s: float) -> tuple[float, bool]:
    """SIGTERM the service and time its exit: (seconds, exited by itself)."""
    proc = target.process.proc
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=wait_s)
        return round(time.monotonic() - began, 2), True
    except subprocess.TimeoutExpired:
        return round(time.monotonic() - began, 2), False
