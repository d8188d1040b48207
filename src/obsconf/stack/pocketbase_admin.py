"""The stack's PocketBase superuser: its credentials, creating it in a fresh data dir, switching the batch
API on, and writing records. Reading records is the reader's job (:mod:`obsconf.readers.pocketbase`); a
service creates its own collections (syncd migrates ``daemon_logs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from obsconf.errors import BackendNotReady
from obsconf.readers.pocketbase import PocketBaseClient

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

ADMIN_EMAIL = "obsconf@example.com"
ADMIN_PASSWORD = "obsconf-pass-123"  # a throwaway per-session superuser on a loopback-only server
BATCH_MAX_REQUESTS = 100  # the syncd shipper sends batches of up to this many requests


class PocketBaseAdmin(PocketBaseClient):
    """A superuser client that also sets PocketBase up and writes records (it reads like the reader)."""

    def enable_batch(self, max_requests: int = BATCH_MAX_REQUESTS) -> None:
        """The batch API is off by default; the syncd shipper sends batches of up to ``max_requests``."""
        self._ok(self.request("PATCH", "/api/settings", json={"batch": {"enabled": True, "maxRequests": max_requests}}),
                 "enabling the batch API")

    def create_record(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.request("POST", f"/api/collections/{collection}/records", json=record),
                        f"creating a record in {collection}")


def superuser_upsert_argv(pocketbase: Sequence[str], data_dir: str) -> list[str]:
    """The command that creates (or updates) the session's superuser in ``data_dir``, before or while it serves."""
    return [*pocketbase, "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD, f"--dir={data_dir}"]


def admin_of(url: str) -> PocketBaseAdmin:
    """The session's superuser client of the PocketBase at ``url``."""
    return PocketBaseAdmin(url, ADMIN_EMAIL, ADMIN_PASSWORD)


def setup_container(container: DockerContainer, url: str, data_dir: str) -> None:
    """As in process mode: a superuser (through the image's own binary) and the batch API; a service creates its
    own collections (syncd migrates daemon_logs)."""
    ctr = container.get_wrapped_container()
    entrypoint = list(ctr.image.attrs.get("Config", {}).get("Entrypoint") or ["pocketbase"])
    result = container.exec(superuser_upsert_argv(entrypoint, data_dir))
    if result.exit_code != 0:
        raise BackendNotReady(f"pocketbase superuser upsert in container {ctr.name} failed "
                              f"(exit {result.exit_code}): {result.output.decode(errors='replace')}")
    admin_of(url).enable_batch()
