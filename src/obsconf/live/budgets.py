"""Measure the seeds' overhead budgets (``budgets:`` of a contract) for one target.

- ``log_line_ms``, ``span_ms``, ``metric_update_ms``: micro-benchmarks of the target's own logger, tracer and
  metric registry, in process. Only a target obsconf can load is measured this way: the reference service.
- ``request_overhead_ms``, ``cpu_overhead_percent``, ``memory_baseline_mb``: from the A/B report that
  ``obsconf overhead`` writes (``reports/overhead.json``), read by :func:`ab_figures`; without a report for this
  target, the reference is measured in process (direct ASGI calls of the instrumented app and the same app
  with instrumentation off, in alternating batches; Python allocations of the instrumentation).
- ``metrics_cpu_percent``: the CPU the running service spends per scrape of its metrics path, times one scrape
  per second, in percent of one core; measured on any service obsconf started (it knows the process).

Whatever cannot be measured for a target is an :class:`~obsconf.checks.budgets.Unmeasurable` that says why,
which the budget check reports as a finding: never a pass.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from obsconf.checks.budgets import Measurement, Unmeasurable
from obsconf.contract.kinds import BUDGET_KEYS
from obsconf.contract.model import Contract

MICRO_SAMPLES = 15
SCRAPES = 60  # scrapes of the metrics path whose CPU is measured
AB_SAMPLES = 8  # alternating batch pairs of the in-process A/B
AB_BATCH = 100  # requests per batch


# ---- the A/B report ---------------------------------------------------------------------------------------


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    if len(ordered) < 2:
        return ordered[0], ordered[0], ordered[0]
    q1, q2, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return q2, q1, q3


def ab_figures(doc: Mapping[str, Any], profile: str) -> dict[str, Measurement] | str:
    """The budget figures of an ``obsconf overhead`` report for ``profile``, or why it has none.

    The one adapter between the overhead report and the budgets: it reads only ``config.profile`` and the raw
    ``rounds`` (``pair``, ``variant`` A instrumented / B off, ``cpu_us_per_request``, ``rss_bytes``), which every
    version of the report keeps, and pairs A with B round by round."""
    config = doc.get("config") or {}
    if config.get("profile") != profile:
        return f"the A/B report is of profile {config.get('profile')!r}, not {profile!r}"
    pairs: dict[Any, dict[str, Mapping[str, Any]]] = {}
    for rnd in doc.get("rounds") or []:
        pairs.setdefault(rnd.get("pair"), {})[str(rnd.get("variant"))] = rnd
    both = [(p["A"], p["B"]) for p in pairs.values() if "A" in p and "B" in p]
    both = [(a, b) for a, b in both if float(b.get("cpu_us_per_request") or 0) > 0]
    if not both:
        return "the A/B report has no round pair of A (instrumented) and B (off)"
    rounds = f"{len(both)} A/B round pairs of `obsconf overhead` ({doc.get('created_utc', '?')})"
    diff = [(float(a["cpu_us_per_request"]) - float(b["cpu_us_per_request"])) / 1000.0 for a, b in both]
    pct = [(float(a["cpu_us_per_request"]) / float(b["cpu_us_per_request"]) - 1.0) * 100.0 for a, b in both]
    mem = [(float(a.get("rss_bytes") or 0) - float(b.get("rss_bytes") or 0)) / 2**20 for a, b in both]
    return {
        "request_overhead_ms": Measurement(*_quartiles(diff), how=f"extra CPU per request, {rounds}", samples=len(diff)),
        "cpu_overhead_percent": Measurement(*_quartiles(pct), how=f"A/B - 1 of CPU per request, {rounds}",
                                            samples=len(pct)),
        "memory_baseline_mb": Measurement(*_quartiles(mem), how=f"resident memory A - B, {rounds}", samples=len(mem)),
    }


def read_ab_report(report_dir: Path | None, profile: str) -> dict[str, Measurement] | str:
    """:func:`ab_figures` of ``<report_dir>/overhead.json``, or why there is none."""
    if report_dir is None:
        return "no report directory"
    path = Path(report_dir) / "overhead.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no A/B report at {path}"
    except (OSError, json.JSONDecodeError) as exc:
        return f"{path} is not readable JSON ({exc})"
    return ab_figures(doc, profile)


# ---- in process: the reference service ---------------------------------------------------------------------


class _NullSink:
    def emit(self, line: bytes, record: Any, event: Any) -> None:
        del line, record, event


def _reference_app(contract: Contract, instrumentation: str = "on") -> Any:
    """The reference app of the contract's profile with the contract's env, every sink off."""
    from obsconf.reference.app import create_app
    from obsconf.reference.config import ReferenceConfig

    assert contract.service.profile is not None
    env = {**contract.service.env, "OBSCONF_CONSOLE_LOGS": "off", "OBSCONF_INSTRUMENTATION": instrumentation}
    return create_app(contract.service.profile, ReferenceConfig.from_env(contract.service.profile, env))


def _per_call(op: Callable[[], object], ops: int, samples: int = MICRO_SAMPLES) -> list[float]:
    """Milliseconds of process CPU per call of ``op``, one value per batch of ``ops`` calls."""
    for _ in range(ops):
        op()
    out = []
    for _ in range(samples):
        start = time.process_time_ns()
        for _ in range(ops):
            op()
        out.append((time.process_time_ns() - start) / 1e6 / ops)
    return out


def _measured(values: list[float], how: str) -> Measurement:
    return Measurement(*_quartiles(values), how=how, samples=len(values))


def micro(key: str, contract: Contract) -> Measurement:
    """A micro-benchmark of the reference profile's own telemetry for ``key``."""
    app = _reference_app(contract)
    prof = app.state.profile
    tel = prof.tel
    if key == "log_line_ms":
        tel.logger.add_sink(_NullSink())
        log = tel.logger.bind("obsconf.budget")
        values = _per_call(lambda: log.info("budget probe", key="agent/snapshot_001.json.gz", size_bytes=1234,
                                            duration_ms=3.2), 500)
        return _measured(values, f"{contract.service.profile}'s logger: format, redact, JSON, one line "
                                 f"({MICRO_SAMPLES} batches of 500, process CPU)")
    if key == "span_ms":
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        class _Drop(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        if tel.provider is None:
            raise _NotMeasurable(f"tracing is off in profile {contract.service.profile} with the contract's env")
        tel.provider.add_span_processor(BatchSpanProcessor(_Drop()))
        tracer = tel.tracer

        def span() -> None:
            with tracer.start_as_current_span("budget_probe", attributes={"key": "k-1", "size_bytes": 1234}):
                pass

        try:
            values = _per_call(span, 300)
        finally:
            tel.provider.shutdown()
        return _measured(values, f"{contract.service.profile}'s tracer: span start and end with 2 attributes, "
                                 f"batch export ({MICRO_SAMPLES} batches of 300, process CPU)")
    if key == "metric_update_ms":
        from prometheus_client import Counter, Histogram

        counter = Counter("obsconf_budget_probe_total", "budget probe", ["operation"], registry=tel.registry)
        hist = Histogram("obsconf_budget_probe_seconds", "budget probe", ["operation"], registry=tel.registry)

        def update() -> None:
            counter.labels("put_object").inc()
            hist.labels("put_object").observe(0.0042)

        values = [v / 2 for v in _per_call(update, 1000)]
        return _measured(values, f"a labelled counter increment and histogram observation in "
                                 f"{contract.service.profile}'s registry, per update ({MICRO_SAMPLES} batches of 1000)")
    raise ValueError(key)


class _NotMeasurable(Exception):
    pass


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    from obsconf.overhead.micro import stdout_to_devnull

    with stdout_to_devnull():
        yield


def in_process_ab(contract: Contract) -> dict[str, Measurement]:
    """Per-request CPU of the reference app, instrumented against off, in alternating batches of direct ASGI
    calls of ``GET /api/ok`` (no sockets: the difference is the instrumentation's own CPU)."""
    from obsconf.overhead.micro import bench_app_pair

    with _quiet_stdout():
        on, off, diff = bench_app_pair(_reference_app(contract, "on"), _reference_app(contract, "off"),
                                       str(contract.service.profile), "/api/ok", AB_SAMPLES, AB_BATCH)
    how = (f"in-process A/B of {contract.service.profile} (direct ASGI calls of GET /api/ok, {AB_SAMPLES} "
           f"alternating batch pairs of {AB_BATCH}; no A/B report for this profile)")
    pct = 100.0 * (on.median_us / off.median_us - 1.0) if off.median_us > 0 else float("inf")
    spread = 100.0 * diff.q1_us / off.median_us, 100.0 * diff.q3_us / off.median_us
    return {
        "request_overhead_ms": Measurement(diff.median_us / 1000.0, diff.q1_us / 1000.0, diff.q3_us / 1000.0,
                                           how=f"extra CPU per request, {how}", samples=diff.samples),
        "cpu_overhead_percent": Measurement(pct, min(spread), max(spread), how=f"A/B - 1 of CPU per request, {how}",
                                            samples=diff.samples),
    }


def in_process_memory(contract: Contract) -> Measurement:
    """Python allocations of building and starting the instrumented app, minus the uninstrumented one (MiB)."""
    import tracemalloc

    def allocated(instrumentation: str) -> float:
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            app = _reference_app(contract, instrumentation)
            app.state.profile.tel.start()
            used = tracemalloc.get_traced_memory()[0] - base
            app.state.profile.tel.shutdown(timeout=1.0)
            return used / 2**20
        finally:
            tracemalloc.stop()

    with _quiet_stdout():
        _reference_app(contract)  # imports and first-use caches are not the instrumentation's memory
        values = [allocated("on") - allocated("off") for _ in range(3)]
    return _measured(values, f"Python allocations of {contract.service.profile}'s instrumentation, built and started "
                             "in process (no A/B report for this profile; resident memory needs one)")


# ---- the running service ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def metrics_cpu(target: Any, metrics_path: str) -> Measurement:
    """CPU the service spends per scrape of ``metrics_path``, at one scrape per second, in % of one core."""
    import requests

    pid = target.process.proc.pid
    url = target.base_url + metrics_path
    values = []
    headers = target.auth_headers(metrics_path) if hasattr(target, "auth_headers") else {}
    with requests.Session() as http:
        for _ in range(3):
            start = _cpu_seconds(pid)
            for _ in range(SCRAPES // 3):
                http.get(url, timeout=10, headers=headers)
            values.append((_cpu_seconds(pid) - start) / (SCRAPES // 3) * 100.0)
    return _measured(values, f"process CPU of {SCRAPES} scrapes of {metrics_path} (3 batches; /proc, 10 ms ticks), "
                             "at one scrape per second, in % of one core")


# ---- one budget ----------------------------------------------------------------------------------------------


def measure_budget(key: str, contract: Contract, target: Any, *, report_dir: Path | None = None
                   ) -> Measurement | Unmeasurable:
    """Measure budget ``key`` for ``contract``'s ``target`` (see the module docstring for how)."""
    if key not in BUDGET_KEYS:
        return Unmeasurable(f"obsconf has no measurement for {key!r}")
    reference = getattr(getattr(target, "plan", None), "how", "") == "reference" and contract.service.profile
    profile = contract.service.profile or contract.id
    try:
        if key == "metrics_cpu_percent":
            if getattr(target, "process", None) is None:
                return Unmeasurable("obsconf did not start this service, so it cannot read its CPU time; let obsconf "
                                    "start it (service.command or --obsconf-target-cmd)")
            return metrics_cpu(target, contract.service.metrics_path)
        if key in ("log_line_ms", "span_ms", "metric_update_ms"):
            if not reference:
                return Unmeasurable("single telemetry operations are timed in process, and obsconf can load only the "
                                    "reference service; time them in the service's own micro-benchmarks")
            return micro(key, contract)
        ab = read_ab_report(report_dir, profile)
        if isinstance(ab, dict):
            return ab[key]
        if not reference:
            return Unmeasurable(f"{ab}; run `obsconf overhead --target-cmd ... --out-dir {report_dir or 'reports'}` "
                                "for this service before the conformance suite")
        if key == "memory_baseline_mb":
            return in_process_memory(contract)
        return in_process_ab(contract)[key]
    except _NotMeasurable as exc:
        return Unmeasurable(str(exc))

