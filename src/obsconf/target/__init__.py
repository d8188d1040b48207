"""The service under test: a user's service started from a command, the reference service, or a service
already running at a URL.

obsconf starts a service with the standard OpenTelemetry, Loki and AWS variables pointing at the session's
backends (:mod:`obsconf.target.env`), each declared dependency behind a Toxiproxy proxy
(:mod:`obsconf.target.proxies`), and has Prometheus scrape its metrics path as job ``service.name``.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from obsconf.contract.model import AuthSpec, Contract
from obsconf.errors import TargetUnreachable, UsageError
from obsconf.loopback import ensure_loopback
from obsconf.ports import LOOPBACK, free_port
from obsconf.stack import Stack
from obsconf.stack.process import ManagedProcess
from obsconf.target.env import service_env
from obsconf.target.launch import start_service
from obsconf.target.proxies import (
    ProxiedDependency,
    accepted_clients,
    connections_seen,
    proxy_dependencies,
    remove_proxies,
)

__all__ = ["Target", "TargetPlan", "plan_target", "probe_url", "start_target"]


@dataclass(frozen=True)
class TargetPlan:
    """How the service of one contract is reached: ``url`` (already running), ``command`` or ``reference``."""

    how: str
    url: str = ""
    argv: tuple[str, ...] = ()
    cwd: Path | None = None

    def describe(self) -> str:
        if self.how == "url":
            return f"the service at {self.url}"
        if self.how == "reference":
            return f"the reference service (profile {self.argv[self.argv.index('--profile') + 1]})"
        return "`" + " ".join(self.argv) + "`"


def plan_target(contract: Contract, *, target_url: str | None = None,
                target_cmd: str | Sequence[str] | None = None) -> TargetPlan:
    """Decide how to reach ``contract``'s service: ``--obsconf-target`` wins, then
    ``--obsconf-target-cmd``, then ``service.command``, then the reference ``service.profile``."""
    from obsconf.contract.command import parse_command

    svc = contract.service
    if target_url:
        return TargetPlan("url", url=target_url.rstrip("/"))
    if target_cmd:
        return TargetPlan("command", argv=parse_command(target_cmd), cwd=Path.cwd())
    if svc.command:
        return TargetPlan("command", argv=svc.command, cwd=svc.cwd or contract.path.resolve().parent)
    if svc.profile:
        argv = (sys.executable, "-m", "obsconf.reference", "--profile", svc.profile, "--port", "{port}")
        return TargetPlan("reference", argv=argv)
    raise UsageError(f"{contract.path}: service {svc.name!r} has neither service.command nor a reference "
                     "profile; give its command (service.command, or --obsconf-target-cmd 'CMD {port}') or the URL "
                     "of the running service (--obsconf-target URL)")


def probe_url(url: str, path: str) -> None:
    """Raise TargetUnreachable unless ``url`` answers HTTP (any status) at ``path``; loopback only."""
    ensure_loopback(url)
    try:
        requests.get(url.rstrip("/") + path, timeout=5)
    except requests.RequestException as exc:
        raise TargetUnreachable(
            f"--obsconf-target {url} does not answer at {path} ({type(exc).__name__}); start your service there, "
            "or let obsconf start it with --obsconf-target-cmd 'CMD {port}'") from None


@dataclass
class Target:
    """A running service under test, its dependencies' proxies, and where its console output goes."""

    base_url: str
    job: str  # the Prometheus job that scrapes it
    plan: TargetPlan
    proxies: dict[str, ProxiedDependency] = field(default_factory=dict)  # dependency name -> proxy
    process: ManagedProcess | None = None
    env: dict[str, str] = field(default_factory=dict)  # what the service was started with (obsconf's part)
    stdout_path: Path | None = None
    auth: AuthSpec | None = None  # endpoints behind a bearer token (contract service.auth)
    token: str = field(default="", repr=False)  # the token the service was given (or the user's, for a foreign one)
    _stack: Stack | None = None
    ports: dict[str, int] = field(default_factory=dict)  # service.listeners name -> the port given to the service
    scraped: tuple[str, ...] = ()  # Prometheus jobs registered for this instance (removed when it stops)

    def auth_headers(self, path: str) -> dict[str, str]:
        """``Authorization`` for a request to ``path`` when the contract puts it behind the token."""
        if self.auth is None or not self.token or not self.auth.covers(path):
            return {}
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def address(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.hostname}:{parts.port or 80}"

    @property
    def started(self) -> bool:
        return self.process is not None

    def stdout_size(self) -> int:
        """Bytes written to stdout so far: read lines after this mark with :meth:`stdout_since`."""
        try:
            return self.stdout_path.stat().st_size if self.stdout_path else 0
        except FileNotFoundError:
            return 0

    def stdout_since(self, offset: int) -> list[str]:
        if self.stdout_path is None:
            return []
        with open(self.stdout_path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
        return data.decode("utf-8", errors="replace").splitlines()

    def traffic(self) -> dict[str, int]:
        """Connections through each dependency's proxy: every one so far, counted in Toxiproxy's log; where
        that log is out of reach, those the kernel still lists (recent ones included)."""
        log = self._stack.backend_log("toxiproxy") if self._stack is not None else ""
        if log:
            return {name: accepted_clients(log, dep.proxy.name) for name, dep in self.proxies.items()}
        return {name: connections_seen(dep.port) for name, dep in self.proxies.items()}

    def alive(self) -> str | None:
        """None while the service runs; else why not (exit code and output tail), for findings."""
        if self.process is None or self.process.running():
            return None
        return (f"the service exited with code {self.process.proc.returncode if self.process.proc else '?'}\n"
                f"{self.process.output_tails(15)}")

    def listener_url(self, name: str) -> str:
        """The base URL of listener ``name`` (``service.listeners``) of this instance."""
        return f"http://{LOOPBACK}:{self.ports[name]}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        if self._stack is not None:
            remove_proxies(self._stack.toxiproxy, self.proxies.values())
            self.proxies = {}
            for job in self.scraped:
                self._stack.remove_scrape_target(job)
            self.scraped = ()


def sample_rate(contract: Contract) -> float:
    sampling = contract.spans.sampling if contract.spans else None
    return sampling.run_rate if sampling is not None else 1.0


def start_target(contract: Contract, stack: Stack, plan: TargetPlan, *, log_dir: Path, run_id: str = "",
                 env: Mapping[str, str] | None = None, name_suffix: str = "",
                 registry: Path | None = None) -> Target:
    """Start (or reach) the service of ``contract`` as ``plan`` says, and have Prometheus scrape it.

    A second instance (``name_suffix``) is scraped as its own job, ``<service name><suffix>``: it must not take
    over the job of the instance the contract's cases read."""
    svc = contract.service
    job = f"{svc.name}{name_suffix}"
    auth = svc.auth
    if plan.how == "url":
        probe_url(plan.url, svc.probe_path)
        # a service obsconf did not start has its own token: the user exports it under the same name
        target = Target(plan.url, job, plan, auth=auth, token=os.environ.get(auth.env, "") if auth else "")
    else:
        # proxy names are unique per run, so the connections counted in Toxiproxy's log are this target's own
        label = f"{svc.name}{name_suffix}"
        proxies = proxy_dependencies(svc.dependencies, stack.endpoints, stack.toxiproxy,
                                     prefix=f"obsconf-{run_id or 'run'}-{label}")
        try:
            child_env = dict(os.environ)
            # a bare `python` in a command is the interpreter this session runs with (and has obsconf)
            child_env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), child_env.get("PATH", "")])
            ours = service_env(stack.endpoints, service_name=svc.name, run_id=run_id, sample_rate=sample_rate(contract))
            for dep in proxies.values():
                ours.update(dep.env)
            if plan.how == "reference":
                # the reference's own file sinks (syncd's rotating log) write beside its output
                ours["OBSCONF_LOG_DIR"] = str(log_dir / "files")
            ports = {listener.name: free_port() for listener in svc.listeners}
            ours.update({listener.env: str(ports[listener.name]) for listener in svc.listeners})
            ours.update(svc.env)
            # a fresh token per run, handed over in the variable the contract names, never written anywhere
            token = secrets.token_urlsafe(32) if auth is not None else ""
            if auth is not None:
                ours[auth.env] = token
            ours.update(env or {})
            child_env.update(ours)
            port = free_port()
            base = f"http://{LOOPBACK}:{port}"
            process = start_service(
                f"{'reference service ' + str(svc.profile) if plan.how == 'reference' else 'service ' + repr(svc.name)}",
                plan.argv, port=port, ready_url=base + svc.probe_path, env=child_env, cwd=plan.cwd,
                log_dir=log_dir, ready_timeout=svc.ready_timeout, registry=registry)
        except BaseException:
            remove_proxies(stack.toxiproxy, proxies.values())
            raise
        shown = {k: v for k, v in ours.items() if auth is None or k != auth.env}
        target = Target(base, job, plan, proxies, process, shown, log_dir / "stdout.log", auth, token, stack,
                        ports=ports)
    if stack.mode == "external":
        # obsconf cannot change an external Prometheus: it must already scrape the target as `job`;
        # the PromQL cases say so plainly when it does not
        return target
    try:
        if auth is not None and target.token and auth.covers(svc.metrics_path):
            stack.add_scrape_target(job, target.address, svc.metrics_path, bearer_token=target.token)
        else:
            stack.add_scrape_target(job, target.address, svc.metrics_path)
        if name_suffix:
            target.scraped = (job,)
    except BaseException:
        target.stop()
        raise
    return target
