"""Issue 8 fault scenarios (b) dependency outage, (c) Jaeger down, (d) slow dependency, and issue 13's hang
(the dependency accepts connections and answers nothing, then resumes and processes what it received), with
their accounting.

Each scenario starts its own reference service with its dependencies behind fresh Toxiproxy proxies
(``fault-<id>-<dep>``), drives it with a bounded load, injects one real network fault, then reads what arrived
in the real backends. The first half of this module is pure: it turns observations (sequence numbers sent
and received, status samples, latencies) into counts and a verdict, so every rule is unit-tested on good and
bad data (``tests/faults/``). The second half runs the scenarios; only it touches the network.

Scenario (a), retries with exponential backoff, runs from each contract's ``retries`` section
(:meth:`obsconf.probe.LiveProbe.retry`).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import BackendMissing, ObsconfError
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack.toxiproxy import Proxy

# ---------------------------------------------------------------------------------------------------------
# Pure accounting
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What arrived in one sink compared with what the service emitted (lines identified by sequence number)."""

    sink: str
    sent: int
    received: int  # distinct sequence numbers that arrived (of those sent)
    lost: int
    duplicated: int  # extra copies beyond the first
    out_of_order: int  # first copies that arrived after a copy of a higher sequence number
    max_delay_s: float | None = None  # worst time from emission to first sight in the sink (None: not measured)
    missing_sample: tuple[int, ...] = ()  # the first few lost sequence numbers, for the message
    unexpected: int = 0  # arrivals whose sequence number was never sent

    @property
    def exactly_once(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0


def account(sink: str, sent: Sequence[int], arrived: Sequence[int], *,
            emitted_ns: Mapping[int, int] | None = None, first_seen_ns: Mapping[int, int] | None = None) -> Delivery:
    """Count lost, duplicated and out-of-order lines. ``arrived`` is in the sink's order (arrival order, or
    timestamp order for a log store); ``emitted_ns``/``first_seen_ns`` (by sequence number) give the delay."""
    wanted = set(sent)
    seen: set[int] = set()
    duplicated = out_of_order = unexpected = 0
    highest = -math.inf
    for seq in arrived:
        if seq not in wanted:
            unexpected += 1
            continue
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < highest:
            out_of_order += 1
        highest = max(highest, seq)
    missing = sorted(wanted - seen)
    delay: float | None = None
    if emitted_ns is not None and first_seen_ns is not None:
        delays = [(first_seen_ns[s] - emitted_ns[s]) / 1e9 for s in seen if s in first_seen_ns and s in emitted_ns]
        delay = round(max(delays), 3) if delays else None
    return Delivery(sink, len(wanted), len(seen), len(missing), duplicated, out_of_order, delay,
                    tuple(missing[:10]), unexpected)


def transitions(states: Sequence[str]) -> list[str]:
    """The breaker states observed, consecutive repeats collapsed: ``closed, open, half_open, closed``."""
    out: list[str] = []
    for state in states:
        if not out or out[-1] != state:
            out.append(state)
    return out


def breaker_cycled(observed: Sequence[str]) -> bool:
    """True if the breaker was seen open and, after that, closed again."""
    if "open" not in observed:
        return False
    return "closed" in observed[observed.index("open"):]


def max_burst(samples: Sequence[tuple[float, float, int]], window_s: float) -> int:
    """Most failed send attempts seen within less than ``window_s``. Samples are (request start, answer
    time, counter): an increase between the answer of sample i and the start of sample j happened inside
    [start_i, answer_j], so only pairs with ``answer_j - start_i < window_s`` count (never overstated)."""
    best = 0
    for i, (start_i, _, count_i) in enumerate(samples):
        for _, answer_j, count_j in samples[i + 1:]:
            if answer_j - start_i >= window_s:
                break
            best = max(best, count_j - count_i)
    return best


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass(frozen=True)
class Latency:
    count: int
    failed: int  # answers that were not 2xx, or no answer
    p50_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float], failed: int) -> Latency:
        return cls(len(seconds), failed, round(percentile(seconds, 0.5) * 1000, 1),
                   round(percentile(seconds, 0.95) * 1000, 1), round(max(seconds, default=0.0) * 1000, 1))


@dataclass(frozen=True)
class Limits:
    """What a fault may cost. Latency limits apply to requests that do not need the faulted dependency."""

    max_request_ms: float = 1000.0
    p95_request_ms: float = 250.0
    #: backoff: the shortest legal gap between two attempts of one batch is base * (1 - jitter) = 100 ms for
    #: the log shippers, so within 80 ms at most 2 attempts may fail (the last of one batch, the first of the
    #: next); a shipper that retries with no backoff fails 3 or more at once
    retry_window_s: float = 0.08
    max_retry_burst: int = 2
    shutdown_slack_s: float = 1.5  # on top of the service's own shutdown timeout
    slow_fault_min_ms: float = 1000.0  # a request that needs the slowed dependency takes at least this


