"""AurumUser: the API platform (seed 002). Critical path: create a scenario; plus observability reads."""

from __future__ import annotations

import random
import secrets

from _obsconf_common import ObsconfUser
from locust import tag, task

READS = (
    "/v1/observability/metrics/json",
    "/v1/observability/performance",
    "/v1/observability/traces",
    "/v1/observability/slos",
    "/v1/observability/dashboard",
)


TENANTS = ("acme-corp", "globex", "initech")


class AurumUser(ObsconfUser):
    profile = "aurum"

    def on_start(self) -> None:
        super().on_start()
        # a client names its tenant, as the seed's log lines and error rates by tenant assume (seed 002 l.79)
        self.tenant = random.choice(TENANTS)

    @tag("critical")
    @task(5)
    def create_scenario(self) -> None:
        body = {"name": f"scenario-{secrets.token_hex(4)}", "region": random.choice(("eu", "us")),
                "horizon_days": random.randint(1, 365)}
        self.expect("POST", "/api/scenarios", json=body, headers={**self.traced(), "X-Tenant-ID": self.tenant})

    @tag("normal")
    @task(4)
    def observability_read(self) -> None:
        self.expect("GET", random.choice(READS))

    @tag("normal")
    @task(1)
    def prometheus_metrics(self) -> None:
        self.expect("GET", "/v1/observability/metrics")
