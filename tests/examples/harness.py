"""A hand-made conformance run of the examples, until the plugin checks a user's service (issue 11).

It does by hand what `pytest --obsconf-contract examples/<name>/contract.yaml` will do: start the example
with the standard variables (OTEL_*, LOKI_*, AWS_*) pointing at a real stack and its dependencies behind
Toxiproxy, drive the contract's workload with a fresh W3C ``traceparent`` per request, read Jaeger, the
log store (or the service's stdout), /metrics and Prometheus, and run the contract's cases from
:func:`obsconf.suite.build_cases` - the same pure checks the suite runs.

Two shims stand in for what the plugin will do, and go with this module:
- the contract is loaded by today's loader from a copy without the issue-11 keys (``service.command``,
  ``dependencies``, ``logs.source``/``stream``, ``retries[].fault.dependency``, ``faults``); this module
  reads those keys from the YAML itself;
- the trace id each request was sent with is recorded as the exchange's ``x-trace-id`` header, which is
  where today's collector and sampling check look for it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from obsconf.collect import Collected, read_logs, read_traces
from obsconf.contract.loader import load_contract
from obsconf.contract.model import Contract, MetricSpec, RequestStep, RetrySpec, Step
from obsconf.model import Finding, HttpExchange, LogRecord, MetricFamily, Series
from obsconf.ports import LOOPBACK, free_port
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.prometheus import PrometheusReader
from obsconf.settings import Settings
from obsconf.stack import Stack
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import NotReadyYet
from obsconf.stack.toxiproxy import Proxy
from obsconf.suite import RetryRun, build_cases, slug
from obsconf.workload import run_workload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LOKI_PUSH_PATH = "/loki/api/v1/push"

# Toxiproxy toxics for the fault modes of CONTRACT11 (``down`` disables the proxy instead).
TOXICS: dict[str, tuple[str, dict[str, Any]]] = {
    "reset_peer": ("reset_peer", {"timeout": 0}),
    "timeout": ("timeout", {"timeout": 500}),
    "latency": ("latency", {"latency": 1000, "jitter": 0}),
    "slow_close": ("slow_close", {"delay": 1000}),
    "hang": ("timeout", {"timeout": 0}),
}


# ---------------------------------------------------------------------------------------------- contract


@dataclass(frozen=True)
class Example:
    """One example: its contract as written (``raw``) and as today's loader reads it (``contract``)."""

    name: str
    path: Path
    raw: dict[str, Any]
    contract: Contract
    fault_steps: dict[str, tuple[tuple[Step, ...], tuple[Step, ...]]]  # scenario -> (workload, dependent)

    @property
    def id(self) -> str:
        """Prefix of the case ids: the service name (the file is called contract.yaml)."""
        return str(self.raw["service"]["name"])

    @property
    def service(self) -> dict[str, Any]:
        return dict(self.raw["service"])

    @property
    def argv(self) -> list[str]:
        command = self.service["command"]
        return shlex.split(command) if isinstance(command, str) else list(command)

    @property
    def cwd(self) -> Path:
        return (self.path.parent / self.service.get("cwd", ".")).resolve()

    @property
    def ready_path(self) -> str:
        return str(self.service.get("ready_path") or self.service.get("metrics_path", "/metrics"))

    @property
    def dependencies(self) -> list[dict[str, str]]:
        return list(self.service.get("dependencies", []))

    @property
    def log_source(self) -> str:
        return str(self.raw.get("logs", {}).get("source", "loki"))

    @property
    def stream(self) -> dict[str, str]:
        return dict(self.raw.get("logs", {}).get("stream") or {"service_name": self.id})

    def retry_fault(self, operation: str) -> dict[str, Any] | None:
        for item in self.raw.get("retries", []):
            if item["operation"] == operation:
                return item.get("fault")
        return None

    @property
    def faults(self) -> list[dict[str, Any]]:
        return list(self.raw.get("faults", []))