@dataclass
class FaultResult:
    """One scenario's observations (JSON-ready); ``problems`` is :func:`judge`'s verdict on them."""

    id: str
    profile: str
    dependency: str
    fault: str
    fault_s: float
    duration_s: float = 0.0
    latency: Latency | None = None  # requests that do not need the faulted dependency
    deliveries: list[Delivery] = field(default_factory=list)
    faulted_sink: str = ""
    counted_dropped: int = 0  # the faulted sink's dropped counters (overflow + rejected + shutdown), this run
    counted_duplicates: int = 0  # entries the faulted sink resent after an unanswered push (may be stored twice)
    deduplicated: int = 0  # entries the sink found already stored when it resent (not stored again)
    retries: int = 0
    send_errors: int = 0
    retry_burst: int = 0
    breaker: list[str] = field(default_factory=list)
    breaker_opened: int = 0
    max_buffer: int = 0
    spans_failed: int = 0
    spans_exported: int = 0
    shutdown_s: float | None = None
    shutdown_timeout_s: float | None = None
    exited_by_itself: bool | None = None
    dependent_ms: float | None = None  # slowest request that needed the slowed dependency (scenario d)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def delivery(self, sink: str) -> Delivery | None:
        return next((d for d in self.deliveries if d.sink == sink), None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _judge_latency(r: FaultResult, limits: Limits) -> list[str]:
    lat = r.latency
    if lat is None or lat.count == 0:
        return ["no requests were measured during the fault (the load loop did not run)"]
    out = []
    if lat.failed:
        out.append(f"{lat.failed} of {lat.count} requests did not answer 2xx during the fault "
                   f"(the service must keep answering while {r.dependency} is {r.fault})")
    if lat.max_ms > limits.max_request_ms:
        out.append(f"slowest request took {lat.max_ms} ms during the fault, limit {limits.max_request_ms} ms "
                   f"(the {r.dependency} fault leaks into request handling)")
    if lat.p95_ms > limits.p95_request_ms:
        out.append(f"p95 request latency {lat.p95_ms} ms during the fault, limit {limits.p95_request_ms} ms")
    return out


def _judge_delivery(r: FaultResult, d: Delivery, *, counted: int, counted_duplicates: int = 0) -> list[str]:
    out = []
    silent = d.lost - counted
    if d.lost and silent > 0:
        out.append(f"{d.sink}: {d.lost} of {d.sent} lines lost but only {counted} counted as dropped: "
                   f"{silent} lost silently (first missing seq: {list(d.missing_sample)})")
    if d.duplicated > counted_duplicates:
        out.append(f"{d.sink}: {d.duplicated} duplicated lines but the service counted {counted_duplicates} "
                   f"possible duplicates: {d.duplicated - counted_duplicates} stored twice without being counted "
                   f"(a retried batch that had been stored)")
    if d.out_of_order:
        out.append(f"{d.sink}: {d.out_of_order} lines arrived out of order")
    if d.unexpected:
        out.append(f"{d.sink}: {d.unexpected} lines with sequence numbers that were never emitted")
    return out


def judge(r: FaultResult, limits: Limits = Limits()) -> list[str]:
    """Every broken expectation of the scenario, as sentences; empty if the service behaved."""
    out = _judge_latency(r, limits)
    if r.fault == "down" and r.dependency in ("logs", "pocketbase"):
        sink = r.faulted_sink
        if r.max_buffer <= 0:
            out.append(f"{sink}: the buffer never held a line during the outage (it must buffer, not drop)")
        if not breaker_cycled(r.breaker):
            out.append(f"{sink}: circuit breaker states seen {r.breaker} - it must open during the outage and "
                       f"close again after it")
        if r.retry_burst > limits.max_retry_burst:
            out.append(f"{sink}: {r.retry_burst} failed sends within {limits.retry_window_s * 1000:.0f} ms - "
                       f"retries without exponential backoff (at most {limits.max_retry_burst} allowed)")
        for d in r.deliveries:
            if d.sink == "file":
                if not d.exactly_once:
                    out.append(f"file: the local log file must hold every line exactly once while degraded, "
                               f"lost {d.lost}, duplicated {d.duplicated}")
            else:
                out += _judge_delivery(r, d, counted=r.counted_dropped if d.sink == sink else 0)
        if r.delivery(sink) is None:
            out.append(f"{sink}: nothing was read back from the sink")
    elif r.dependency == "otlp" and r.fault == "down":
        requests_made = r.latency.count if r.latency is not None else 0
        if r.spans_failed < requests_made:
            out.append(f"only {r.spans_failed} spans counted as failed for {requests_made} traced requests while "
                       f"Jaeger was down (obsconf_telemetry_spans_exported_total{{result=\"failure\"}}): "
                       f"spans were lost without being counted")
        if r.spans_exported > 0:
            out.append(f"{r.spans_exported} spans counted as exported while Jaeger was unreachable")
    if r.shutdown_s is not None and r.shutdown_timeout_s is not None:
        budget = r.shutdown_timeout_s + limits.shutdown_slack_s
        if not r.exited_by_itself or r.shutdown_s > budget:
            how = "did not exit and was killed" if not r.exited_by_itself else "exited"
            out.append(f"shutdown took {r.shutdown_s:.2f} s ({how}); budget {budget:.1f} s "
                       f"(shutdown timeout {r.shutdown_timeout_s} s + {limits.shutdown_slack_s} s)")
    if r.fault == "hang":
        out += _judge_hang(r)
    if r.fault == "slow":
        if r.dependent_ms is None or r.dependent_ms < limits.slow_fault_min_ms:
            out.append(f"the fault had no effect: the slowest request needing {r.dependency} took "
                       f"{r.dependent_ms} ms, expected at least {limits.slow_fault_min_ms} ms")
        for d in r.deliveries:
            out += _judge_delivery(r, d, counted=r.counted_dropped if d.sink == r.faulted_sink else 0)
    return out


def _judge_hang(r: FaultResult) -> list[str]:
    """Nothing lost without being counted, and stored = sent + counted duplicates (no duplicate the service
    did not count), in every sink; the faulted sink must have seen the hang end (its backlog delivered)."""
    out = []
    sink = r.faulted_sink
    for d in r.deliveries:
        faulted = d.sink == sink
        out += _judge_delivery(r, d, counted=r.counted_dropped if faulted else 0,
                               counted_duplicates=r.counted_duplicates if faulted else 0)
    if r.delivery(sink) is None:
        out.append(f"{sink}: nothing was read back from the sink")
    elif r.delivery(sink).received == 0:  # type: ignore[union-attr]
        out.append(f"{sink}: nothing arrived, not even after the hang ended")
    return out


# ---- reports ----


def render_json(results: Sequence[FaultResult], total_s: float) -> str:
    return json.dumps({"total_s": round(total_s, 2), "scenarios": [r.as_dict() for r in results]}, indent=2)


def render_markdown(results: Sequence[FaultResult], total_s: float) -> str:
    lines = ["# Fault scenarios (issue 8 b, c, d)", "",
             f"{len(results)} scenario(s), {sum(1 for r in results if not r.problems)} passed, "
             f"{total_s:.1f} s in total.", "",
             "| scenario | fault | time s | requests (failed) | p95 / max ms | sink: sent / received / lost / "
             "duplicated / out of order / max delay s | counted dropped | counted duplicates | retries | breaker | "
             "shutdown s | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lat = r.latency
        reqs = f"{lat.count} ({lat.failed})" if lat else "-"
        ms = f"{lat.p95_ms} / {lat.max_ms}" if lat else "-"
        deliv = "<br>".join(f"{d.sink}: {d.sent} / {d.received} / {d.lost} / {d.duplicated} / {d.out_of_order} / "
                            f"{'-' if d.max_delay_s is None else d.max_delay_s}" for d in r.deliveries) or "-"
        breaker = " → ".join(r.breaker) or "-"
        shut = "-" if r.shutdown_s is None else f"{r.shutdown_s:.2f}" + ("" if r.exited_by_itself else " (killed)")
        verdict = "pass" if not r.problems else "FAIL: " + "; ".join(r.problems)
        lines.append(f"| {r.id} | {r.dependency} {r.fault} {r.fault_s:g} s | {r.duration_s:.1f} | {reqs} | {ms} | "
                     f"{deliv} | {r.counted_dropped} | {r.counted_duplicates} | {r.retries} | {breaker} | {shut} | {verdict} |")
    notes = [f"- {r.id}: {n}" for r in results for n in r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Scenario runners (network)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One fault scenario: ``dependency`` is a proxy key of :func:`obsconf.target.proxied_endpoints`."""

    id: str
    profile: str
    dependency: str  # logs | pocketbase | otlp | s3
    fault: str  # down | slow
    fault_s: float
    env: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = Limits()


# Fast timers so an outage opens and closes a breaker within seconds: threshold 2 failed batches, 1.5 s
# until a probe, 2 retries per batch, flushes every 0.5 s. The seed's defaults (30 s flush, 30 s reset)
# would need minutes.
_FAST_SHIPPING = {
    "OBSCONF_LOGS_FLUSH_INTERVAL": "0.5", "OBSCONF_LOGS_MAX_RETRIES": "2",
    "OBSCONF_BREAKER_FAILURE_THRESHOLD": "2", "OBSCONF_BREAKER_RESET_SECS": "1.5",
    "SYNCD_POCKETBASE_FLUSH_INTERVAL_SECS": "0.5", "SYNCD_POCKETBASE_MAX_RETRIES": "2",
    "SYNCD_BREAKER_FAILURE_THRESHOLD": "2", "SYNCD_BREAKER_RESET_SECS": "1.5",
    "OBSCONF_SHUTDOWN_TIMEOUT": "3",
}

SCENARIOS: tuple[Scenario, ...] = (
    # issue 13: the dependency hangs for 6 s (accepts, answers nothing), then resumes and processes what it got
    Scenario("syncd-loki-hang", "syncd", "logs", "hang", 6.0),
    Scenario("syncd-pocketbase-hang", "syncd", "pocketbase", "hang", 6.0),
    Scenario("syncd-otlp-hang", "syncd", "otlp", "hang", 6.0),
    Scenario("syncd-loki-outage", "syncd", "logs", "down", 5.0),
    Scenario("syncd-pocketbase-outage", "syncd", "pocketbase", "down", 5.0),
    # a buffer of 150 lines overflows during the outage: the loss is allowed, but must all be counted
    Scenario("syncd-pocketbase-overflow", "syncd", "pocketbase", "down", 4.0,
             env={"SYNCD_LOG_BUFFER_MAX_ENTRIES": "150"}),
    Scenario("syncd-otlp-outage", "syncd", "otlp", "down", 4.0),
    Scenario("persist-s3-slow", "persist", "s3", "slow", 4.0),
    Scenario("syncd-logs-slow", "syncd", "logs", "slow", 4.0),
)

SCENARIO_IDS = tuple(s.id for s in SCENARIOS)
EMIT_LINES = 10  # lines per POST /logs/emit
EMIT_EVERY_S = 0.1
REQUEST_TIMEOUT_S = 3.0  # a measured request slower than this counts as failed (the limit is 1 s anyway)
SLOW_LATENCY_MS = 1500  # below the shippers' 2 s HTTP timeout: slow, not failing
#: A hang: every byte sent to the dependency is held (a latency far beyond the fault) until the toxic goes;
#: then Toxiproxy forwards what it held, as a stopped process that is continued reads its socket buffers.
HANG_LATENCY_MS = 600_000


def scenario(scenario_id: str) -> Scenario:
    for s in SCENARIOS:
        if s.id == scenario_id:
            return s
    raise KeyError(f"no fault scenario {scenario_id!r}; known: {', '.join(SCENARIO_IDS)}")


class _Service:
    """A reference service (or a wrapper module that patches it) behind proxies, for one scenario."""

    def __init__(self, stack: Any, sc: Scenario, log_dir: Path, module: str, env: Mapping[str, str]) -> None:
        from obsconf.reference.launch import reference_env
        from obsconf.stack.process import ManagedProcess
        from obsconf.stack.readiness import http_ok
        from obsconf.target import proxied_endpoints

        self.toxiproxy = stack.toxiproxy
        if self.toxiproxy is None:
            raise BackendMissing("fault scenarios need Toxiproxy in the stack (--obsconf-toxiproxy-url in external mode)")
        endpoints, self.proxies = proxied_endpoints(stack, f"fault-{sc.id}")
        port = free_port()
        self.base = f"http://{LOOPBACK}:{port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        child_env = reference_env(endpoints, log_dir / "files", env)
        self.process = ManagedProcess(
            f"reference service ({sc.profile}, {module}) for fault scenario {sc.id}",
            [sys.executable, "-m", module, "--profile", sc.profile, "--port", str(port)],
            log_path=log_dir / "service.log", probe=http_ok(f"{self.base}/api/ok"), ready_timeout=20.0,
            env=child_env,
        )

    def proxy(self, dep: str) -> str:
        if dep not in self.proxies:
            raise BackendMissing(f"no proxy for {dep!r}: the stack has no such backend (proxies: {sorted(self.proxies)})")
        return self.proxies[dep].name

    def __enter__(self) -> _Service:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()
        for proxy in self.proxies.values():
            # cleanup of a proxy must not hide the scenario's own error
            with suppress(ObsconfError, requests.RequestException):
                self.toxiproxy.delete_proxy(proxy.name)

    def terminate(self, wait_s: float) -> tuple[float, bool]:
        """SIGTERM the service and time its exit; (seconds, exited by itself). Killed after ``wait_s``."""
        proc = self.process.proc
        assert proc is not None
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=wait_s)
            return time.monotonic() - began, True
        except subprocess.TimeoutExpired:
            return time.monotonic() - began, False


class _Sampler(threading.Thread):
    """Polls ``GET /telemetry/status`` in the background: (start, answer, status) samples."""

    def __init__(self, base: str, interval: float) -> None:
        super().__init__(name="obsconf-fault-sampler", daemon=True)
        self.url = f"{base}/telemetry/status"
        self.interval = interval
        self.samples: list[tuple[float, float, dict[str, Any]]] = []
        self._halt = threading.Event()
        self._session = requests.Session()

    def run(self) -> None:
        while not self._halt.is_set():
            start = time.monotonic()
            try:
                resp = self._session.get(self.url, timeout=2)
                if resp.status_code == 200:
                    self.samples.append((start, time.monotonic(), resp.json()))
            except (requests.RequestException, ValueError):
                pass  # a missed sample only makes the burst measure more lenient
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def shipper(self, name: str) -> list[tuple[float, float, dict[str, Any]]]:
        return [(a, b, s["shippers"][name]) for a, b, s in self.samples if name in s.get("shippers", {})]


class _Emitter(threading.Thread):
    """Steady load: ``POST /logs/emit?n=EMIT_LINES&tag=<run>-<i>`` every ``EMIT_EVERY_S`` (bounded)."""

    def __init__(self, base: str, run: str, max_requests: int) -> None:
        super().__init__(name="obsconf-fault-emitter", daemon=True)
        self.base, self.run_id, self.max_requests = base, run, max_requests
        self.sent_ns: dict[int, int] = {}  # request index -> wall clock when it was sent
        self.latencies: list[float] = []
        self.failed = 0
        self._halt = threading.Event()
        self._session = requests.Session()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set() and i < self.max_requests:
            tick = time.monotonic()
            self.sent_ns[i] = time.time_ns()
            try:
                resp = self._session.post(f"{self.base}/logs/emit", params={"n": EMIT_LINES, "tag": f"{self.run_id}-{i}"},
                                          timeout=REQUEST_TIMEOUT_S)
                ok = 200 <= resp.status_code < 300
            except requests.RequestException:
                ok = False
            self.latencies.append(time.monotonic() - tick)
            if not ok:
                self.failed += 1
            i += 1
            self._halt.wait(max(0.0, EMIT_EVERY_S - (time.monotonic() - tick)))

    def stop(self) -> None:
        self._halt.set()
        self.join(15)

    def sent(self) -> list[int]:
        return [i * EMIT_LINES + s for i in sorted(self.sent_ns) for s in range(EMIT_LINES)]

    def emitted_ns(self) -> dict[int, int]:
        return {i * EMIT_LINES + s: ns for i, ns in self.sent_ns.items() for s in range(EMIT_LINES)}


def _global_seq(run: str, fields: Mapping[str, Any]) -> int | None:
    """``i * EMIT_LINES + seq`` for a line of this run (its ``fields.tag`` is ``<run>-<i>``), else None."""
    inner = fields.get("fields")
    if not isinstance(inner, dict):
        return None
    tag, seq = str(inner.get("tag", "")), inner.get("seq")
    prefix = f"{run}-"
    if not tag.startswith(prefix) or not isinstance(seq, int):
        return None
    try:
        return int(tag[len(prefix):]) * EMIT_LINES + seq
    except ValueError:
        return None


class _Stores:
    """Reads this run's numbered lines from the log store, PocketBase and the local file, in sink order."""

    def __init__(self, stack: Any, run: str, daemon_id: str, file: Path, start_ns: int) -> None:
        from obsconf.readers._http import log_file_of
        from obsconf.readers.logs import LogReader

        e = stack.endpoints
        self.logs = LogReader(e.logs_query_url, e.logs_dialect, log_file=log_file_of(stack, "logs")) \
            if e.logs_query_url else None
        self.pb = stack.pocketbase() if e.pocketbase_url else None
        self.run, self.daemon_id, self.file, self.start_ns = run, daemon_id, file, start_ns
        self.first_seen: dict[str, dict[int, int]] = {"loki": {}, "pocketbase": {}}

    def loki(self) -> list[int]:
        if self.logs is None:
            return []
        recs = self.logs.lines({"service": "sync-daemon", "profile": "syncd"}, contains=self.run,
                               start_ns=self.start_ns - 2_000_000_000, limit=20000)
        return [s for s in (_global_seq(self.run, r.fields) for r in recs) if s is not None]

    def pocketbase(self) -> list[int]:
        if self.pb is None:
            return []
        # @rowid: insertion order, i.e. the order PocketBase received the records
        recs = self.pb.records("daemon_logs", filter=f"daemon_id = '{self.daemon_id}'", sort="@rowid")
        return [s for s in (_global_seq(self.run, r) for r in recs) if s is not None]

    def local_file(self) -> list[int]:
        out = []
        if not self.file.exists():
            return out
        for line in self.file.read_text(errors="replace").split("\n"):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            seq = _global_seq(self.run, rec) if isinstance(rec, dict) else None
            if seq is not None:
                out.append(seq)
        return out

    def observe(self) -> None:
        """Note the first time each line is visible in each store (for the delivery delay)."""
        now = time.time_ns()
        for sink, read in (("loki", self.loki), ("pocketbase", self.pocketbase)):
            try:
                seqs = read()
            except (ObsconfError, requests.RequestException, ValueError):
                # a store read during the run may fail; the next one counts
                continue
            seen = self.first_seen[sink]
            for s in seqs:
                seen.setdefault(s, now)

    def wait_complete(self, sent: Sequence[int], sinks: Sequence[str], timeout: float) -> dict[str, list[int]]:
        """Poll until every sink has every line (or nothing new arrives for 3 s, or ``timeout``)."""
        readers = {"loki": self.loki, "pocketbase": self.pocketbase}
        wanted = set(sent)
        deadline = time.monotonic() + timeout
        last: dict[str, int] = {}
        changed = time.monotonic()
        while True:
            self.observe()
            got = {s: readers[s]() for s in sinks}
            sizes = {s: len(v) for s, v in got.items()}
            if sizes != last:
                last, changed = sizes, time.monotonic()
            if all(wanted <= set(v) for v in got.values()) or time.monotonic() >= deadline \
                    or time.monotonic() - changed >= 3.0:
                return got
            time.sleep(0.4)


class _Observer(threading.Thread):
    """Records when lines first appear in the stores, every 0.5 s, while the scenario runs."""

    def __init__(self, stores: _Stores) -> None:
        super().__init__(name="obsconf-fault-observer", daemon=True)
        self.stores = stores
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            self.stores.observe()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def _status(base: str) -> dict[str, Any]:
    return dict(requests.get(f"{base}/telemetry/status", timeout=5).json())


def _wait_drained(base: str, shipper: str, timeout: float) -> None:
    """Wait until the shipper's buffer is empty and its breaker closed (recovery finished)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _status(base)["shippers"].get(shipper, {})
        if st.get("buffer_size") == 0 and st.get("breaker_state") == "closed":
            return
        time.sleep(0.2)


def _dropped(stats: Mapping[str, Any]) -> int:
    return int(stats.get("dropped_overflow", 0)) + int(stats.get("dropped_rejected", 0)) + \
        int(stats.get("dropped_shutdown", 0))


def _syncd_env(sc: Scenario, log_dir: Path, daemon_id: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {**_FAST_SHIPPING, "SYNCD_DAEMON_ID": daemon_id, "SYNCD_SESSION_ID": str(uuid.uuid4()),
           "SYNCD_LOG_FILE_PATH": str(log_dir / "daemon.log"), "SYNCD_LOG_ROTATION_ENABLED": "false",
           "SYNCD_METRICS_RATE_LIMIT_PER_SEC": "0"}
    if sc.dependency != "otlp":
        env["OBSCONF_OTLP_HTTP_URL"] = ""  # spans are not under test here; less work for two cores
    return {**env, **sc.env, **extra}


def _run_log_outage(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    shipper = "loki" if sc.dependency == "logs" else "pocketbase"
    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s, faulted_sink=shipper)
    run, daemon_id = f"f{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    env = _syncd_env(sc, log_dir, daemon_id, extra_env)
    before_s, after_s = 1.5, 1.5
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxy(sc.dependency)
        stores = _Stores(stack, run, daemon_id, log_dir / "daemon.log", time.time_ns())
        before = _status(svc.base)["shippers"][shipper]
        max_requests = int((before_s + sc.fault_s + after_s) / EMIT_EVERY_S) + 5
        emitter, sampler, observer = _Emitter(svc.base, run, max_requests), _Sampler(svc.base, 0.02), _Observer(stores)
        with ExitStack() as threads:
            for t in (sampler, observer, emitter):
                t.start()
                threads.callback(t.stop)
            time.sleep(before_s)
            with svc.toxiproxy.outage(proxy):
                time.sleep(sc.fault_s)
            time.sleep(after_s)
        _wait_drained(svc.base, shipper, timeout=10.0)
        sent = emitter.sent()
        got = stores.wait_complete(sent, ["loki", "pocketbase"], timeout=10.0)
        after = _status(svc.base)["shippers"][shipper]
        samples = sampler.shipper(shipper)
    emitted = emitter.emitted_ns()
    result.latency = Latency.of(emitter.latencies, emitter.failed)
    result.deliveries = [account(sink, sent, got[sink], emitted_ns=emitted, first_seen_ns=stores.first_seen[sink])
                         for sink in ("loki", "pocketbase")]
    result.deliveries.append(account("file", sent, stores.local_file()))
    result.counted_dropped = _dropped(after) - _dropped(before)
    result.retries = int(after["retries"]) - int(before["retries"])
    result.send_errors = int(after["send_errors"]) - int(before["send_errors"])
    result.retry_burst = max_burst([(a, b, int(s["send_errors"])) for a, b, s in samples], sc.limits.retry_window_s)
    result.breaker = transitions([s["breaker_state"] for _, _, s in samples] + [after["breaker_state"]])
    result.breaker_opened = int(after["breaker_opened"]) - int(before["breaker_opened"])
    result.max_buffer = max((int(s["buffer_size"]) for _, _, s in samples), default=0)
    result.notes.append(f"{len(samples)} status samples; {result.send_errors} failed sends; "
                        f"breaker opened {result.breaker_opened} time(s); buffer peaked at {result.max_buffer}")
    return result


def _span_counts(base: str) -> tuple[int, int]:
    """(exported, failed) from ``obsconf_telemetry_spans_exported_total{result=...}`` on the service's /metrics."""
    from obsconf.readers.metrics_text import scrape

    _, families = scrape(f"{base}/metrics")
    counts = {"success": 0, "failure": 0}
    for fam in families:
        if fam.name == "obsconf_telemetry_spans_exported_total":
            for sample in fam.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") in counts:
                    counts[sample.labels["result"]] = int(sample.value)
    return counts["success"], counts["failure"]


def _run_otlp_outage(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s)
    env = _syncd_env(sc, log_dir, str(uuid.uuid4()), extra_env)
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxy("otlp")
        time.sleep(1.0)  # the readiness probe's span is exported (0.5 s batches) before the outage begins
        exported0, failed0 = _span_counts(svc.base)
        session = requests.Session()
        with svc.toxiproxy.outage(proxy):
            latencies, failed = _timed_requests(
                lambda: session.get(f"{svc.base}/api/ok", timeout=REQUEST_TIMEOUT_S).status_code == 200,
                time.monotonic() + sc.fault_s, 0.01)
            # the batch processor exports every 0.5 s and the exporter gives up after its 2 s timeout: wait
            # until every request's server span is counted (or the deadline; the verdict says what is missing)
            deadline = time.monotonic() + 8.0
            while time.monotonic() < deadline and _span_counts(svc.base)[1] - failed0 < len(latencies):
                time.sleep(0.2)
            exported1, failed1 = _span_counts(svc.base)
            # spans of the last requests are still queued: shutdown must give up on them within its timeout
            for _ in range(20):
                session.get(f"{svc.base}/api/ok", timeout=REQUEST_TIMEOUT_S)
            timeout = float(env.get("OBSCONF_SHUTDOWN_TIMEOUT", "3"))
            shutdown_s, result.exited_by_itself = svc.terminate(timeout + sc.limits.shutdown_slack_s + 5.0)
    result.shutdown_s, result.shutdown_timeout_s = round(shutdown_s, 2), timeout
    result.latency = Latency.of(latencies, failed)
    result.spans_failed, result.spans_exported = failed1 - failed0, exported1 - exported0
    result.notes.append(f"obsconf_telemetry_spans_exported_total{{result=\"failure\"}} +{result.spans_failed} for "
                        f"{len(latencies)} requests while Jaeger was down; SIGTERM to exit {result.shutdown_s} s")
    return result


def _timed_requests(call: Callable[[], bool], until: float, pause: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failed = 0
    while time.monotonic() < until:
        tick = time.monotonic()
        try:
            ok = call()
        except requests.RequestException:
            ok = False
        latencies.append(time.monotonic() - tick)
        failed += not ok
        time.sleep(pause)
    return latencies, failed


def _run_slow_s3(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s)
    env = {"OBSCONF_OTLP_HTTP_URL": "", "PERSIST_S3_TIMEOUT_SECS": "10", **sc.env, **extra_env}
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxy("s3")
        dependent: list[float] = []
        stop = threading.Event()

        def saver(n: int) -> None:
            session = requests.Session()
            i = 0
            while not stop.is_set():
                tick = time.monotonic()
                try:
                    session.post(f"{svc.base}/snapshots/fault-{n}-{i}", params={"agent_id": "a", "session_id": "s"},
                                 json={"state": {"memory": []}}, timeout=15)
                except requests.RequestException:
                    pass
                dependent.append(time.monotonic() - tick)
                i += 1

        session = requests.Session()
        with svc.toxiproxy.toxic(proxy, "latency", {"latency": SLOW_LATENCY_MS, "jitter": 0}):
            savers = [threading.Thread(target=saver, args=(n,), daemon=True) for n in range(2)]
            for t in savers:
                t.start()
            time.sleep(0.3)  # the saves are now waiting on the slow store
            latencies, failed = _timed_requests(
                lambda: session.get(f"{svc.base}/api/ok", timeout=REQUEST_TIMEOUT_S).status_code == 200,
                time.monotonic() + sc.fault_s, 0.02)
            stop.set()
            for t in savers:
                t.join(20)
    result.latency = Latency.of(latencies, failed)
    result.dependent_ms = round(max(dependent, default=0.0) * 1000, 1) if dependent else None
    result.notes.append(f"{len(dependent)} saves through a {SLOW_LATENCY_MS} ms S3 latency, slowest "
                        f"{result.dependent_ms} ms; GET /api/ok measured meanwhile")
    return result


def _run_slow_logs(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s, faulted_sink="loki")
    run, daemon_id = f"f{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    env = _syncd_env(sc, log_dir, daemon_id, extra_env)
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxy("logs")
        stores = _Stores(stack, run, daemon_id, log_dir / "daemon.log", time.time_ns())
        emitter = _Emitter(svc.base, run, int(sc.fault_s / EMIT_EVERY_S) + 5)
        # every push now waits 1.5 s for its answer, so lines queue up behind it; the request path must
        # not notice
        with svc.toxiproxy.toxic(proxy, "latency", {"latency": SLOW_LATENCY_MS, "jitter": 0}):
            emitter.start()
            time.sleep(sc.fault_s)
            emitter.stop()
        _wait_drained(svc.base, "loki", timeout=15.0)
        sent = emitter.sent()
        got = stores.wait_complete(sent, ["loki"], timeout=10.0)
        after = _status(svc.base)["shippers"]["loki"]
    result.latency = Latency.of(emitter.latencies, emitter.failed)
    result.deliveries = [account("loki", sent, got["loki"], emitted_ns=emitter.emitted_ns(),
                                 first_seen_ns=stores.first_seen["loki"])]
    result.dependent_ms = round(max(result.deliveries[0].max_delay_s or 0.0, 0.0) * 1000, 1)
    result.counted_dropped = _dropped(after)
    result.retries = int(after["retries"])
    result.send_errors = int(after["send_errors"])
    result.notes.append(f"log push delayed {SLOW_LATENCY_MS} ms; slowest line took {result.dependent_ms} ms to "
                        f"arrive")
    return result


def _process_listening_on(address: str) -> int | None:
    """The pid of one of this session's processes that listens on ``address`` (host:port), else None."""
    from obsconf.netcheck import listeners, session_pids

    port = int(address.rsplit(":", 1)[1])
    found = [x.pid for x in listeners(session_pids(os.getpid())) if x.port == port]
    return found[0] if found else None


@contextmanager
def hang(toxiproxy: Any, proxy: Proxy) -> Iterator[str]:
    """The dependency behind ``proxy`` hangs for the duration of a ``with`` block: it accepts connections and
    answers nothing, then resumes and processes what it received. When the dependency is a process of this
    session (process stack) it is stopped and continued (SIGSTOP, SIGCONT: the kernel keeps every request in
    its socket buffers). Otherwise (containers, external backends) Toxiproxy holds every byte sent to it
    (a ``latency`` toxic far beyond the fault, on the upstream stream) and forwards what it held when the
    toxic goes; requests whose client gave up meanwhile may then be dropped by Toxiproxy. Yields how."""
    pid = _process_listening_on(proxy.upstream)
    if pid is not None:
        os.kill(pid, signal.SIGSTOP)
        try:
            yield f"SIGSTOP/SIGCONT of pid {pid}"
        finally:
            os.kill(pid, signal.SIGCONT)
        return
    with toxiproxy.toxic(proxy.name, "latency", {"latency": HANG_LATENCY_MS, "jitter": 0}, stream="upstream",
                         name="hang"):
        yield "Toxiproxy latency toxic on the upstream stream"


def _run_log_hang(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    shipper = "loki" if sc.dependency == "logs" else "pocketbase"
    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s, faulted_sink=shipper)
    run, daemon_id = f"h{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    env = _syncd_env(sc, log_dir, daemon_id, extra_env)
    before_s, after_s = 1.0, 1.5
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxies[sc.dependency]
        stores = _Stores(stack, run, daemon_id, log_dir / "daemon.log", time.time_ns())
        before = _status(svc.base)["shippers"][shipper]
        max_requests = int((before_s + sc.fault_s + after_s) / EMIT_EVERY_S) + 5
        emitter = _Emitter(svc.base, run, max_requests)
        with ExitStack() as threads:
            emitter.start()
            threads.callback(emitter.stop)
            time.sleep(before_s)
            with hang(svc.toxiproxy, proxy) as how:
                time.sleep(sc.fault_s)
            time.sleep(after_s)
        _wait_drained(svc.base, shipper, timeout=40.0)  # a push held by the hang is answered after it
        sent = emitter.sent()
        got = stores.wait_complete(sent, ["loki", "pocketbase"], timeout=15.0)
        after = _status(svc.base)["shippers"][shipper]
    result.latency = Latency.of(emitter.latencies, emitter.failed)
    result.deliveries = [account(sink, sent, got[sink]) for sink in ("loki", "pocketbase")]
    result.deliveries.append(account("file", sent, stores.local_file()))
    result.counted_dropped = _dropped(after) - _dropped(before)
    result.counted_duplicates = int(after.get("duplicates_possible", 0)) - int(before.get("duplicates_possible", 0))
    result.deduplicated = int(after.get("deduplicated", 0)) - int(before.get("deduplicated", 0))
    result.retries = int(after["retries"]) - int(before["retries"])
    result.send_errors = int(after["send_errors"]) - int(before["send_errors"])
    d = result.delivery(shipper)
    stored = d.received + d.duplicated if d is not None else 0
    result.notes.append(f"{shipper} hung {sc.fault_s:g} s ({how}): {len(sent)} lines sent, {stored} stored "
                        f"({d.duplicated if d else 0} twice), {result.counted_duplicates} counted as possible "
                        f"duplicates, {result.deduplicated} found already stored on resend, {result.send_errors} "
                        f"failed sends, {result.counted_dropped} dropped")
    return result


def _run_otlp_hang(stack: Any, sc: Scenario, log_dir: Path, module: str, extra_env: Mapping[str, str]) -> FaultResult:
    from obsconf.readers._http import log_file_of
    from obsconf.readers.jaeger import JaegerReader

    result = FaultResult(sc.id, sc.profile, sc.dependency, sc.fault, sc.fault_s, faulted_sink="jaeger")
    env = _syncd_env(sc, log_dir, str(uuid.uuid4()), extra_env)
    trace_ids: list[str] = []
    with _Service(stack, sc, log_dir, module, env) as svc:
        proxy = svc.proxies["otlp"]
        time.sleep(1.0)  # the readiness probe's span is exported before the hang
        exported0, failed0 = _span_counts(svc.base)
        session = requests.Session()

        def call() -> bool:
            resp = session.get(f"{svc.base}/api/ok", timeout=REQUEST_TIMEOUT_S)
            trace_ids.append(resp.headers.get("x-trace-id", "").lower())
            return resp.status_code == 200

        with hang(svc.toxiproxy, proxy) as how:
            latencies, failed = _timed_requests(call, time.monotonic() + sc.fault_s, 0.05)
        # after the hang the held exports arrive; give the exporter and Jaeger time to settle
        deadline = time.monotonic() + 15.0
        last = (-1, -1)
        while time.monotonic() < deadline:
            counts = _span_counts(svc.base)
            if counts == last and sum(counts) - exported0 - failed0 >= len(trace_ids):
                break
            last = counts
            time.sleep(1.0)
        exported1, failed1 = _span_counts(svc.base)
    jaeger = JaegerReader(stack.endpoints.jaeger_query_url, log_file=log_file_of(stack, "jaeger"))
    arrived: list[int] = []
    for i, tid in enumerate(trace_ids):
        spans = jaeger.wait_for_trace(tid, timeout=1.0) if tid else []
        arrived += [i for s in spans if s.kind == "server"]
    result.latency = Latency.of(latencies, failed)
    result.spans_exported, result.spans_failed = exported1 - exported0, failed1 - failed0
    result.counted_dropped = result.spans_failed  # a span the exporter gave up on is counted as failed
    result.deliveries = [account("jaeger", range(len(trace_ids)), arrived)]
    d = result.deliveries[0]
    result.notes.append(f"Jaeger's OTLP receiver hung {sc.fault_s:g} s ({how}): {len(trace_ids)} server spans sent, "
                        f"{d.received} stored ({d.duplicated} twice), exporter counted {result.spans_exported} "
                        f"exported and {result.spans_failed} failed")
    return result


_RUNNERS = {("logs", "down"): _run_log_outage, ("pocketbase", "down"): _run_log_outage,
            ("logs", "hang"): _run_log_hang, ("pocketbase", "hang"): _run_log_hang, ("otlp", "hang"): _run_otlp_hang,
            ("otlp", "down"): _run_otlp_outage, ("s3", "slow"): _run_slow_s3, ("logs", "slow"): _run_slow_logs}


def run_scenario(sc: Scenario, stack: Any, *, log_dir: Path, module: str = "obsconf.reference",
                 env: Mapping[str, str] | None = None) -> FaultResult:
    """Run one scenario against a fresh service (``module`` may be a wrapper that breaks the reference on
    purpose) and return its observations with :func:`judge`'s verdict in ``problems``."""
    runner = _RUNNERS[(sc.dependency, sc.fault)]
    began = time.monotonic()
    result = runner(stack, sc, Path(log_dir), module, dict(env or {}))
    result.duration_s = round(time.monotonic() - began, 2)
    result.problems = judge(result, sc.limits)
    return result


def write_reports(results: Sequence[FaultResult], total_s: float, out_dir: Path) -> tuple[Path, Path]:
    """``faults.json`` and ``faults.md`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "faults.json", out_dir / "faults.md"
    js.write_text(render_json(results, total_s))
    md.write_text(render_markdown(results, total_s))
    return js, md
