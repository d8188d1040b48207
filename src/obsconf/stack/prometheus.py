"""Prometheus with file-based service discovery, so scrape targets can be added after it started."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import requests

from obsconf.errors import BackendNotReady
from obsconf.ports import LOOPBACK
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok

SCRAPE_INTERVAL = "1s"  # short: a test sees a new counter value within about two seconds


def prometheus_config(targets_dir: str, rules_dir: str, scrape_interval: str = SCRAPE_INTERVAL) -> str:
    """One job whose targets come from ``targets_dir/*.json``; each target file may set ``job`` and
    ``__metrics_path__`` labels, which take precedence over the job's defaults.

    Valid for Prometheus 2.42 and 3.x alike. Deliberately without ``fallback_scrape_protocol``: Prometheus 3
    then refuses a /metrics response without a proper Content-Type, as the users' Prometheus does."""
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


class PrometheusProcess:
    """A running Prometheus whose scrape targets and rule files can change while it runs."""

    def __init__(self, binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> None:
        self.url = f"http://{LOOPBACK}:{port}"
        self.targets_dir = workdir / "prometheus-targets"
        self.rules_dir = workdir / "prometheus-rules"
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        config = workdir / "prometheus.yml"
        config.write_text(prometheus_config(str(self.targets_dir), str(self.rules_dir)))
        self.process = ManagedProcess(
            "prometheus",
            [
                str(binary),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address={LOOPBACK}:{port}",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=1d",
            ],
            log_path=workdir / "prometheus.log",
            probe=http_ok(f"{self.url}/-/ready"),
            ready_timeout=timeout,
            registry=registry,
        )

    def start(self) -> PrometheusProcess:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def add_target(self, job: str, address: str, metrics_path: str = "/metrics", labels: dict[str, str] | None = None) -> None:
        """Scrape ``address`` (host:port) as ``job``; picked up within about a second (file_sd refresh)."""
        tmp = self.targets_dir / f".{job}.json.tmp"
        tmp.write_text(target_file_content(job, address, metrics_path, labels))
        tmp.replace(self.targets_dir / f"{job}.json")  # atomic: Prometheus never reads half a file

    def remove_target(self, job: str) -> None:
        (self.targets_dir / f"{job}.json").unlink(missing_ok=True)

    def add_rules(self, name: str, rules_file: Path) -> None:
        """Load a rules file and reload Prometheus (lifecycle API); raise if Prometheus rejects it."""
        shutil.copy(rules_file, self.rules_dir / f"{name}.yaml")
        resp = requests.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            (self.rules_dir / f"{name}.yaml").unlink(missing_ok=True)
            requests.post(f"{self.url}/-/reload", timeout=10)
            raise BackendNotReady(f"Prometheus rejected rules file {rules_file}: {resp.status_code} {resp.text.strip()}")
