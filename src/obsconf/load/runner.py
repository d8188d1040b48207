"""Run a contract's Locust user class headless through Locust's library API (``locust.env.Environment``
and its runners), in this process or as a master with worker processes on loopback.

Every request carries a fresh W3C ``traceparent`` and is recorded (:mod:`obsconf.load.record`). Users stop
gracefully (``stop_timeout``): a request in flight completes and is recorded, so what the service received
and what Locust sent can be compared exactly. With workers, each worker ships its records inside its stats
reports to the master, and the master waits for every worker's final report after the stop.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsconf.errors import ObsconfError
from obsconf.load.record import Recorder, as_exchange, load_user_class, protected_paths_auth, traced_class
from obsconf.model import HttpExchange

#: seconds between progress lines while a load runs
PROGRESS_EVERY_S = 5.0
#: seconds to wait for workers to connect, and for their final reports after the stop
WORKER_TIMEOUT_S = 60.0


#: where a worker process finds the session's bearer token (see LoadPlan.auth_token)
AUTH_TOKEN_ENV = "OBSCONF_LOAD_AUTH_TOKEN"


@dataclass(frozen=True)
class LoadPlan:
    """One load: which user class, against which host, how hard and how long."""

    locustfile: Path
    user_class: str
    host: str
    users: int = 20
    spawn_rate: float = 10.0
    seconds: float = 30.0
    workers: int = 0  # 0: a local runner in this process; N: a master here and N worker processes
    remote_workers: int = 0  # workers started by the user (other machines); the master waits for them too
    master_port: int = 0  # the master's port on 127.0.0.1 (0: a free one)
    propagate: bool = True  # add a sampled traceparent to each request (off below sample rate 1.0)
    auth_paths: tuple[str, ...] = ()  # the contract's service.auth paths, which need the session's token
    auth_token: str = field(default="", repr=False)
    stop_timeout: float = 10.0  # users finish the task they are in when the time is up
    log_dir: Path | None = None  # where worker processes write their output
    registry: Path | None = None  # the session's registry of children (reaped if the session dies)

    def describe(self) -> str:
        how = f"{self.worker_count} workers" if self.worker_count else "local runner"
        return (f"{self.user_class} ({self.locustfile.name}), {self.users} users at {self.spawn_rate:g}/s for "
                f"{self.seconds:g} s, {how}")

    @property
    def worker_count(self) -> int:
        return self.workers + self.remote_workers


@dataclass
class LoadRun:
    """What a load did: its window, every request it made, Locust's statistics and HTML report."""

    plan: LoadPlan
    started_ns: int
    ended_ns: int
    records: list[dict[str, Any]]
    stats: dict[str, Any]
    html: str = ""
    scripted: list[HttpExchange] = field(default_factory=list)  # the contract's workload, sent during the load
    exceptions: list[str] = field(default_factory=list)  # errors raised in the user class's own code

    def exchanges(self) -> list[HttpExchange]:
        """Every request Locust made, as exchanges (in the order Locust reported them)."""
        return [as_exchange(r) for r in self.records]


