"""The network side of drafting: start the stack and the service (or reach them), run the workload with the
suite's own collector, and read what arrived, including what the suite does not read by default.

Everything obsconf started here is stopped before :func:`observe` returns or raises.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from obsconf.contract.model import RequestStep
from obsconf.draft.logs import TRACE_FIELD_HINTS
from obsconf.draft.observation import DraftRequest, Observation
from obsconf.errors import BackendMissing, TargetUnreachable, UsageError
from obsconf.live.collect import Collected, collect, logged_trace_ids, read_traces
from obsconf.model import LogRecord
from obsconf.readers.console import console_records
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.settings import Settings
from obsconf.waiting import poll

STORE_WAIT_S = 10.0
HEALTH_CALLS = 3


def _check_metrics(url: str) -> None:
    try:
        status = requests.get(url, timeout=10).status_code
    except requests.RequestException as exc:
        raise TargetUnreachable(f"GET {url} failed ({type(exc).__name__}); the service must answer there") from None
    if status != 200:
        raise UsageError(f"GET {url} answered {status}: every obsconf run scrapes the service's metrics there; "
                         "give the path it serves them on with --metrics-path PATH")


def read_store(reader: LogReader, name: str, since_ns: int) -> list[LogRecord]:
    """Every line the log store holds since ``since_ns`` (all streams: which labels select the service is
    found from the lines themselves), waiting until the count stops growing."""
    query = "*" if reader.dialect == "logsql" else selector({"service_name": name}, None, "logql")

    def fetch() -> list[LogRecord]:
        return reader.query_range(query, since_ns, time.time_ns() + 5_000_000_000)

    return list(poll(fetch, lambda _: False, timeout=STORE_WAIT_S, progress=len))


def _extra_traces(got: Collected, jaeger: JaegerReader, lines: list[LogRecord]) -> None:
    """Read the traces that log lines name beyond the requests' own, as the correlation case will."""
    named: set[str] = set()
    for field_name in TRACE_FIELD_HINTS:
        named |= logged_trace_ids(lines, field_name)
    extra = sorted(named - got.traces.keys())[:50]
    if extra:
        got.traces.update(read_traces(jaeger, got.contract.service.name, extra, timeout=5.0))


def observe(req: DraftRequest, settings: Settings, *, progress: Callable[[str], None]) -> Observation:
    """Run ``req``'s workload against the service on the real stack and read back everything that arrived."""
    from obsconf.checks.promtool import promtool_check_metrics
    from obsconf.session.runtime import needed_components
    from obsconf.stack import resolve_mode, start_stack
    from obsconf.target import TargetPlan, probe_url, start_target
    from obsconf.workload.run import run_workload

    contract = req.launch_contract()
    if req.url:
        mode, _ = resolve_mode(settings.stack, settings)
        if mode not in ("attach", "external"):
            raise UsageError(f"--target {req.url} is a service obsconf did not start, so it sends its telemetry to a "
                             "stack of yours: start one with `obsconf stack up`, start the service with the variables "
                             f"of `obsconf stack env --service {req.name}`, then draft with --stack attach (or let "
                             "obsconf start the service: --target-cmd 'CMD {port}')")
        probe_url(req.url, contract.service.probe_path)
    stack = start_stack(settings, progress=progress, needs=needed_components([contract]))
    log_dir = Path(tempfile.mkdtemp(prefix="obsconf-draft-"))
    target = None
    run_id = uuid.uuid4().hex[:10]
    try:
        plan = TargetPlan("url", url=req.url.rstrip("/")) if req.url else TargetPlan("command", argv=req.command,
                                                                                       cwd=req.cwd)
        progress(f"starting {plan.describe()}" if not req.url else f"checking {plan.describe()}")
        began_ns = time.time_ns()
        target = start_target(contract, stack, plan, log_dir=log_dir, run_id=run_id, registry=settings.run_dir)
        _check_metrics(target.base_url + req.metrics_path)
        e = stack.endpoints
        jaeger = JaegerReader(e.jaeger_query_url)
        logs = LogReader(e.logs_query_url, e.logs_dialect)
        progress(f"running the workload ({sum(getattr(s, 'repeat', 1) for s in req.steps)} requests) and reading "
                 "Jaeger, /metrics and stdout")
        got = collect(contract, target, jaeger=jaeger, logs=logs, pocketbase=None, run_id=run_id)
        progress("reading the log store")
        store = read_store(logs, req.name, began_ns if target.started else got.started_ns)
        console = console_records(target.stdout_since(0)) if target.stdout_path is not None else []
        _extra_traces(got, jaeger, store + console)
        health = {}
        for path in req.health_paths:
            health[path] = run_workload(target.base_url, [RequestStep("GET", path, repeat=HEALTH_CALLS,
                                                                      expect_status=())])
        try:
            promtool = promtool_check_metrics(got.metrics_text)
        except BackendMissing:
            promtool = None
        return Observation(request=req, collected=got, store_lines=store, console_lines=console, health=health,
                           promtool=promtool, port=urlsplit(target.base_url).port or 0, stack_mode=stack.mode,
                           when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    finally:
        if target is not None:
            target.stop()
        stack.stop()
        shutil.rmtree(log_dir, ignore_errors=True)
