"""PersistUser: the snapshot store (seed 000). Critical path: save, load and verify a snapshot.

The service needs its object store (``OBSCONF_S3_URL``); without one the snapshot routes fail, and
Locust's failure column says so.
"""

from __future__ import annotations

import random
import secrets

from _obsconf_common import ObsconfUser
from locust import tag, task


class PersistUser(ObsconfUser):
    profile = "persist"

    def on_start(self) -> None:
        super().on_start()
        self.agent_id = f"agent-{secrets.token_hex(4)}"
        self.session_id = f"session-{secrets.token_hex(4)}"
        self.saved: list[str] = []

    @tag("critical")
    @task(6)
    def save_load_verify(self) -> None:
        key = f"{self.agent_id}-{secrets.token_hex(4)}"
        state = {"agent_id": self.agent_id, "session_id": self.session_id,
                 "memory": [secrets.token_hex(8) for _ in range(random.randint(1, 20))], "step": len(self.saved)}
        query = f"agent_id={self.agent_id}&session_id={self.session_id}"
        headers = self.traced()
        self.expect("POST", f"/snapshots/{key}?{query}", json=state, headers=headers, name="/snapshots/[key]")
        self.expect("GET", f"/snapshots/{key}", headers=headers, name="/snapshots/[key]")
        self.expect("POST", f"/snapshots/{key}/verify", headers=headers, name="/snapshots/[key]/verify")
        self.saved = (self.saved + [key])[-20:]

    @tag("normal")
    @task(3)
    def load_earlier(self) -> None:
        if self.saved:
            self.expect("GET", f"/snapshots/{random.choice(self.saved)}", name="/snapshots/[key]")

    @tag("failing")
    @task(1)
    def load_missing(self) -> None:
        # a snapshot that was never saved: the service must answer 404, not crash
        self.expect("GET", f"/snapshots/missing-{secrets.token_hex(6)}", status=404, name="/snapshots/[missing]")
