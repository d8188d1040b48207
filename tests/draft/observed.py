"""A synthetic run of a small service, as :mod:`obsconf.draft.observe` would read it, and a probe that hands
the same data to the suite's cases: the draft made from it must pass every case it builds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from obsconf.checks.metrics import find_family
from obsconf.contract.model import Contract, RequestStep
from obsconf.draft.observation import DraftRequest, Observation
from obsconf.live.collect import Collected
from obsconf.model import HttpExchange, LogRecord, MetricFamily, MetricSample, Series, Span

SECRET = "sk_canary_0123456789abcdef"
START_NS = 1_800_000_000_000_000_000
PORT = 41234
BUCKETS = ("0.1", "0.5", "+Inf")

STEPS = (
    RequestStep("GET", "/items/mug", repeat=2, name="look up"),
    RequestStep("POST", "/items", json={"sku": "mug", "token": SECRET}, name="add"),
    RequestStep("GET", "/boom", name="fail"),
)
STATUSES = (200, 200, 201, 500)
ROUTES = ("/items/{sku}", "/items/{sku}", "/items", "/boom")


def _tid(i: int) -> str:
    return f"{i + 1:032x}"


def _sid(i: int, k: int) -> str:
    return f"{(i + 1) * 16 + k:016x}"


def _traces(name: str) -> dict[str, list[Span]]:
    traces = {}
    for i, (step, status, route) in enumerate(zip([s for s in STEPS for _ in range(s.repeat)], STATUSES, ROUTES,
                                                  strict=True)):
        server = Span(_tid(i), _sid(i, 0), "ffffffffffffffff", f"{step.method} {route}", name, 1_000 + i, 500,
                      attributes={"http.request.method": step.method, "http.route": route,
                                  "http.response.status_code": status, "url.path": step.path,
                                  "server.port": PORT, "server.address": f"127.0.0.1:{PORT}"},
                      status="error" if status >= 500 else "unset", kind="server")
        spans = [server]
        if step.method == "POST":
            spans.append(Span(_tid(i), _sid(i, 1), server.span_id, "save_item", name, 1_100 + i, 100,
                              attributes={"item.id": f"itm-{i:04d}abcdef", "item.sku": "mug"}))
            spans.append(Span(_tid(i), _sid(i, 2), _sid(i, 1), "db.insert", name, 1_150 + i, 10,
                              attributes={"db.system.name": "sqlite"}, kind="client"))
        traces[_tid(i)] = spans
    return traces


def _line(i: int | None, message: str, level: str = "INFO", **fields: Any) -> dict[str, Any]:
    out = {"timestamp": "2027-01-15T08:00:00.123Z", "level": level, "message": message, **fields}
    if i is not None:
        out.update(trace_id=_tid(i), span_id=_sid(i, 0))
    return out


def _lines() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(start-up lines, workload lines)."""
    start = [_line(None, "svc listening on 127.0.0.1:41234"), _line(None, "config loaded", version=3)]
    work = [
        _line(0, "item looked up", sku="mug"), _line(1, "item looked up", sku="mug"),
        _line(2, "item added", sku="mug", item_id="itm-0002abcdef", quantity=1),
        _line(3, "handler failed", level="ERROR", error="boom"),
    ]
    return start, work


def _records(lines: list[dict[str, Any]], ts: int, **labels: str) -> list[LogRecord]:
    return [LogRecord(ts + k, json.dumps(f), f, dict(labels), source="loki" if labels else "stdout")
            for k, f in enumerate(lines)]


def _metrics(after: bool) -> list[MetricFamily]:
    n = 3 if after else 1
    counter = MetricFamily("svc_requests_total", "counter", "Requests served.", (
        MetricSample("svc_requests_total", {"route": "/items/{sku}", "code": "200"}, n),
        MetricSample("svc_requests_total", {"route": "/items", "code": "201"}, n - 1),
        MetricSample("svc_requests_created", {"route": "/items", "code": "201"}, 1.7e9),
    ))
    hist = MetricFamily("svc_latency_seconds", "histogram", "Latency.", tuple(
        [MetricSample("svc_latency_seconds_bucket", {"route": r, "le": le}, n) for r in ("/items", "/boom")
         for le in BUCKETS]
        + [MetricSample("svc_latency_seconds_count", {"route": r}, n) for r in ("/items", "/boom")]
        + [MetricSample("svc_latency_seconds_sum", {"route": r}, 0.1 * n) for r in ("/items", "/boom")]))
    gauge = MetricFamily("svc_items", "gauge", "", (MetricSample("svc_items", {}, n),))
    runtime = MetricFamily("go_goroutines", "gauge", "Goroutines.", (MetricSample("go_goroutines", {}, 7),))
    return [counter, hist, gauge, runtime]


