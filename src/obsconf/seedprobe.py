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
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsconf.checks.alerts import ACTIVE, most_active, parse_rules
from obsconf.checks.binomial import requests_needed
from obsconf.checks.budgets import Measurement, Unmeasurable
from obsconf.checks.slos import env_targets
from obsconf.contract.model import AlertDrive, Contract, DashboardSpec, RequestStep, Step
from obsconf.errors import ObsconfError, UsageError
from obsconf.faults.inject import inject
from obsconf.model import Finding, HttpExchange, Series, Span
from obsconf.waiting import poll
from obsconf.workload import expand_steps, run_workload

SEED_SUFFIX = "-seed"
SEED_INSTANCE_ID = "obsconf-seed-instance"
#: How long a drive waits, beyond its own seconds, for Prometheus to evaluate the rules on the new samples
#: (scrape 1 s + evaluation 1 s + the rate() window's second sample).
DRIVE_GRACE_S = 6.0


@dataclass
class SamplingRun:
    """The requests of a sampling run and the server spans found for them."""

    exchanges: list[HttpExchange]
    spans: list[Span]
    rate: float
    query: str = ""
    findings: list[Finding] = field(default_factory=list)


@dataclass
class DriveRun:
    """What one alert drive observed: each rule's state before it and the most active state during it."""

    job: str
    rule_names: list[str]
    before: dict[str, str]
    seen: dict[str, str]
    passes: list[list[HttpExchange]] = field(default_factory=list)
    query: str = ""
    link: str = ""
    findings: list[Finding] = field(default_factory=list)


def _sampled_steps(contract: Contract) -> tuple[Step, ...]:
    sampling = contract.spans.sampling if contract.spans else None
    steps = sampling.workload if sampling and sampling.workload else contract.workload
    return tuple(s for s in steps if isinstance(s, RequestStep))


