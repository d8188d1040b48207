"""The live side of the cases that need more than the contract's one workload run: sampling at the seed's own
rate, alerts driven on real series, SLO targets from their variables, the log store's indexes, the seed's
dashboard queries, and the overhead budgets.

Sampling and alert drives run against a second instance of the service, the *seed instance*: started with the
seed's sample rate, scraped as its own Prometheus job (``<service>-seed``), so its series carry no history of
the main run and its traces are told apart by their resource (``service.instance.id``). Everything here reads
backends; the verdicts are the pure checks' (:mod:`obsconf.checks`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from obsconf.cases.inputs import DriveRun, SamplingRun
from obsconf.checks.binomial import requests_needed
from obsconf.checks.budgets import Measurement, Unmeasurable
from obsconf.checks.slos import env_targets
from obsconf.contract.model import AlertDrive, Contract, DashboardSpec, RequestStep, Step
from obsconf.errors import ObsconfError, UsageError
from obsconf.live.alertdrives import AlertDrives
from obsconf.model import Finding, HttpExchange, Series, Span
from obsconf.waiting import poll
from obsconf.workload.run import run_workload

SEED_SUFFIX = "-seed"
SEED_INSTANCE_ID = "obsconf-seed-instance"


def _sampled_steps(contract: Contract) -> tuple[Step, ...]:
    sampling = contract.spans.sampling if contract.spans else None
    steps = sampling.workload if sampling and sampling.workload else contract.workload
    return tuple(s for s in steps if isinstance(s, RequestStep))


class SeedRuns:
    """The runs of one contract beyond its main workload (``probe``: its :class:`obsconf.live.probe.LiveProbe`):
    the seed instance and what runs on it (sampling, alert drives), SLO targets, dashboards, budgets, indexes."""

    def __init__(self, probe: Any) -> None:
        self.probe = probe
        self.contract: Contract = probe.contract
        self._seed: Any = None
        self._seed_lock = threading.Lock()
        self._sampling: SamplingRun | None = None
        self._alert_drives = AlertDrives(self, SEED_SUFFIX)
        self._budgets: dict[str, Measurement | Unmeasurable] = {}
        self._rates_ready = False

    # ---- the seed instance ---------------------------------------------------------------------------------
    def seed_env(self) -> dict[str, str]:
        """The variables the seed instance starts with: the seed's sample rate, and its own resource id."""
        env: dict[str, str] = {}
        sampling = self.contract.spans.sampling if self.contract.spans else None
        if sampling is not None and sampling.seed_default is not None and sampling.env:
            env[sampling.env] = f"{sampling.seed_default:g}"
            env["OTEL_TRACES_SAMPLER_ARG"] = f"{sampling.seed_default:g}"
        main = self.probe.target.env.get("OTEL_RESOURCE_ATTRIBUTES", f"service.name={self.contract.service.name}")
        env["OTEL_RESOURCE_ATTRIBUTES"] = f"{main},service.instance.id={SEED_INSTANCE_ID}"
        return env

    def needs_seed(self) -> bool:
        """Whether a selected case of the contract runs on the seed instance (sampling at the seed's rate, drives)."""
        runtime = self.probe.runtime
        sampling = self.contract.spans.sampling if self.contract.spans else None
        sampled = sampling is not None and sampling.seed_default is not None and sampling.seed_default != sampling.run_rate
        drives = self.contract.alerts is not None and bool(self.contract.alerts.drives)
        if runtime is None or not self.probe.target.started:
            return False
        return (sampled and runtime.wants(self.contract, "spans.sampling")) or (
            drives and runtime.wants(self.contract, "alerts.live"))

    def start_early(self) -> None:
        """Start the seed instance in the background (while the main workload runs and its data is read), so
        the cases that need it do not wait for a second start; a failure shows when a case asks for it."""
        if not self.needs_seed():
            return

        def start() -> None:
            try:
                self.seed_instance()
            except ObsconfError:
                pass  # asked again by the case that needs it, which then reports the error

        threading.Thread(target=start, name=f"obsconf-seed-{self.contract.id}", daemon=True).start()

    def rates_ready(self) -> None:
        """Make every series the workload touches move between two scrapes, so that rate() over them has an
        increase to show: a series a service creates on first use appears at its first value, which rate()
        does not count. Runs the contract's workload once more, after Prometheus scraped the first run."""
        if self._rates_ready:
            return
        self.probe.series_ready()
        got = self.probe.collected()
        time.sleep(max(0.0, 1.2 - (time.time_ns() - got.started_ns) / 1e9))
        run_workload(self.probe.target.base_url, self.contract.workload, variables={"run_id": got.run_id + "-rates"},
                     auth=self.probe.target.auth_headers)
        self._rates_ready = True

    def seed_instance(self) -> Any:
        """The seed instance, started on first use (again if a drive stopped it)."""
        with self._seed_lock:
            if self._seed is None or not self._seed.started or self._seed.alive() is not None:
                runtime = self.probe.runtime
                if runtime is None or not self.probe.target.started:
                    raise UsageError(f"{self.contract.name}: sampling at the seed's rate and alert drives run on a "
                                     "second instance of the service, which obsconf can start only for a service it "
                                     "starts itself; give service.command or --obsconf-target-cmd")
                self._seed = runtime.start_service(self.contract, env=self.seed_env(), suffix=SEED_SUFFIX)
            return self._seed

    # ---- sampling ------------------------------------------------------------------------------------------
    def sampling_run(self) -> SamplingRun:
        if self._sampling is None:
            self._sampling = self._sample()
        return self._sampling

    def _sample(self) -> SamplingRun:
        sampling = self.contract.spans.sampling if self.contract.spans else None
        assert sampling is not None
        if sampling.seed_default is None or sampling.seed_default == sampling.run_rate:
            got = self.probe.collected()
            rate = sampling.run_rate
            if sampling.workload:
                exchanges = run_workload(self.probe.target.base_url, sampling.workload,
                                         variables={"run_id": got.run_id + "-sampling"}, propagate=rate >= 1.0,
                                         auth=self.probe.target.auth_headers)
                from obsconf.live.collect import read_traces

                traces = read_traces(self.probe.jaeger, self.contract.service.name,
                                     [x.trace_id for x in exchanges if x.trace_id], timeout=10)
                return SamplingRun(exchanges, [s for t in traces.values() for s in t], rate,
                                   query=got.queries.get("traces", ""))
            return SamplingRun(got.exchanges, got.spans, rate, query=got.queries.get("traces", ""))
        rate = sampling.seed_default
        target = self.seed_instance()
        steps = _sampled_steps(self.contract)
        if not steps:
            return SamplingRun([], [], rate, findings=[Finding(
                "spans.sampling", sampling.loc, "no request step to sample: give spans.sampling.workload")])
        started_ns = time.time_ns()
        exchanges = self._requests_until(target.base_url, steps, requests_needed(rate), sampling, target.auth_headers)
        spans = self._instance_spans(started_ns, len(exchanges))
        query = (f"GET {self.probe.jaeger.url}/api/traces?service={self.contract.service.name} since the run began, "
                 f"resource service.instance.id={SEED_INSTANCE_ID}")
        return SamplingRun(exchanges, spans, rate, query=query)

    @staticmethod
    def _requests_until(base: str, steps: Sequence[RequestStep], needed: int, sampling: Any,
                        auth: Any = None) -> list[HttpExchange]:
        """One pass over ``steps`` (no traceparent: the service's own sampler decides), then passes over its
        ordinary steps only - neither errors, nor slow, nor always-sampled paths - until ``needed`` ordinary
        requests were made; four at a time."""
        from urllib.parse import urlsplit

        first = run_workload(base, steps, variables={"run_id": "sampling-0"}, propagate=False, auth=auth)
        slow = sampling.always_sample_slow_ms

        def ordinary(x: HttpExchange) -> bool:
            path = urlsplit(x.url).path
            return (x.status < 400 and (slow is None or x.elapsed_ms < slow)
                    and not any(path == p or path.startswith(p.rstrip("/") + "/") for p in sampling.always_sample_paths))

        plain: list[RequestStep] = []
        i = 0
        for step in steps:
            got = first[i:i + step.repeat]
            i += step.repeat
            if got and all(ordinary(x) for x in got):
                plain.append(step)
        out = list(first)
        per_pass = sum(s.repeat for s in plain)
        have = sum(1 for x in first if ordinary(x))
        passes = math.ceil(max(0, needed - have) / per_pass) if per_pass else 0
        if passes:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for got in pool.map(lambda n: run_workload(base, plain, variables={"run_id": f"sampling-{n}"},
                                                           propagate=False, auth=auth), range(1, passes + 1)):
                    out += got
        return out

    def _instance_spans(self, started_ns: int, sent: int) -> list[Span]:
        """The seed instance's spans of the traces that began after ``started_ns``, once their count settles."""
        jaeger, service = self.probe.jaeger, self.contract.service.name
        since_us = started_ns // 1000 - 500_000

        def fetch() -> list[Span]:
            out = []
            for trace in jaeger.traces(service, lookback_s=900, limit=max(500, 2 * sent)):
                mine = [s for s in trace if s.resource.get("service.instance.id") == SEED_INSTANCE_ID]
                if mine and min(s.start_us for s in mine) >= since_us:
                    out += mine
            return out

        time.sleep(0.8)  # the batch span processor's delay, and the tail keeps of slow requests
        return list(poll(fetch, lambda _: False, timeout=10.0, interval=0.4, progress=len, quiet=1.2))

    # ---- alerts (obsconf.live.alertdrives) -------------------------------------------------------------------------
    def alert_drive(self, drive: AlertDrive) -> DriveRun:
        return self._alert_drives.alert_drive(drive)

    # ---- SLOs ------------------------------------------------------------------------------------------------
    def slo_env_report(self) -> tuple[Any, str]:
        """The SLO report of an instance started with each SLO variable set to another value than its target."""
        import requests

        runtime = self.probe.runtime
        if runtime is None or not self.probe.target.started:
            raise UsageError(f"{self.contract.name}: checking that SLO targets follow their variables needs a second "
                             "instance of the service, which obsconf starts only for a service it starts itself")
        path = self.contract.service.slo_path
        target = runtime.start_service(self.contract, env=env_targets(self.contract.slos), suffix="-slo-env")
        try:
            url = f"{target.base_url}{path}"
            resp = requests.get(url, timeout=10, headers=target.auth_headers(path))
            try:
                return resp.json(), url
            except ValueError:
                return resp.text, url
        finally:
            target.stop()

    def slo_values(self) -> tuple[dict[str, list[Series]], str]:
        """Each SLO's PromQL, evaluated once the service's series are scraped after the workload."""
        prom = self.probe.prometheus
        self.rates_ready()
        out: dict[str, list[Series]] = {}
        for slo in self.contract.slos:
            if slo.expression:
                out[slo.name] = prom.wait_for(slo.expression, timeout=6.0,
                                              predicate=lambda got: any(not math.isnan(s.points[-1][1]) for s in got))
        return out, f"{prom.url}/graph"

    # ---- dashboards ------------------------------------------------------------------------------------------
    def dashboard(self, spec: DashboardSpec) -> tuple[list[Series], str, str]:
        prom = self.probe.prometheus
        self.rates_ready()
        job = self.probe.target.job

        def ours(got: list[Series]) -> bool:
            return any(s.labels.get("job") in (job, None) and not math.isnan(s.points[-1][1]) for s in got)

        return prom.wait_for(spec.expr, timeout=6.0, predicate=ours), spec.expr, prom.graph_link(spec.expr)

    # ---- budgets ---------------------------------------------------------------------------------------------
    def budget(self, key: str) -> Measurement | Unmeasurable:
        if key not in self._budgets:
            from obsconf.live.budgets import measure_budget

            self._budgets[key] = measure_budget(key, self.contract, self.probe.target,
                                                report_dir=getattr(self.probe.runtime, "report_dir", None))
        return self._budgets[key]

    # ---- the log store -------------------------------------------------------------------------------------
    def store_indexes(self) -> tuple[list[str] | None, str]:
        store = self.contract.logs.store if self.contract.logs else None
        pb = self.probe.pocketbase
        if store is None or pb is None:
            return None, "no PocketBase in this stack"
        query = f"GET {pb.url}/api/collections/{store.collection}"
        resp = pb.request("GET", f"/api/collections/{store.collection}")
        if resp.status_code != 200:
            return None, query
        return list(resp.json().get("indexes") or []), query
