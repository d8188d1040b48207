"""PocketBase API client: superuser auth, collections, the batch switch and records (PocketBase 0.23+)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from obsconf.errors import BackendNotReady
from obsconf.readers._http import answering


class PocketBaseClient:
    """Reads and sets up a PocketBase server as a superuser. Only readers and launchers use the network."""

    def __init__(self, url: str, email: str, password: str, *, timeout: float = 10.0,
                 log_file: Path | None = None) -> None:
        self.url = url.rstrip("/")
        self.email, self.password = email, password
        self.timeout = timeout
        self.log_file = log_file  # named when PocketBase stops answering
        self._session = requests.Session()
        self._token: str | None = None

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            with answering("PocketBase", f"{self.url}/api/collections/_superusers/auth-with-password", self.log_file):
                resp = self._session.post(
                    f"{self.url}/api/collections/_superusers/auth-with-password",
                    json={"identity": self.email, "password": self.password},
                    timeout=self.timeout,
                )
            if resp.status_code != 200:
                raise BackendNotReady(
                    f"PocketBase at {self.url} refused superuser {self.email!r}: {resp.status_code} {resp.text[:200]}"
                )
            self._token = resp.json()["token"]
        return {"Authorization": self._token}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = self._auth()
        with answering("PocketBase", f"{self.url}{path}", self.log_file):
            return self._session.request(method, f"{self.url}{path}", headers=headers, timeout=self.timeout, **kwargs)

    def _ok(self, resp: requests.Response, what: str) -> Any:
        if resp.status_code >= 300:
            raise BackendNotReady(f"PocketBase {what} failed: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else None

    def enable_batch(self, max_requests: int = 100) -> None:
        """The batch API is off by default; the syncd shipper sends batches of up to ``max_requests``."""
        self._ok(self.request("PATCH", "/api/settings", json={"batch": {"enabled": True, "maxRequests": max_requests}}),
                 "enabling the batch API")

    def ensure_collection(self, definition: dict[str, Any]) -> None:
        """Create a collection (``fields`` + ``indexes``, 0.23+ format) unless one of that name exists."""
        name = definition["name"]
        if self.request("GET", f"/api/collections/{name}").status_code == 200:
            return
        self._ok(self.request("POST", "/api/collections", json=definition), f"creating collection {name!r}")

    def records(self, collection: str, *, filter: str = "", sort: str = "", per_page: int = 500) -> list[dict[str, Any]]:
        """All records of ``collection`` matching ``filter`` (PocketBase filter syntax), every page."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "perPage": per_page}
            if filter:
                params["filter"] = filter
            if sort:
                params["sort"] = sort
            body = self._ok(self.request("GET", f"/api/collections/{collection}/records", params=params),
                            f"listing {collection} (filter {filter!r})")
            items.extend(body["items"])
            if page >= body.get("totalPages", 1):
                return items
            page += 1

    def create_record(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.request("POST", f"/api/collections/{collection}/records", json=record),
                        f"creating a record in {collection}")

    def record_link(self, collection: str) -> str:
        return f"{self.url}/_/#/collections?collection={collection}"


# The sync daemon seed's `daemon_logs` collection (seed 001, "PocketBase Schema"), in the 0.23+ format.
DAEMON_LOGS_COLLECTION: dict[str, Any] = {
    "name": "daemon_logs",
    "type": "base",
    "fields": [
        {"name": "timestamp", "type": "date", "required": True},
        {"name": "level", "type": "select", "values": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], "maxSelect": 1,
         "required": True},
        {"name": "message", "type": "text", "required": True},
        {"name": "target", "type": "text"},
        {"name": "module_path", "type": "text"},
        {"name": "file", "type": "text"},
        {"name": "line", "type": "number"},
        {"name": "fields", "type": "json"},
        {"name": "daemon_id", "type": "text", "required": True},
        {"name": "session_id", "type": "text", "required": True},
    ],
    "indexes": [
        "CREATE INDEX idx_daemon_logs_timestamp ON daemon_logs (timestamp)",
        "CREATE INDEX idx_daemon_logs_level ON daemon_logs (level)",
        "CREATE INDEX idx_daemon_logs_daemon_id ON daemon_logs (daemon_id)",
        "CREATE INDEX idx_daemon_logs_session_id ON daemon_logs (session_id)",
    ],
}
