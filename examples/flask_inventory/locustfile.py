"""Load for the inventory service, written the way its team writes Locust tests (nothing of obsconf here).

Run it by hand: ``locust -f locustfile.py --headless -u 20 -r 10 -t 30s --host http://127.0.0.1:8001``;
obsconf runs the same class as the contract's ``load`` (``pytest contract.yaml --obsconf-load locust``).
"""

from __future__ import annotations

import random
import secrets

from locust import FastHttpUser, between, task

SKUS = ("sku-mug", "sku-tee", "sku-poster")


class InventoryUser(FastHttpUser):
    """Browse items, reserve some (stock runs out under load: 409 is a right answer then), hit the errors."""

    wait_time = between(0.05, 0.5)

    def on_start(self) -> None:
        self.customer = f"cust-{secrets.token_hex(4)}"

    def expect(self, method: str, path: str, statuses: tuple[int, ...], name: str, **kwargs: object) -> None:
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as resp:
            if resp.status_code in statuses:
                resp.success()
            else:
                resp.failure(f"{method} {path}: HTTP {resp.status_code}, wanted {statuses}")

    @task(6)
    def look_up(self) -> None:
        self.expect("GET", f"/items/{random.choice(SKUS)}", (200,), "/items/[sku]")

    @task(3)
    def reserve(self) -> None:
        # the mug only: the contract's own workload reserves the T-shirt and expects stock to be there
        body = {"quantity": 1, "customer": {"id": self.customer}}
        self.expect("POST", "/items/sku-mug/reservations", (201, 409), "/items/[sku]/reservations", json=body)

    @task(1)
    def unknown_item(self) -> None:
        self.expect("GET", f"/items/sku-{secrets.token_hex(3)}", (404,), "/items/[unknown]")

    @task(1)
    def forecast(self) -> None:
        self.expect("GET", "/items/sku-mug/forecast", (501,), "/items/[sku]/forecast")