def stats_summary(stats: Any) -> dict[str, Any]:
    """Locust's ``RequestStats`` as plain data: one entry per (method, name), the total and the errors."""
    entries = [{**e.to_dict(), "p95_ms": e.get_response_time_percentile(0.95)}
               for e in sorted(stats.entries.values(), key=lambda e: (e.name, e.method))]
    total = stats.total.to_dict()
    total["p95_ms"] = stats.total.get_response_time_percentile(0.95)
    errors = [{"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
              for e in stats.errors.values()]
    return {"entries": entries, "total": total, "errors": errors}


def _progress_loop(runner: Any, plan: LoadPlan, began: float, say: Callable[[str], None]) -> None:
    import gevent

    while True:
        gevent.sleep(PROGRESS_EVERY_S)
        total = runner.stats.total
        say(f"load {time.monotonic() - began:4.0f}/{plan.seconds:g} s: {runner.user_count} users, "
            f"{total.current_rps:5.1f} req/s, {total.num_requests} requests, {total.num_failures} failures")


def run_load(plan: LoadPlan, *, progress: Callable[[str], None],
             during: Callable[[], list[HttpExchange]] | None = None) -> LoadRun:
    """Run ``plan`` to its end and return what it did. ``during`` runs once, after the users are spawned,
    while the load goes on (the contract's scripted workload); an error it raises is re-raised after the
    load stopped. Raises ObsconfError when workers do not connect or report."""
    import gevent
    from locust import events
    from locust.env import Environment
    from locust.stats import stats_history

    user_class = traced_class(load_user_class(plan.locustfile, plan.user_class), plan.propagate,
                              protected_paths_auth(plan.auth_paths, plan.auth_token))
    recorder = Recorder()
    env = Environment(user_classes=[user_class], host=plan.host, events=events, stop_timeout=plan.stop_timeout)
    workers: list[Any] = []  # obsconf.stack.process.ManagedProcess of each local worker
    finals: dict[str, bool] = {}

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        recorder.records.extend(data.get("obsconf_records", ()))
        if data.get("obsconf_final"):
            finals[client_id] = True

    env.events.request.add_listener(recorder.on_request)
    env.events.worker_report.add_listener(on_worker_report)
    greenlets: list[Any] = []
    scripted: list[HttpExchange] = []
    failure: list[BaseException] = []
    try:
        runner, ids = _create_runner(env, plan, progress, workers)
        env.events.init.fire(environment=env, runner=runner, web_ui=None)
        greenlets.append(gevent.spawn(stats_history, runner))
        began = time.monotonic()
        started_ns = time.time_ns()
        progress(f"load: {plan.describe()} against {plan.host}")
        greenlets.append(gevent.spawn(_progress_loop, runner, plan, began, progress))
        runner.start(plan.users, spawn_rate=plan.spawn_rate)
        script = _start_scripted(plan, during, scripted, failure)
        gevent.sleep(max(0.0, plan.seconds - (time.monotonic() - began)))
        runner.stop()
        if plan.worker_count:
            _wait_for_finals(ids, finals)
        if script is not None:
            script.join(timeout=60)
        ended_ns, stats, html, exceptions = _wind_down(env, runner, ids, started_ns, progress)
    finally:
        for g in greenlets:
            g.kill(block=False)
        env.events.request.remove_listener(recorder.on_request)
        env.events.worker_report.remove_listener(on_worker_report)
        _stop_workers(workers)
    if failure:
        raise failure[0]
    return LoadRun(plan, started_ns, ended_ns, recorder.records, stats, html, scripted, exceptions)


def _create_runner(env: Any, plan: LoadPlan, progress: Callable[[str], None], workers: list[Any]
                   ) -> tuple[Any, list[str]]:
    """A local runner, or a master with its workers connected (started into ``workers``); and the workers' ids."""
    if not plan.worker_count:
        return env.create_local_runner(), []
    from obsconf.ports import LOOPBACK, free_port

    port = plan.master_port or free_port()
    runner = env.create_master_runner(master_bind_host=LOOPBACK, master_bind_port=port)
    if plan.remote_workers:
        progress(f"load: waiting for {plan.remote_workers} workers at {LOOPBACK}:{port}: "
                 f"{' '.join(worker_argv(plan, LOOPBACK, port))}")
    workers.extend(_start_workers(plan, port))
    return runner, _wait_for_workers(runner, plan, workers)


def _start_scripted(plan: LoadPlan, during: Callable[[], list[HttpExchange]] | None, scripted: list[HttpExchange],
                    failure: list[BaseException]) -> Any:
    """Once every user runs (the ramp-up), ``during`` in a greenlet, so the scripted requests meet the full
    load; its exchanges go to ``scripted``, an error it raises to ``failure``. None without ``during``."""
    import gevent

    if during is None:
        return None
    gevent.sleep(min(plan.users / plan.spawn_rate, plan.seconds / 2))

    def scripted_run() -> None:
        try:
            scripted.extend(during())
        except BaseException as exc:  # noqa: BLE001 - re-raised by run_load, after the load stopped
            failure.append(exc)

    return gevent.spawn(scripted_run)


def _wind_down(env: Any, runner: Any, ids: list[str], started_ns: int, progress: Callable[[str], None]
               ) -> tuple[int, dict[str, Any], str, list[str]]:
    """After the stop: (end of the window, Locust's statistics, its HTML report, the user code's errors);
    then every worker and the runner quit."""
    from locust.html import get_html_report

    ended_ns = time.time_ns()
    total = runner.stats.total
    progress(f"load done: {total.num_requests} requests, {total.num_failures} failures in "
             f"{(ended_ns - started_ns) / 1e9:.1f} s")
    stats = stats_summary(runner.stats)
    html = get_html_report(env, show_download_link=False)
    exceptions = [f"{row['msg']} ({row['count']}x)\n{row['traceback']}" for row in runner.exceptions.values()]
    for worker_id in ids:
        # a stopped worker has left the master's client list, so the master's quit would not reach it
        runner.send_message("quit", client_id=worker_id)
    runner.quit()
    return ended_ns, stats, html, exceptions


# ---- workers (distributed mode) -------------------------------------------------------------------------


def worker_argv(plan: LoadPlan, master_host: str, master_port: int) -> list[str]:
    """The command of one worker process (``python -m obsconf.load.worker``), as a user would run it on
    another machine."""
    argv = [sys.executable, "-m", "obsconf.load.worker", "--master-host", master_host, "--master-port",
            str(master_port), "--locustfile", str(plan.locustfile), "--user-class", plan.user_class]
    argv += [arg for p in plan.auth_paths for arg in ("--auth-path", p)]
    return argv + ([] if plan.propagate else ["--no-traceparent"])


def _start_workers(plan: LoadPlan, port: int) -> list[Any]:
    """Start the local workers as managed children (their own process group, killed with the session)."""
    import tempfile

    from obsconf.ports import LOOPBACK
    from obsconf.stack.process import ManagedProcess

    log_dir = plan.log_dir or Path(tempfile.mkdtemp(prefix="obsconf-locust-"))
    out = []
    for i in range(plan.workers):
        # the token travels in the environment, never on a command line that `ps` shows
        env = {**os.environ, **({AUTH_TOKEN_ENV: plan.auth_token} if plan.auth_token else {})}
        out.append(ManagedProcess(f"Locust worker {i}", worker_argv(plan, LOOPBACK, port),
                                  log_path=log_dir / f"locust-worker-{i}.log", registry=plan.registry,
                                  env=env).start())
    return out


def _tail(plan: LoadPlan) -> str:
    if plan.log_dir is None:
        return ""
    tails = []
    for path in sorted(plan.log_dir.glob("locust-worker-*.log")):
        lines = path.read_text(errors="replace").splitlines()[-15:]
        tails.append(f"--- {path}:\n" + "\n".join(lines))
    return "\n".join(tails)


def _wait_for_workers(runner: Any, plan: LoadPlan, workers: list[Any]) -> list[str]:
    import gevent

    wait_s = WORKER_TIMEOUT_S * (5 if plan.remote_workers else 1)  # a person starts remote workers by hand
    deadline = time.monotonic() + wait_s
    while len(runner.clients.ready) < plan.worker_count:
        dead = [w for w in workers if not w.running()]
        if dead or time.monotonic() > deadline:
            why = f"{len(dead)} exited" if dead else f"only {len(runner.clients.ready)} connected"
            raise ObsconfError(f"the Locust workers did not connect to the master within {wait_s:g} s "
                               f"({why} of {plan.worker_count}); their output:\n{_tail(plan)}")
        gevent.sleep(0.2)
    return [c.id for c in runner.clients.ready]


def _wait_for_finals(ids: list[str], finals: dict[str, bool]) -> None:
    """Each worker reports every 3 s; the first report after its users stopped holds its last records."""
    import gevent

    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while not all(finals.get(i) for i in ids):
        if time.monotonic() > deadline:
            missing = [i for i in ids if not finals.get(i)]
            raise ObsconfError(f"{len(missing)} Locust workers sent no final report within {WORKER_TIMEOUT_S:g} s "
                               "after the stop, so their last requests are unknown; see their output in the "
                               "report directory")
        gevent.sleep(0.2)


def _stop_workers(workers: list[Any]) -> None:
    """Every local worker's final report is in by now (or the run failed): a worker still waiting out its
    stop_timeout before it reads the quit message is ended with SIGTERM."""
    for w in workers:
        w.stop(timeout=5.0)


@dataclass(frozen=True)
class LoadOptions:
    """The session's load settings (``--obsconf-load*`` options and their ini twins); None values fall back
    on the contract's ``load`` section."""

    users: int | None = None
    spawn_rate: float | None = None
    seconds: float | None = None
    workers: int = 0
    remote_workers: int = 0
    master_port: int = 0

    def plan(self, spec: Any, host: str, *, propagate: bool, log_dir: Path | None = None,
             registry: Path | None = None, auth_paths: tuple[str, ...] = (), auth_token: str = "") -> LoadPlan:
        """The plan for one contract's ``load`` section (a :class:`obsconf.contract.model.LoadSpec`)."""
        from obsconf.workload.run import ensure_loopback

        ensure_loopback(host)
        return LoadPlan(locustfile=spec.locustfile, user_class=spec.user_class, host=host,
                        users=self.users or spec.users, spawn_rate=self.spawn_rate or spec.spawn_rate,
                        seconds=self.seconds or spec.seconds, workers=self.workers,
                        remote_workers=self.remote_workers, master_port=self.master_port, propagate=propagate,
                        log_dir=log_dir, registry=registry, auth_paths=auth_paths, auth_token=auth_token)
