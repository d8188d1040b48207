"""The live :class:`~obsconf.cases.case.Probe`: what the cases of one contract ask for, read from its target and
the real backends, lazily and once (the workload run, retry faults, health and auth requests, SLO report,
series, fault scenarios). The runs beyond the main workload are :mod:`obsconf.live.seedruns`'."""

from __future__ import annotations

import secrets
import time
from typing import Any

import requests

from obsconf.cases.inputs import RetryRun
from obsconf.checks.auth import probe_paths
from obsconf.contract.model import Contract, FaultScenarioSpec, MetricSpec, RequestStep, RetrySpec
from obsconf.errors import ObsconfError, TargetUnreachable, UsageError
from obsconf.faults.inject import inject
from obsconf.live.collect import Collected, collect, read_console, read_logs, read_traces
from obsconf.model import AuthExchange, Finding, HttpExchange, Series
from obsconf.readers.jaeger import JaegerReader
from obsconf.readers.logs import LogReader, selector
from obsconf.readers.metrics_text import scrape
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.readers.prometheus import PrometheusReader
from obsconf.stack.toxiproxy import ToxiproxyClient
from obsconf.target import Target
from obsconf.workload.run import run_workload


class LiveProbe:
    """Reads what one contract's target left in the backends; each kind of data is read once, on first use."""

    def __init__(self, contract: Contract, target: Target, *, jaeger: JaegerReader, logs: LogReader,
                 prometheus: PrometheusReader, pocketbase: PocketBaseClient | None,
                 toxiproxy: ToxiproxyClient | None, runtime: Any = None) -> None:
        self.contract = contract
        self.target = target
        self.runtime = runtime  # obsconf.session.runtime.SessionRuntime: starts fresh instances for fault scenarios
        self.jaeger, self.logs, self.prometheus = jaeger, logs, prometheus
        self.pocketbase, self.toxiproxy = pocketbase, toxiproxy
        self._collected: Collected | None = None
        self._retries: dict[str, RetryRun] = {}
        self._health: list[HttpExchange] | None = None
        self._scraped = False
        self.fault_results: list[Any] = []  # obsconf.faults.runner.FaultRun of each scenario run
        self._fault_batch: dict[str, Any] = {}  # scenario name -> FaultRun or error, run ahead of its case
        self._fault_batched: set[str] = set()  # every scenario name run so far
        self._seed_runs: Any = None  # obsconf.live.seedruns.SeedRuns, made on first use
        self.load_result: Any = None  # obsconf.load.collect.LoadResult, under --obsconf-load locust

    def collected(self) -> Collected:
        if self._collected is None:
            self._seed().start_early()
            options = getattr(self.runtime, "load", None)
            if options is not None and self.contract.load is not None:
                self._collected = self._collect_under_load(options)
            else:
                self._collected = collect(self.contract, self.target, jaeger=self.jaeger, logs=self.logs,
                                          pocketbase=self.pocketbase, auth=self.target.auth_headers)
        return self._collected

    def _collect_under_load(self, options: Any) -> Collected:
        """The contract's Locust load is the workload: every case reads what it produced."""
        from obsconf.load.collect import Backends, collect_under_load
        from obsconf.load.report import write_locust_html
        from obsconf.target import sample_rate

        runtime = self.runtime
        auth = self.contract.service.auth
        plan = options.plan(self.contract.load, self.target.base_url, propagate=sample_rate(self.contract) >= 1.0,
                            log_dir=runtime.report_dir / "services" / f"{self.contract.id}-locust",
                            registry=runtime.settings.run_dir, auth_paths=auth.paths if auth else (),
                            auth_token=self.target.token)
        got, self.load_result = collect_under_load(
            self.contract, self.target, plan, Backends(self.jaeger, self.logs, self.prometheus, self.pocketbase),
            progress=lambda line: runtime.progress(f"{self.contract.name}: {line}"),
            run_id=runtime.run_id, auth=self.target.auth_headers)
        self.load_result.html_path = str(write_locust_html(self.load_result, runtime.report_dir))
        return got

    def load(self) -> Any:
        """What the contract's load produced (the accounting, the SLOs); runs it on first use."""
        if getattr(self.runtime, "load", None) is None or self.contract.load is None:
            raise UsageError(f"{self.contract.name}: the load cases need --obsconf-load locust and a 'load' section")
        self.collected()
        return self.load_result

    def trace_url(self) -> str:
        """Jaeger's trace page as a template: the checks fill in ``{trace_id}``."""
        return self.jaeger.trace_link("{trace_id}")

    def health(self) -> list[HttpExchange]:
        if self._health is None:
            self._health = []
            for h in self.contract.health:
                # a health endpoint on one of the service's listeners is asked on that listener's port
                base = self.target.listener_url(h.listener) if h.listener else self.target.base_url
                step = RequestStep(method=h.method, path=h.path, expect_status=h.expect_status)
                try:
                    self._health += run_workload(base, [step], auth=self.target.auth_headers)
                except TargetUnreachable as exc:
                    # nothing listens there (a port the service ignored): the check reports status 0
                    self._health.append(HttpExchange(h.method, base + h.path, 0, {}, str(exc), 0.0))
        return self._health

    def auth(self) -> list[AuthExchange]:
        """Each endpoint behind the contract's token, asked without a token, with a wrong one and with it."""
        spec = self.contract.service.auth
        if spec is None:
            return []
        if not self.target.token:
            raise UsageError(f"{spec.loc or 'service.auth'}: no token for {self.target.base_url}: export {spec.env} "
                             f"with the token your service expects (obsconf generates one only for a service it "
                             f"starts itself)")
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

    # ---- the runs of obsconf.live.seedruns: a seed instance, alert drives, SLO env, budgets, indexes ----
    def _seed(self) -> Any:
        if self._seed_runs is None:
            from obsconf.live.seedruns import SeedRuns

            self._seed_runs = SeedRuns(self)
        return self._seed_runs

    def series_ready(self) -> None:
        """Wait until Prometheus scrapes this target (the PromQL cases read its series)."""
        self.collected()
        if not self._scraped:
            try:
                self.prometheus.wait_for_target_up(self.target.job, timeout=15)
            except ObsconfError as exc:
                raise ObsconfError(f"{exc}. The PromQL cases need Prometheus to scrape this service as job "
                                   f"{self.target.job!r} at {self.target.address}{self.contract.service.metrics_path}"
                                   " (obsconf registers that job itself, except in an external stack)") from None
            self._scraped = True

    def store_indexes(self) -> tuple[list[str] | None, str]:
        return self._seed().store_indexes()

    def sampling_run(self) -> Any:
        return self._seed().sampling_run()

    def alert_drive(self, drive: Any) -> Any:
        return self._seed().alert_drive(drive)

    def slo_env_report(self) -> tuple[Any, str]:
        return self._seed().slo_env_report()

    def slo_values(self) -> tuple[dict[str, list[Series]], str]:
        return self._seed().slo_values()

    def dashboard(self, spec: Any) -> tuple[list[Series], str, str]:
        return self._seed().dashboard(spec)

    def budget(self, key: str) -> Any:
        return self._seed().budget(key)

    def slo_report(self) -> tuple[Any, str]:
        path = self.contract.service.slo_path
        if not path:
            raise UsageError(f"{self.contract.name}: the SLO definitions case needs service.slo_path, the path "
                             "where the service reports its SLOs")
        url = f"{self.target.base_url}{path}"
        try:
            resp = requests.get(url, timeout=10, headers=self.target.auth_headers(path))
        except requests.RequestException as exc:
            raise TargetUnreachable(f"GET {url} failed: {type(exc).__name__}: {exc}") from None
        try:
            return resp.json(), url
        except ValueError:
            return resp.text, url

    def rules_text(self) -> str:
        alerts = self.contract.alerts
        return alerts.rules_file.read_text() if alerts is not None else ""

    def series(self, spec: MetricSpec) -> tuple[list[Series], str, str]:
        self.series_ready()  # the workload ran, so the metric has values
        name = f"{spec.name}_count" if spec.type in ("histogram", "summary") else spec.name
        # the __name__ matcher also selects UTF-8 metric names, which Prometheus 3 allows
        query = f'{{__name__="{name}",job="{self.target.job}"}}'
        # the series is there after the next scrape (1 s interval) following the workload
        found = self.prometheus.wait_for(query, timeout=8)
        return found, query, self.prometheus.graph_link(query)

    def fault(self, spec: FaultScenarioSpec) -> list[Finding]:
        """Run one fault scenario of the contract and judge it."""
        from obsconf.faults.runner import run_fault_scenario
        from obsconf.faults.verdict import judge_fault

        self.collected()  # the normal workload first: the scenario's faults must not leak into it
        run = self._fresh_fault_run(spec) if spec.fresh_instance else run_fault_scenario(spec, self)
        self.fault_results.append(run)
        return judge_fault(spec, run)

    def _fresh_fault_run(self, spec: FaultScenarioSpec) -> Any:
        """The first selected scenario on a fresh instance runs every selected one side by side; each case
        then judges its own."""
        from obsconf.cases.case import case_id
        from obsconf.faults.runner import run_fault_scenarios

        if spec.name not in self._fault_batch:
            runtime = self.runtime
            workers = getattr(runtime, "fault_workers", 1)
            batch = [spec]
            if workers > 1:
                batch += [s for s in self.contract.faults if s.fresh_instance and s is not spec
                          and s.name not in self._fault_batched
                          and runtime.is_selected(case_id(self.contract, "faults", s.name))]
            self._fault_batched.update(s.name for s in batch)
            if len(batch) > 1:
                runtime.progress(f"{self.contract.name}: {len(batch)} fault scenarios, each on a fresh instance, "
                                 f"{workers} at a time (--obsconf-fault-workers)")
            self._fault_batch.update(run_fault_scenarios(batch, self, workers=workers))
        result = self._fault_batch.pop(spec.name)
        if isinstance(result, Exception):
            raise result
        return result

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
        console_mark = self.target.stdout_size()
        fault = spec.fault
        variables = {"run_id": f"r{started}"}
        traffic = -1
        if fault is None:
            exchanges = run_workload(self.target.base_url, spec.workload, variables=variables,
                                     auth=self.target.auth_headers)
        else:
            dep = self.target.proxies.get(fault.dependency)
            if dep is None or self.toxiproxy is None:
                raise UsageError(
                    f"{spec.loc or spec.operation}: the fault on {fault.dependency!r} needs the service's traffic to "
                    f"go through a Toxiproxy proxy, which obsconf sets up only for a service it starts itself (this "
                    f"one is {self.target.plan.describe()}); give service.command or --obsconf-target-cmd, or "
                    "deselect with -k 'not retries'")
            # hold the fault long enough for every attempt to fail: the sum of the backoff schedule, plus slack
            hold_s = sum(spec.backoff.window_ms(n)[1] for n in range(1, spec.max_attempts)) / 1000 + 0.5
            with inject(self.toxiproxy, dep.proxy, fault.mode, fault.attributes):
                began = time.monotonic()
                exchanges = run_workload(self.target.base_url, spec.workload, variables=variables,
                                         auth=self.target.auth_headers)
                time.sleep(max(0.0, hold_s - (time.monotonic() - began)))

        trace_ids = [x.trace_id for x in exchanges if x.trace_id]
        spans = [s for spans in read_traces(self.jaeger, self.contract.service.name, trace_ids, timeout=10).values()
                 for s in spans]
        logs_spec = self.contract.logs
        time.sleep(1.0)  # retry WARN lines after the last request, shipped on the next flush
        logs, query = [], "(no logs section)"
        if logs_spec is not None:
            trace_field = logs_spec.correlation.trace_id_field if logs_spec.correlation else "trace_id"
            if "loki" in logs_spec.sources:
                logs += read_logs(self.logs, logs_spec.stream, started, [], timeout=10, trace_field=trace_field)
                query = f"{selector(logs_spec.stream, None, self.logs.dialect)} since the fault"
            if "console" in logs_spec.sources and self.target.stdout_path is not None:
                logs += read_console(self.target, console_mark, [], timeout=3, trace_field=trace_field)
                query = "stdout since the fault" if "loki" not in logs_spec.sources else query + " and stdout"
        _, after = scrape(metrics_url, headers=metrics_headers)
        if fault is not None:
            # a refused or reset connection never reaches the dependency; what counts is that the service
            # calls it through the proxy at all (before, during or after the fault)
            traffic = self.target.traffic().get(fault.dependency, 0)
        return RetryRun(exchanges, spans, logs, before, after, query=query, trace_url=self.trace_url(),
                        traffic=traffic)