def observation(tmp: Path, *, name: str = "svc") -> Observation:
    """What a draft run of the synthetic service reads back."""
    req = DraftRequest(name=name, steps=STEPS, steps_origin="--get/--post", command=("svc", "--port", "{port}"),
                       command_text="svc --port {port}", cwd=tmp, health_paths=("/healthz",), secrets=(SECRET,),
                       output=tmp / f"{name}.yaml")
    exchanges = [HttpExchange(s.method, f"http://127.0.0.1:{PORT}{s.path}", code, {"traceresponse": f"00-{_tid(i)}-"
                              f"{_sid(i, 0)}-01"}, {}, 1.0, START_NS + i, _tid(i))
                 for i, (s, code) in enumerate(zip([s for s in STEPS for _ in range(s.repeat)], STATUSES, strict=True))]
    start, work = _lines()
    got = Collected(contract=req.launch_contract(), base_url=f"http://127.0.0.1:{PORT}", run_id="0123abcd45",
                    started_ns=START_NS, exchanges=exchanges, traces=_traces(name),
                    console=_records(work, 0), metrics_before=_metrics(False), metrics_after=_metrics(True),
                    metrics_text="", started_by_obsconf=True)
    store = _records(start, START_NS - 10_000, service_name=name, severity="info") + _records(
        work, START_NS + 10, service_name=name, severity="info") + _records(
        [_line(None, "another service's line")], START_NS + 50, service_name="other")
    health = {"/healthz": [HttpExchange("GET", f"http://127.0.0.1:{PORT}/healthz", 200, {}, {
        "status": "ok", "uptime_s": 12.5 + k, "checks": {"db": True}}, 1.0) for k in range(3)]}
    return Observation(request=req, collected=got, store_lines=store, console_lines=_records(start + work, 0),
                       health=health, promtool=[], port=PORT, stack_mode="process", when="2027-01-15 08:00 UTC")


class FixedProbe:
    """The suite's Probe over a fixed observation, read as ``collect`` reads it for ``contract``."""

    def __init__(self, obs: Observation, contract: Contract) -> None:
        got = obs.collected
        logs: list[LogRecord] = []
        spec = contract.logs
        if spec is not None:
            if "loki" in spec.sources:
                logs += [r for r in obs.store_lines if r.timestamp_ns >= got.started_ns
                         and all(r.labels.get(k) == v for k, v in spec.stream.items())]
            if "console" in spec.sources:
                logs += got.console
        self.got = replace(got, contract=contract, logs=logs)
        self.obs = obs

    def collected(self) -> Collected:
        return self.got

    def health(self) -> list[HttpExchange]:
        return [x for calls in self.obs.health.values() for x in calls]

    def series(self, spec: Any) -> tuple[list[Series], str, str]:
        fam = find_family(self.got.metrics_after, spec.name)
        wanted = {spec.name, spec.name + "_count"}
        found = [Series({**s.labels, "job": "svc"}, ((0.0, s.value),)) for s in (fam.samples if fam else ())
                 if s.name in wanted]
        return found, spec.name, ""

    def trace_url(self) -> str:
        return "http://jaeger/trace/{trace_id}"

    def retry(self, spec: Any) -> Any:
        raise AssertionError("a draft has no retries")

    def fault(self, spec: Any) -> Any:
        raise AssertionError("a draft has no fault scenarios")

    def slo_report(self) -> Any:
        raise AssertionError("a draft has no SLOs")

    def rules_text(self) -> str:
        raise AssertionError("a draft has no alerts")
