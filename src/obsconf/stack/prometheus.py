"""Prometheus with file-based service discovery, so scrape targets can be added after it started."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import requests

from obsconf.errors import BackendNotReady
from obsconf.ports import LOOPBACK
from obsconf.stack.process import backend_process
from obsconf.stack.readiness import http_ok

SCRAPE_INTERVAL = "1s"  # short: a test sees a new counter value within about two seconds


@dataclass(frozen=True)
class AuthJob:
    """A scrape job of its own for a target behind a bearer token (file_sd cannot carry credentials)."""

    job: str
    address: str
    metrics_path: str
    credentials_file: str


def auth_job_config(job: AuthJob, scrape_interval: str = SCRAPE_INTERVAL) -> str:
    """The ``scrape_configs`` entry of ``job``: ``authorization`` with a ``credentials_file`` (the token is
    never in the config itself). Strings are JSON-quoted, which YAML reads as they are."""
    q = json.dumps
    return f"""\
  - job_name: {q(job.job)}
    scrape_interval: {scrape_interval}
    scrape_timeout: {scrape_interval}
    metrics_path: {q(job.metrics_path)}
    authorization:
      type: Bearer
      credentials_file: {q(job.credentials_file)}
    static_configs:
      - targets: [{q(job.address)}]
"""


def prometheus_config(targets_dir: str, rules_dir: str, scrape_interval: str = SCRAPE_INTERVAL,
                      auth_jobs: tuple[AuthJob, ...] = ()) -> str:
    """One job whose targets come from ``targets_dir/*.json``; each target file may set ``job`` and
    ``__metrics_path__`` labels, which take precedence over the job's defaults. Targets behind a bearer
    token get a job each (``auth_jobs``).

    Valid for Prometheus 2.42 and 3.x alike. Deliberately without ``fallback_scrape_protocol``: Prometheus 3
    then refuses a /metrics response without a proper Content-Type, as the users' Prometheus does."""
    return _base_config(targets_dir, rules_dir, scrape_interval) + "".join(
        auth_job_config(j, scrape_interval) for j in auth_jobs)


def _base_config(targets_dir: str, rules_dir: str, scrape_interval: str) -> str:
    return f"""\
global:
  scrape_interval: {scrape_interval}
  evaluation_interval: {scrape_interval}
rule_files:
  - {rules_dir}/*.yaml
scrape_configs:
  - job_name: obsconf
    scrape_interval: {scrape_interval}
    scrape_timeout: {scrape_interval}
    file_sd_configs:
      - files: ['{targets_dir}/*.json']
        refresh_interval: 1s
"""


def target_file_content(job: str, address: str, metrics_path: str = "/metrics", labels: dict[str, str] | None = None) -> str:
    return json.dumps(
        [{"targets": [address], "labels": {"job": job, "__metrics_path__": metrics_path, **(labels or {})}}]
    )


class PrometheusControl:
    """The scrape targets and rule files of a Prometheus that runs with this ``workdir``'s configuration:
    file_sd target files, a rules directory, scrape jobs of their own for targets behind a token, and the
    lifecycle reload. A session attached to another process's stack steers that stack's Prometheus with it."""

    def __init__(self, url: str, workdir: Path, *, write_config: bool = True) -> None:
        self.url = url
        self.workdir = workdir
        self.targets_dir = workdir / "prometheus-targets"
        self.rules_dir = workdir / "prometheus-rules"
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir = workdir / "prometheus-secrets"
        self.config = workdir / "prometheus.yml"
        self._auth_jobs: dict[str, AuthJob] = {}
        self._lock = threading.RLock()  # instances of fault scenarios come and go from several threads
        if write_config:
            self.config.write_text(prometheus_config(str(self.targets_dir), str(self.rules_dir)))

    def add_target(self, job: str, address: str, metrics_path: str = "/metrics", labels: dict[str, str] | None = None,
                   *, bearer_token: str | None = None) -> None:
        """Scrape ``address`` (host:port) as ``job``; picked up within about a second (file_sd refresh). With
        ``bearer_token`` the job gets a scrape config of its own with ``authorization`` credentials read from
        a file, and Prometheus reloads its configuration."""
        with self._lock:
            if bearer_token:
                self._add_auth_target(job, address, metrics_path, bearer_token)
                return
            tmp = self.targets_dir / f".{job}.json.tmp"
            tmp.write_text(target_file_content(job, address, metrics_path, labels))
            tmp.replace(self.targets_dir / f"{job}.json")  # atomic: Prometheus never reads half a file

    def remove_target(self, job: str) -> None:
        with self._lock:
            (self.targets_dir / f"{job}.json").unlink(missing_ok=True)
            if self._auth_jobs.pop(job, None) is not None:
                self._write_config_and_reload()

    def _add_auth_target(self, job: str, address: str, metrics_path: str, token: str) -> None:
        (self.targets_dir / f"{job}.json").unlink(missing_ok=True)  # one job, not scraped twice
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        secret = self.secrets_dir / f"{hashlib.sha256(job.encode()).hexdigest()[:16]}.token"
        # owner-only where the stack's directory is private (process mode); a containerised Prometheus runs
        # as another user and reads it through the directory the container mounts
        private = (self.secrets_dir.parent.stat().st_mode & 0o077) == 0
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
        self._auth_jobs[job] = AuthJob(job, address, metrics_path, str(secret))
        self._write_config_and_reload()

    def _write_config_and_reload(self) -> None:
        tmp = self.config.with_name(".prometheus.yml.tmp")
        tmp.write_text(prometheus_config(str(self.targets_dir), str(self.rules_dir),
                                         auth_jobs=tuple(self._auth_jobs.values())))
        tmp.replace(self.config)
        resp = requests.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise BackendNotReady(f"Prometheus rejected its scrape configuration {self.config}: {resp.status_code} "
                                  f"{resp.text.strip()}")

    def add_rules(self, name: str, rules_file: Path) -> None:
        """Load a rules file and reload Prometheus (lifecycle API); raise if Prometheus rejects it."""
        # content only: a rules file written by mkstemp is 0600, which a containerised Prometheus (another
        # user) cannot read; the stack's directory keeps it private where it is private (process mode)
        with self._lock:
            shutil.copyfile(rules_file, self.rules_dir / f"{name}.yaml")
            resp = requests.post(f"{self.url}/-/reload", timeout=10)
            if resp.status_code != 200:
                (self.rules_dir / f"{name}.yaml").unlink(missing_ok=True)
                requests.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise BackendNotReady(f"Prometheus rejected rules file {rules_file}: {resp.status_code} {resp.text.strip()}")


class PrometheusProcess(PrometheusControl):
    """A Prometheus process of this session, steered through :class:`PrometheusControl`."""

    def __init__(self, binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> None:
        super().__init__(f"http://{LOOPBACK}:{port}", workdir)
        config = self.config
        self.process = backend_process(
            "prometheus",
            [str(binary), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
             f"--web.listen-address={LOOPBACK}:{port}", "--web.enable-lifecycle", "--storage.tsdb.retention.time=1d"],
            workdir, probe=http_ok(f"{self.url}/-/ready"), timeout=timeout, registry=registry)

    def start(self) -> PrometheusProcess:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()
