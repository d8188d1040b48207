"""AssistantUser: the Go assistant (seed 004). Critical path: a chat turn; plus agent and memory reads."""

from __future__ import annotations

import random
import secrets

from _obsconf_common import ObsconfUser
from locust import tag, task

PROMPTS = ("explain this stack trace", "write a unit test", "summarise the diff", "why is CI red")


class AssistantUser(ObsconfUser):
    profile = "assistant"

    def on_start(self) -> None:
        super().on_start()
        self.conversation = f"conv-{secrets.token_hex(4)}"

    @tag("critical")
    @task(5)
    def chat(self) -> None:
        body = {"message": random.choice(PROMPTS), "conversation_id": self.conversation}
        self.expect("POST", "/api/chat", json=body, headers=self.traced())

    @tag("normal")
    @task(3)
    def reads(self) -> None:
        self.expect("GET", random.choice(("/api/agents", "/api/memory")))

    @tag("normal")
    @task(1)
    def health(self) -> None:
        self.expect("GET", "/health")
