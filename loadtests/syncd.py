"""SyncdUser: the sync daemon (seed 001). Critical path: run a sync job; also log bursts and status reads."""

from __future__ import annotations

import random

from _obsconf_common import ObsconfUser, get_task
from locust import tag, task


class SyncdUser(ObsconfUser):
    profile = "syncd"

    @tag("critical")
    @task(4)
    def sync_job(self) -> None:
        job = random.choice(("docs", "photos", "projects"))
        # the job syncs a source directory the service seeds with a few files (it has no fixed data dir)
        self.expect("POST", f"/sync/jobs/{job}", headers=self.traced(), name="/sync/jobs/[job]",
                    json={"create_files": 5, "file_size": 2048})

    status = get_task("/telemetry/status", weight=3)

    @tag("normal")
    @task(2)
    def log_burst(self) -> None:
        level = random.choice(("INFO", "INFO", "WARN", "ERROR"))
        self.expect("POST", f"/logs/emit?n=10&level={level}", name="/logs/emit?n=10&level=[level]")