def _for_todays_loader(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy without the keys that today's loader does not know yet (see the module doc)."""
    d = json.loads(json.dumps(raw))
    d.setdefault("seed", "none (a user's service)")
    svc = d["service"]
    for key in ("command", "cwd", "ready_path", "ready_timeout", "dependencies", "slo_path"):
        svc.pop(key, None)
    svc["profile"] = "persist"  # required by today's schema; never used here (nothing reference is started)
    svc["env"] = {k: str(v) for k, v in svc.get("env", {}).items()}
    for key in ("source", "stream"):
        d.get("logs", {}).pop(key, None)
    d.get("spans", {}).pop("response_header", None)
    for item in d.get("retries", []):
        item.pop("fault", None)
    d.pop("faults", None)
    return d


def _load_copy(raw: dict[str, Any], path: Path) -> Contract:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_contract(path)


def load_example(name: str, scratch: Path) -> Example:
    path = EXAMPLES / name / "contract.yaml"
    raw = yaml.safe_load(path.read_text())
    contract = _load_copy(_for_todays_loader(raw), scratch / f"{name}.contract.yaml")
    fault_steps = {}
    for f in raw.get("faults", []):
        # a scenario's steps, parsed (and validated) by today's loader as the workload of a small contract
        parsed = []
        for part in ("workload", "dependent"):
            side = {"version": 1, "seed": "none", "service": {"name": "x", "profile": "persist"},
                    "workload": f.get(part, [])}
            parsed.append(_load_copy(side, scratch / f"{name}.{f['name']}.{part}.yaml").workload)
        fault_steps[f["name"]] = (parsed[0], parsed[1])
    return Example(name, path, raw, contract, fault_steps)


# ---------------------------------------------------------------------------------------------- service


def service_env(stack: Stack, example: Example, proxies: dict[str, Proxy], run_id: str) -> dict[str, str]:
    """The variables of CONTRACT11 for a service obsconf starts, then the dependency and contract ones."""
    e = stack.endpoints
    name = example.id
    otlp = e.otlp_http_url.rstrip("/")
    push = e.logs_push_url
    env = {
        "OTEL_SERVICE_NAME": name,
        "OTEL_RESOURCE_ATTRIBUTES": f"service.name={name},obsconf.run_id={run_id}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp}/v1/traces",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "1.0",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "LOKI_URL": push.removesuffix(LOKI_PUSH_PATH),
        "LOKI_PUSH_URL": push,
    }
    for dep in example.dependencies:
        proxy = proxies[dep["name"]]
        env[dep["env"]] = f"http://{proxy.listen}"
        if dep["upstream"] == "s3":
            env.update({"AWS_ACCESS_KEY_ID": e.s3_access_key, "AWS_SECRET_ACCESS_KEY": e.s3_secret_key,
                        "AWS_REGION": "us-east-1"})
    env.update({k: str(v) for k, v in example.service.get("env", {}).items()})
    return env


def _upstream(dep: dict[str, str], stack: Stack) -> str:
    e = stack.endpoints
    url = {"s3": e.s3_url, "pocketbase": e.pocketbase_url, "logs": e.logs_push_url, "otlp": e.otlp_http_url}.get(
        dep["upstream"], dep["upstream"])
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def _answers(url: str) -> Any:
    def probe() -> None:
        resp = requests.get(url, timeout=2)
        if resp.status_code >= 500:
            raise NotReadyYet(f"GET {url} -> {resp.status_code}")
    return probe


@dataclass
class Running:
    """A started example: its URL, process, proxies and console output."""

    example: Example
    base_url: str
    process: ManagedProcess
    proxies: dict[str, Proxy]
    stdout: Path
    stderr: Path

    def stdout_size(self) -> int:
        return self.stdout.stat().st_size if self.stdout.exists() else 0

    def stdout_since(self, offset: int) -> list[str]:
        with open(self.stdout, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace").splitlines()

    @property
    def address(self) -> str:
        return self.base_url.removeprefix("http://")


@contextmanager
def running_example(example: Example, stack: Stack, log_dir: Path, *,
                    env: dict[str, str] | None = None) -> Iterator[Running]:
    """Start the example as its contract says (command, cwd, ready_path, dependencies behind Toxiproxy),
    have Prometheus scrape it, and stop it (SIGTERM) at the end. The exit code is left in ``process.proc``."""
    client = stack.toxiproxy
    assert client is not None, "the examples need Toxiproxy in the stack"
    proxies: dict[str, Proxy] = {}
    process: ManagedProcess | None = None
    try:
        existing = client.proxies()
        for dep in example.dependencies:
            name = f"example-{example.id}-{dep['name']}"
            if name in existing:
                client.delete_proxy(name)
            proxies[dep["name"]] = client.create_proxy(name, _upstream(dep, stack))
        child = dict(os.environ)
        # `python` in a contract's command is the interpreter running the tests, as in an activated venv
        child["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), child.get("PATH", "")])
        child.update(service_env(stack, example, proxies, uuid.uuid4().hex[:10]))
        child.update(env or {})
        port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        base = f"http://{LOOPBACK}:{port}"
        argv = [a.replace("{port}", str(port)) for a in example.argv]
        # stdout is the console log sink, so stderr goes to a file of its own (exec keeps the process group)
        redirect = ["sh", "-c", 'exec "$@" 2>>"$0"', str(log_dir / "stderr.log")]
        process = ManagedProcess(
            f"example {example.name}", redirect + argv, log_path=log_dir / "stdout.log",
            probe=_answers(base + example.ready_path), ready_timeout=float(example.service.get("ready_timeout", 30)),
            env=child, cwd=example.cwd, registry=Settings.from_env().run_dir,
        ).start()
        stack.add_scrape_target(example.id, f"{LOOPBACK}:{port}", example.contract.service.metrics_path)
        yield Running(example, base, process, proxies, log_dir / "stdout.log", log_dir / "stderr.log")
    finally:
        if process is not None:
            process.stop(timeout=10)
        for proxy in proxies.values():
            client.delete_proxy(proxy.name)


# ---------------------------------------------------------------------------------------------- workload


class TraceparentSession(requests.Session):
    """Sends a fresh sampled W3C ``traceparent`` with every request and records its trace id on the
    response as ``x-trace-id`` (where today's collector looks for it; see the module doc)."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        trace_id = secrets.token_hex(16)
        headers = dict(kwargs.pop("headers", None) or {})
        headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        response = super().request(method, url, *args, headers=headers, **kwargs)
        response.headers["x-trace-id"] = trace_id
        return response


def trace_ids(exchanges: Sequence[HttpExchange]) -> list[str]:
    return [v for ex in exchanges for k, v in ex.headers.items() if k.lower() == "x-trace-id"]


def drive(running: Running, workload: Sequence[Step], run_id: str) -> list[HttpExchange]:
    with TraceparentSession() as session:
        return run_workload(running.base_url, workload, session, variables={"run_id": run_id})


# ---------------------------------------------------------------------------------------------- readers

_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


def _timestamp_ns(value: Any) -> int:
    """RFC 3339 text (any number of fraction digits) -> ns since the epoch; 0 when absent or malformed."""
    m = _TS.match(value) if isinstance(value, str) else None
    if not m:
        return 0
    date, clock, frac, zone = m.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    seconds = datetime.fromisoformat(f"{date}T{clock}{zone}").astimezone(UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


def console_records(lines: Sequence[str], timestamp_field: str = "timestamp") -> list[LogRecord]:
    """The service's stdout lines as log records (fields = the parsed JSON object, {} when not JSON)."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except ValueError:
            fields = {}
        fields = fields if isinstance(fields, dict) else {}
        out.append(LogRecord(_timestamp_ns(fields.get(timestamp_field)), line, fields, {}, source="stdout"))
    return out


def read_console(running: Running, offset: int, wanted: Sequence[str], *, timeout: float = 8.0) -> list[LogRecord]:
    """stdout lines written since ``offset``, waiting until each wanted trace id appeared or the output
    stopped growing for a second (a buffered or silent service then gets what it wrote)."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        records = console_records(running.stdout_since(offset))
        seen = {str(r.fields.get("trace_id", "")) for r in records}
        now = time.monotonic()
        if set(wanted) <= seen or now >= deadline:
            return records
        if len(records) != last:
            last, since = len(records), now
        elif now - since >= 1.0:
            return records
        time.sleep(0.2)


class Readers:
    def __init__(self, stack: Stack) -> None:
        e = stack.endpoints
        self.jaeger = JaegerReader(e.jaeger_query_url)
        self.logs = LogReader(e.logs_query_url, e.logs_dialect)
        self.prometheus = PrometheusReader(e.prometheus_url)


def read_log_lines(running: Running, readers: Readers, *, since_ns: int, offset: int,
                   wanted: Sequence[str]) -> tuple[list[LogRecord], str]:
    """The example's log lines from where its contract says (loki, console or both) and the query."""
    source = running.example.log_source
    records: list[LogRecord] = []
    queries = []
    if source in ("loki", "both"):
        stream = running.example.stream
        records += read_logs(readers.logs, stream, since_ns, list(wanted), timeout=15)
        queries.append(selector(stream, None, readers.logs.dialect))
    if source in ("console", "both"):
        records += read_console(running, offset, wanted)
        queries.append(f"stdout of the service ({running.stdout})")
    return records, " + ".join(queries)


# ---------------------------------------------------------------------------------------------- probe


class SmokeProbe:
    """The :class:`obsconf.suite.Probe` of one running example."""

    def __init__(self, running: Running, stack: Stack, readers: Readers) -> None:
        self.running = running
        self.example = running.example
        self.stack = stack
        self.readers = readers
        self._collected: Collected | None = None
        self._retries: dict[str, RetryRun] = {}

    @property
    def metrics_url(self) -> str:
        return self.running.base_url + self.example.contract.service.metrics_path

    def collected(self) -> Collected:
        if self._collected is None:
            self._collected = self._collect()
        return self._collected

    def _collect(self) -> Collected:
        c = self.example.contract
        run_id = uuid.uuid4().hex[:10]
        got = Collected(contract=c, base_url=self.running.base_url, run_id=run_id, started_ns=time.time_ns())
        offset = self.running.stdout_size()
        _, got.metrics_before = scrape(self.metrics_url)
        got.exchanges = drive(self.running, c.workload, run_id)
        ids = trace_ids(got.exchanges)
        got.traces = read_traces(self.readers.jaeger, c.service.name, ids, timeout=15)
        got.queries["traces"] = f"GET {self.readers.jaeger.url}/api/traces/<id> for each traceparent sent"
        got.links["traces"] = self.readers.jaeger.search_link(c.service.name)
        got.logs, got.queries["logs"] = read_log_lines(self.running, self.readers, since_ns=got.started_ns,
                                                       offset=offset, wanted=ids)
        got.metrics_text, got.metrics_after = scrape(self.metrics_url)
        got.queries["metrics"] = f"GET {self.metrics_url}"
        return got

    def trace_url(self) -> str:
        return self.readers.jaeger.trace_link("{trace_id}")

    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]:
        self.collected()
        job = self.example.id
        self.readers.prometheus.wait_for_target_up(job, timeout=15)
        name = f"{spec.name}_count" if spec.type in ("histogram", "summary") else spec.name
        query = f'{name}{{job="{job}"}}'
        return self.readers.prometheus.wait_for(query, timeout=8), query, self.readers.prometheus.graph_link(query)

    def retry(self, spec: RetrySpec) -> RetryRun:
        if spec.operation not in self._retries:
            self._retries[spec.operation] = self._run_fault(spec)
        return self._retries[spec.operation]

    def _run_fault(self, spec: RetrySpec) -> RetryRun:
        self.collected()
        fault = self.example.retry_fault(spec.operation)
        _, before = scrape(self.metrics_url)
        started, offset = time.time_ns(), self.running.stdout_size()
        run_id = f"r{started}"
        if fault is None:
            exchanges = drive(self.running, spec.workload, run_id)
        else:
            with inject(self.stack, self.running, fault["dependency"], fault["mode"], fault.get("attributes", {})):
                exchanges = drive(self.running, spec.workload, run_id)
        ids = trace_ids(exchanges)
        spans = [s for t in read_traces(self.readers.jaeger, self.example.id, ids, timeout=10).values() for s in t]
        logs, query = read_log_lines(self.running, self.readers, since_ns=started, offset=offset, wanted=ids)
        _, after = scrape(self.metrics_url)
        return RetryRun(exchanges, spans, logs, before, after, query=f"{query} since the fault",
                        trace_url=self.trace_url())

    def health(self) -> list[HttpExchange]:
        raise NotImplementedError("the examples' contracts have no health section")

    def slo_report(self) -> tuple[Any, str]:
        raise NotImplementedError("the examples' contracts have no slos section")

    def rules_text(self) -> str:
        raise NotImplementedError("the examples' contracts have no alerts section")


@contextmanager
def inject(stack: Stack, running: Running, dependency: str, mode: str, attributes: dict[str, Any]) -> Iterator[None]:
    """A fault on one dependency's proxy for the duration of a ``with`` block."""
    client = stack.toxiproxy
    assert client is not None
    proxy = running.proxies[dependency]
    if mode == "down":
        with client.outage(proxy.name):
            yield
        return
    kind, defaults = TOXICS[mode]
    with client.toxic(proxy.name, kind, {**defaults, **attributes}):
        yield


# ---------------------------------------------------------------------------------------------- cases


@dataclass
class CaseResult:
    id: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.findings

    def render(self) -> str:
        return f"{self.id}:\n" + "\n".join(f.render() for f in self.findings)


def run_cases(probe: SmokeProbe) -> list[CaseResult]:
    """Every case of the contract, run the way the conformance suite runs it."""
    results = []
    for case in build_cases(probe.example.contract):
        case_id = f"{probe.example.id}-{case.section}-{slug(case.item)}"
        results.append(CaseResult(case_id, list(case.run(probe))))
    return results


# ---------------------------------------------------------------------------------------------- faults


def _status_ok(step: Step, status: int) -> bool:
    return not isinstance(step, RequestStep) or not step.expect_status or status in step.expect_status


def _total(families: Sequence[MetricFamily], name: str, selector_: dict[str, str]) -> float:
    base = name.removesuffix("_total")
    total = 0.0
    for fam in families:
        for s in fam.samples:
            if s.name in (name, base + "_total") and all(s.labels.get(k) == v for k, v in selector_.items()):
                total += s.value
    return total


def run_fault_scenario(probe: SmokeProbe, scenario: dict[str, Any]) -> CaseResult:
    """One ``faults`` entry as a case: the dependency fails for ``seconds`` while the workload and the
    dependent requests run at ``pace_ms``; findings say what did not meet ``expect``."""
    running, readers = probe.running, probe.readers
    case_id = f"{running.example.id}-faults-{slug(scenario['name'])}"
    where = f"{running.example.path.name}: faults {scenario['name']}"
    expect = scenario.get("expect", {})
    workload, dependent = running.example.fault_steps[scenario["name"]]
    workload = workload or running.example.contract.workload
    pace = scenario.get("pace_ms", 100) / 1000
    problems: list[str] = []
    _, before = scrape(probe.metrics_url)
    started = time.time_ns()
    exchanges: list[tuple[str, Step, HttpExchange]] = []
    with inject(probe.stack, running, scenario["dependency"], scenario["mode"], scenario.get("attributes", {})):
        end = time.monotonic() + float(scenario.get("seconds", 4))
        i = 0
        while time.monotonic() < end:
            for role, group in (("workload", workload), ("dependent", dependent)):
                if group:
                    step = group[i % len(group)]
                    exchanges += [(role, step, ex) for ex in drive(running, [step], f"f{started}-{i}")]
            i += 1
            time.sleep(pace)
    if expect.get("available", True):
        bad = [ex for role, s, ex in exchanges if role == "workload" and not _status_ok(s, ex.status)]
        if bad:
            problems.append(f"{len(bad)} workload requests lost their expected status during the fault; first: "
                            f"{bad[0].method} {bad[0].url} -> {bad[0].status}")
    bad = [ex for role, s, ex in exchanges if role == "dependent" and not _status_ok(s, ex.status)]
    if bad:
        problems.append(f"dependent request {bad[0].method} {bad[0].url} answered {bad[0].status}")
    if "dependent_min_ms" in expect:
        slowest = max((ex.elapsed_ms for role, _, ex in exchanges if role == "dependent"), default=0.0)
        if slowest < expect["dependent_min_ms"]:
            problems.append(f"the slowest dependent request took {slowest:.0f} ms, expected at least "
                            f"{expect['dependent_min_ms']} ms")
    recover = expect.get("recovers_within_s", 15)
    if recover is not None:
        deadline = time.monotonic() + recover
        while True:
            again = [(s, ex) for s in [*workload, *dependent] for ex in drive(running, [s], f"after{started}")]
            if all(ex.status < 500 and _status_ok(s, ex.status) for s, ex in again):
                break
            if time.monotonic() > deadline:
                problems.append(f"not recovered {recover} s after the fault: "
                                f"{[(ex.method, ex.url, ex.status) for _, ex in again]}")
                break
            time.sleep(0.5)
    _, after = scrape(probe.metrics_url)
    for m in expect.get("metrics", []):
        grew = _total(after, m["name"], m.get("selector", {})) - _total(before, m["name"], m.get("selector", {}))
        if m.get("increases") and grew <= 0:
            problems.append(f"metric {m['name']}{m.get('selector', {})} did not increase during the fault")
    ids = trace_ids([ex for _, _, ex in exchanges])
    if "spans" in expect.get("delivered", []):
        traces = read_traces(readers.jaeger, running.example.id, ids, timeout=15)
        lost = [t for t in ids if not traces.get(t)]
        if lost:
            problems.append(f"{len(lost)} of {len(ids)} requests made during the fault have no trace in Jaeger")
    if "logs" in expect.get("delivered", []):
        logs = read_logs(readers.logs, running.example.stream, started, ids, timeout=15)
        logged = {str(r.fields.get("trace_id", "")) for r in logs}
        lost = [t for t in ids if t not in logged]
        if lost:
            problems.append(f"{len(lost)} of {len(ids)} requests made during the fault left no line in the log store")
    if not running.process.running():
        problems.append("the service died during the fault")
    return CaseResult(case_id, [Finding("faults", where, p) for p in problems])
