"""Alert drives: make the service's real series meet the contract's alert conditions on the seed instance
(a workload, a fault held on a dependency, or the service stopped) and watch which rules go pending or firing.

Prometheus evaluates a copy of the contract's rules renamed to the seed instance's scrape jobs; the verdict is
:func:`obsconf.checks.alerts.check_alert_drive`'s.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from obsconf.cases.inputs import DriveRun
from obsconf.checks.alerts import ACTIVE, most_active, parse_rules
from obsconf.contract.model import AlertDrive
from obsconf.errors import ObsconfError, UsageError
from obsconf.faults.inject import inject
from obsconf.live.collect import poll
from obsconf.model import HttpExchange
from obsconf.workload.run import expand_steps, run_workload

#: How long a drive waits, beyond its own seconds, for Prometheus to evaluate the rules on the new samples
#: (scrape 1 s + evaluation 1 s + the rate() window's second sample).
DRIVE_GRACE_S = 6.0


class AlertDrives:
    """The alert drives of one contract, each run once on the seed instance (``runs``: its
    :class:`obsconf.live.seedruns.SeedRuns`)."""

    def __init__(self, runs: Any, suffix: str) -> None:
        self.runs = runs
        self.suffix = suffix  # of the seed instance's job, its rule group and its extra scrape jobs
        self.probe = runs.probe
        self.contract = runs.contract
        self._rules_for: Any = None  # the seed instance the rules were loaded for (a restarted one needs them again)
        self._drives: dict[str, DriveRun] = {}

    def alert_drive(self, drive: AlertDrive) -> DriveRun:
        """What ``drive`` observed; it runs on first use."""
        if drive.name not in self._drives:
            self._drives[drive.name] = self._drive(drive)
        return self._drives[drive.name]

    def _load_rules(self, target: Any) -> str:
        """Load a copy of the contract's rules for ``target`` into Prometheus: its own group name, the
        service's job (and the seed's extra scrape jobs) renamed to the instance's, ``for:`` overridden when
        the contract says so. Returns the group name."""
        alerts = self.contract.alerts
        assert alerts is not None
        group = f"obsconf-{self.contract.id}{self.suffix}"
        if self._rules_for is target:
            return group
        stack = self.probe.runtime.stack()
        for job in alerts.scrape:
            stack.add_scrape_target(f"{job.job}{self.suffix}", target.address, job.path)
            target.scraped = (*target.scraped, f"{job.job}{self.suffix}")
        renames = {self.contract.service.name: target.job, **{j.job: f"{j.job}{self.suffix}" for j in alerts.scrape}}
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
        self._rules_for = target
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

    def _drive(self, drive: AlertDrive) -> DriveRun:
        target = self.runs.seed_instance()
        group = self._load_rules(target)
        prom = self.probe.prometheus
        prom.wait_for_target_up(target.job, timeout=15)
        jobs = tuple(dict.fromkeys((target.job, *target.scraped)))
        before = self._states(group, jobs)
        names = list(before) or (list(parse_rules(self.contract.alerts.rules_file.read_text()))
                                 if self.contract.alerts else [])
        watch = _RuleWatch(lambda: self._states(group, jobs), names, drive.fires,
                           {n: [before.get(n, "inactive")] for n in names})
        load = _DriveLoad(target, drive)
        try:
            window = self._hold(drive, target, watch, load)
        finally:
            load.halt.set()
        query = f"GET {prom.url}/api/v1/rules (group {group}, jobs {', '.join(jobs)})"
        return DriveRun(target.job, names, before, {n: most_active(v) for n, v in watch.seen.items()},
                        load.judged(window), query=query, link=f"{prom.url}/alerts")

    def _hold(self, drive: AlertDrive, target: Any, watch: _RuleWatch, load: _DriveLoad) -> tuple[float, float]:
        """Hold the drive's condition (a fault, a stopped service, or the workload alone) while watching the
        rules; returns the window in which the condition held (passes inside it are judged; 0.0: open end)."""
        deadline_s = drive.seconds + DRIVE_GRACE_S

        def held_and_fired(began: float) -> Callable[[], bool]:
            return lambda: time.monotonic() - began >= drive.seconds and watch.fired()

        if drive.fault is not None:
            dep = target.proxies.get(drive.fault.dependency)
            if dep is None or self.probe.toxiproxy is None:
                raise UsageError(f"{drive.loc or drive.name}: the fault on {drive.fault.dependency!r} needs the "
                                 "dependency behind a Toxiproxy proxy (declare it in service.dependencies)")
            with inject(self.probe.toxiproxy, dep.proxy, drive.fault.mode, drive.fault.attributes):
                began = time.monotonic()
                load.start()
                watch.until(held_and_fired(began), began + deadline_s)
                load.halt.set()
                return began, time.monotonic()  # a pass still in flight ends after the fault: not judged
        if drive.stop_service:
            # the process only: its scrape job stays, so Prometheus records the failed scrapes (up == 0)
            if target.process is not None:
                target.process.stop()
            began = time.monotonic()
            watch.until(watch.fired, began + deadline_s)
            return began, 0.0
        began = time.monotonic()
        load.start()
        watch.until(held_and_fired(began), began + deadline_s)
        return began, time.monotonic()


class _RuleWatch:
    """The states each rule went through during a drive, polled until a condition holds or a deadline."""

    def __init__(self, states: Callable[[], dict[str, str]], names: list[str], fires: Sequence[str],
                 seen: dict[str, list[str]]) -> None:
        self.states, self.names, self.fires, self.seen = states, names, fires, seen

    def until(self, done: Callable[[], bool], deadline: float) -> None:
        while time.monotonic() < deadline:
            now = self.states()
            for name in self.names:
                self.seen.setdefault(name, []).append(now.get(name, "inactive"))
            if done():
                return
            time.sleep(0.3)

    def fired(self) -> bool:
        return all(most_active(self.seen.get(n, [])) in ACTIVE for n in self.fires)


class _DriveLoad:
    """The drive's workload, run in passes on a thread until halted; each complete pass is kept with its times."""

    def __init__(self, target: Any, drive: AlertDrive) -> None:
        self.target, self.drive = target, drive
        self.passes: list[tuple[float, float, list[HttpExchange]]] = []
        self.halt = threading.Event()
        self.worker = threading.Thread(target=self._run, name=f"obsconf-drive-{drive.name}", daemon=True)

    def start(self) -> None:
        self.worker.start()

    def _run(self) -> None:
        i = 0
        while not self.halt.is_set() and self.drive.workload:
            began = time.monotonic()
            try:
                got = run_workload(self.target.base_url, self.drive.workload,
                                   variables={"run_id": f"drive-{self.drive.name}-{i}"}, timeout=10.0,
                                   auth=self.target.auth_headers)
                self.passes.append((began, time.monotonic(), got))
            except ObsconfError:
                pass  # a request the fault broke: no complete pass to judge
            i += 1
            self.halt.wait(0.05)

    def judged(self, window: tuple[float, float]) -> list[list[HttpExchange]]:
        """The complete passes that ran inside ``window`` (an end of 0.0: open)."""
        steps = len(expand_steps(self.drive.workload))
        return [got for began, ended, got in self.passes
                if len(got) == steps and began >= window[0] and (not window[1] or ended <= window[1])]
