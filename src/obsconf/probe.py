"""The live :class:`~obsconf.suite.Probe`: reads real backends for one contract, lazily and once."""

from __future__ import annotations

import secrets
import time
from typing import Any

import requests

from obsconf.checks.auth import probe_paths
from obsconf.collect import Collected, collect, read_logs, read_traces
from obsconf.contract.model import MetricSpec, RequestStep, RetrySpec
from obsconf.errors import UsageError
from obsconf.model import AuthExchange, HttpExchange, Series
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.readers.prometheus import PrometheusReader
from obsconf.stack.toxiproxy import ToxiproxyClient
from obsconf.suite import RetryRun
from obsconf.target import Target
from obsconf.workload import run_workload

# Toxiproxy toxics for the fault names a contract may use (FaultSpec.toxic); "down" disables the proxy.
TOXICS: dict[str, tuple[str, dict[str, Any]]] = {
    "reset_peer": ("reset_peer", {"timeout": 0}),
    "timeout": ("timeout", {"timeout": 500}),
    "latency": ("latency", {"latency": 1000, "jitter": 0}),
}


class LiveProbe:
    def __init__(self, contract: Any, target: Target, *, jaeger: JaegerReader, logs: LogReader,
                 prometheus: PrometheusReader, pocketbase: PocketBaseClient | None,
                 toxiproxy: ToxiproxyClient | None) -> None:
        self.contract = contract
        self.target = target
        self.jaeger, self.logs, self.prometheus = jaeger, logs, prometheus
        self.pocketbase, self.toxiproxy = pocketbase, toxiproxy
        self._collected: Collected | None = None
        self._retries: dict[str, RetryRun] = {}
        self._health: list[HttpExchange] | None = None
        self._scraped = False

    def collected(self) -> Collected:
        if self._collected is None:
            self._collected = collect(self.contract, self.target.base_url, jaeger=self.jaeger, logs=self.logs,
                                      pocketbase=self.pocketbase, auth=self.target.auth_headers)
        return self._collected

    def trace_url(self) -> str:
        """Jaeger's trace page as a template: the checks fill in ``{trace_id}``."""
        return self.jaeger.trace_link("{trace_id}")

    def health(self) -> list[HttpExchange]:
        if self._health is None:
            steps = [RequestStep(method=h.method, path=h.path, expect_status=h.expect_status) for h in self.contract.health]
            self._health = run_workload(self.target.base_url, steps, auth=self.target.auth_headers)
        return self._health

    def auth(self) -> list[AuthExchange]:
        """Each endpoint behind the contract's token, asked without a token, with a wrong one and with it."""
        spec = self.contract.service.auth
        if spec is None:
            return []
        if not self.target.token:
            raise UsageError(f"{spec.loc or 'service.auth'}: no token for {self.target.base_url}: export {spec.env} "
                             f"with the token your service expects (obsconf generates one only for the reference "
                             f"service it starts)")
        wrong = "obsconf-wrong-" + secrets.token_hex(8)
        out = []
        for method, path in probe_paths(spec, self.contract.workload, self.contract.health):
            def ask(headers: dict[str, str], method: str = method, path: str = path) -> HttpExchange:
                step = RequestStep(method=method, path=path, headers=headers, expect_status=(200,))
                return run_workload(self.target.base_url, [step])[0]

            out.append(AuthExchange(method, path, anonymous=ask({}), wrong=ask({"Authorization": f"Bearer {wrong}"}),
                                    authorised=ask({"Authorization": f"Bearer {self.target.token}"}),
                                    wrong_token=wrong))
        return out

    def slo_report(self) -> tuple[Any, str]:
        url = f"{self.target.base_url}/v1/observability/slos"
        resp = requests.get(url, timeout=10, headers=self.target.auth_headers("/v1/observability/slos"))
        try:
            return resp.json(), url
        except ValueError:
            return resp.text, url

    def rules_text(self) -> str:
        alerts = self.contract.alerts
        return alerts.rules_file.read_text() if alerts is not None else ""

    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]:
        self.collected()  # the workload ran, so the metric has values
        if not self._scraped:
            self.prometheus.wait_for_target_up(self.target.job, timeout=15)
            self._scraped = True
        name = f"{spec.name}_count" if spec.type in ("histogram", "summary") else spec.name
        query = f'{name}{{job="{self.target.job}"}}'
        # the series is there after the next scrape (1 s interval) following the workload
        found = self.prometheus.wait_for(query, timeout=8)
        return found, query, self.prometheus.graph_link(query)

    def retry(self, spec: RetrySpec) -> RetryRun:
        if spec.operation not in self._retries:
            self._retries[spec.operation] = self._run_fault(spec)
        return self._retries[spec.operation]

    def _run_fault(self, spec: RetrySpec) -> RetryRun:
        self.collected()  # the normal workload first, so the fault does not leak into it
        metrics_url = self.target.base_url + self.contract.service.metrics_path
        metrics_headers = self.target.auth_headers(self.contract.service.metrics_path)
        _, before = scrape(metrics_url, headers=metrics_headers)
        started = time.time_ns()
        fault = spec.fault
        proxy = self.target.proxies.get(fault.target) if fault else None
        if fault is not None and (proxy is None or self.toxiproxy is None):
            raise UsageError(
                f"{spec.loc or spec.operation}: the fault on {fault.target!r} needs the target's {fault.target} "
                f"traffic to go through Toxiproxy, which obsconf sets up only for the reference service it starts "
                f"(proxies here: {sorted(self.target.proxies) or 'none'}). Deselect with -k 'not retries', or point "
                f"your service's {fault.target} client at a Toxiproxy proxy and run the reference-mode suite.")
        # hold the fault long enough for every attempt to fail: the sum of the backoff schedule, plus slack
        hold_s = sum(spec.backoff.window_ms(n)[1] for n in range(1, spec.max_attempts)) / 1000 + 0.5
        if fault is None or proxy is None or self.toxiproxy is None:
            exchanges = run_workload(self.target.base_url, spec.workload, variables={"run_id": f"r{started}"},
                                         auth=self.target.auth_headers)
        elif fault.toxic == "down":
            with self.toxiproxy.outage(proxy.name):
                began = time.monotonic()
                exchanges = run_workload(self.target.base_url, spec.workload, variables={"run_id": f"r{started}"},
                                         auth=self.target.auth_headers)
                time.sleep(max(0.0, hold_s - (time.monotonic() - began)))
        else:
            kind, attributes = TOXICS[fault.toxic]
            with self.toxiproxy.toxic(proxy.name, kind, {**attributes, **fault.attributes}):
                exchanges = run_workload(self.target.base_url, spec.workload, variables={"run_id": f"r{started}"},
                                         auth=self.target.auth_headers)
        trace_ids = [v.lower() for ex in exchanges for k, v in ex.headers.items() if k.lower() == "x-trace-id"]
        spans = [s for spans in read_traces(self.jaeger, self.contract.service.name, trace_ids, timeout=10).values()
                 for s in spans]
        labels = {"service": self.contract.service.name}
        time.sleep(1.0)  # retry WARN lines after the last request, shipped on the next flush
        logs = read_logs(self.logs, labels, started, [], timeout=10)
        _, after = scrape(metrics_url, headers=metrics_headers)
        return RetryRun(exchanges, spans, logs, before, after,
                        query=f"{selector(labels, None, self.logs.dialect)} since the fault", trace_url=self.trace_url())
