"""AssistantUser: the Go assistant (seed 004). Critical path: a chat turn; plus agent and memory reads."""

from __future__ import annotations

import random
import secrets

from _obsconf_common import ObsconfUser, get_task
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

    reads = get_task("/api/agents", "/api/memory", weight=3)
    health = get_task("/health", weight=1)