class SeedCases:
    """The extra live data of one contract's probe (``probe``: a :class:`obsconf.probe.LiveProbe`)."""

    def __init__(self, probe: Any) -> None:
        self.probe = probe
        self.contract: Contract = probe.contract
        self._seed: Any = None
        self._seed_lock = threading.Lock()
        self._rules_loaded: str | None = None
        self._sampling: SamplingRun | None = None
        self._drives: dict[str, DriveRun] = {}
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
                self._rules_loaded = None
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
                from obsconf.collect import read_traces

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

    # ---- alerts ----------------------------------------------------------------------------------------------
    def _load_rules(self, target: Any) -> str:
        """Load a copy of the contract's rules for ``target`` into Prometheus: its own group name, the
        service's job (and the seed's extra scrape jobs) renamed to the instance's, ``for:`` overridden when
        the contract says so. Returns the group name."""
        alerts = self.contract.alerts
        assert alerts is not None
        group = f"obsconf-{self.contract.id}{SEED_SUFFIX}"
        if self._rules_loaded == group:
            return group
        stack = self.probe.runtime.stack()
        for job in alerts.scrape:
            stack.add_scrape_target(f"{job.job}{SEED_SUFFIX}", target.address, job.path)
            target.scraped = (*target.scraped, f"{job.job}{SEED_SUFFIX}")
        renames = {self.contract.service.name: target.job, **{j.job: f"{j.job}{SEED_SUFFIX}" for j in alerts.scrape}}
        data = yaml.safe_load(alerts.rules_file.read_text(encoding="utf-8")) or {}
        rules = []
        for grp in data.get("groups", []) if isinstance(data, dict) else []:
            for rule in grp.get("rules", []) or []:
                if not isinstance(rule, dict) or "alert" not in rule:
                    continue
                rule = dict(rule)
                expr = str(rule.get("expr", ""))
                for old, new in renames.items():
                    expr = expr.replace(f'job="{old}"', f'job="{new}"').replace(f"job='{old}'", f"job='{new}'")
                rule["expr"] = expr
                if alerts.for_override is not None:
                    rule["for"] = alerts.for_override
                rules.append(rule)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, prefix="obsconf-rules-") as fh:
            yaml.safe_dump({"groups": [{"name": group, "interval": "1s", "rules": rules}]}, fh, sort_keys=False)
            copy = Path(fh.name)
        try:
            stack.add_rules(group, copy)
        finally:
            copy.unlink(missing_ok=True)
        prom = self.probe.prometheus
        poll(lambda: [g for g in prom.rule_groups() if g.get("name") == group], bool, timeout=10.0, interval=0.2)
        self._rules_loaded = group
        return group

    def _states(self, group: str, jobs: Sequence[str]) -> dict[str, str]:
        """Each rule of ``group``: the most active state of its alerts for one of ``jobs`` (the instance's own
        scrape jobs), or with no job label (a rule that aggregates the job away)."""
        out: dict[str, str] = {}
        for grp in self.probe.prometheus.rule_groups():
            if grp.get("name") != group:
                continue
            for rule in grp.get("rules", []):
                if rule.get("type") != "alerting":
                    continue
                states = [a.get("state", "inactive") for a in rule.get("alerts", [])
                          if a.get("labels", {}).get("job") in (*jobs, None)]
                out[rule["name"]] = most_active(states)
        return out

    def alert_drive(self, drive: AlertDrive) -> DriveRun:
        if drive.name not in self._drives:
            self._drives[drive.name] = self._drive(drive)
        return self._drives[drive.name]

    def _drive(self, drive: AlertDrive) -> DriveRun:
        target = self.seed_instance()
        group = self._load_rules(target)
        prom = self.probe.prometheus
        prom.wait_for_target_up(target.job, timeout=15)
        jobs = tuple(dict.fromkeys((target.job, *target.scraped)))
        before = self._states(group, jobs)
        names = list(before) or (list(parse_rules(self.contract.alerts.rules_file.read_text()))
                                 if self.contract.alerts else [])
        seen: dict[str, list[str]] = {n: [before.get(n, "inactive")] for n in names}
        passes: list[tuple[float, float, list[HttpExchange]]] = []
        halt = threading.Event()

        def load() -> None:
            i = 0
            while not halt.is_set() and drive.workload:
                began = time.monotonic()
                try:
                    got = run_workload(target.base_url, drive.workload,
                                       variables={"run_id": f"drive-{drive.name}-{i}"}, timeout=10.0,
                                       auth=target.auth_headers)
                    passes.append((began, time.monotonic(), got))
                except ObsconfError:
                    pass  # a request the fault broke: no complete pass to judge
                i += 1
                halt.wait(0.05)

        def watch(until: Callable[[], bool], deadline: float) -> None:
            while time.monotonic() < deadline:
                now = self._states(group, jobs)
                for name in names:
                    seen.setdefault(name, []).append(now.get(name, "inactive"))
                if until():
                    return
                time.sleep(0.3)

        def fired() -> bool:
            return all(most_active(seen.get(n, [])) in ACTIVE for n in drive.fires)

        worker = threading.Thread(target=load, name=f"obsconf-drive-{drive.name}", daemon=True)
        window = [0.0, 0.0]  # when the drive's condition held: passes inside it are judged
        try:
            if drive.fault is not None:
                dep = target.proxies.get(drive.fault.dependency)
                if dep is None or self.probe.toxiproxy is None:
                    raise UsageError(f"{drive.loc or drive.name}: the fault on {drive.fault.dependency!r} needs the "
                                     "dependency behind a Toxiproxy proxy (declare it in service.dependencies)")
                with inject(self.probe.toxiproxy, dep.proxy, drive.fault.mode, drive.fault.attributes):
                    window[0] = began = time.monotonic()
                    worker.start()
                    watch(lambda: time.monotonic() - began >= drive.seconds and fired(),
                          began + drive.seconds + DRIVE_GRACE_S)
                    halt.set()
                    window[1] = time.monotonic()  # a pass still in flight ends after the fault: not judged
            elif drive.stop_service:
                # the process only: its scrape job stays, so Prometheus records the failed scrapes (up == 0)
                if target.process is not None:
                    target.process.stop()
                window[0] = began = time.monotonic()
                watch(fired, began + drive.seconds + DRIVE_GRACE_S)
            else:
                window[0] = began = time.monotonic()
                worker.start()
                watch(lambda: time.monotonic() - began >= drive.seconds and fired(),
                      began + drive.seconds + DRIVE_GRACE_S)
                window[1] = time.monotonic()
        finally:
            halt.set()
        steps = len(expand_steps(drive.workload))
        judged = [got for began, ended, got in passes
                  if len(got) == steps and began >= window[0] and (not window[1] or ended <= window[1])]
        query = f"GET {prom.url}/api/v1/rules (group {group}, jobs {', '.join(jobs)})"
        return DriveRun(target.job, names, before, {n: most_active(v) for n, v in seen.items()}, judged,
                        query=query, link=f"{prom.url}/alerts")

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
            from obsconf.budgets import measure_budget

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
