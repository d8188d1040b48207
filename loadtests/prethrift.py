"""PrethriftUser: the web backend (seed 003). Critical path: search; plus the health probes."""

from __future__ import annotations

import random

from _obsconf_common import ObsconfUser, get_task
from locust import tag, task

WORDS = ("jacket", "vintage", "denim", "lamp", "chair", "boots", "record", "camera")


class PrethriftUser(ObsconfUser):
    profile = "prethrift"

    @tag("critical")
    @task(6)
    def search(self) -> None:
        query = "+".join(random.sample(WORDS, random.randint(1, 3)))
        self.expect("GET", f"/api/search?q={query}", headers=self.traced(), name="/api/search?q=[q]")

    probes = get_task("/health/live", "/health/ready", weight=3)
    health = get_task("/health", weight=1)
