"""PocketBase API reader: superuser auth and records (PocketBase 0.23+). Setting PocketBase up and writing to it
is the stack's :mod:`obsconf.stack.pocketbase_admin`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from obsconf.errors import BackendNotReady
from obsconf.readers._http import answering

_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_-]+")
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class PocketBaseClient:
    """Reads a PocketBase server as a superuser. Only readers and launchers use the network."""

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

    def records_matching(self, collection: str, field: str, values: Iterable[str], *, sort: str = "",
                         chunk: int = 40) -> list[dict[str, Any]]:
        """The records of ``collection`` whose ``field`` (a dotted path into a JSON field too) contains one of
        ``values``, asked in chunks: a record set shared with other writers is not read whole each time."""
        wanted = sorted(set(values))
        for value in wanted:
            if not _PLAIN_VALUE.fullmatch(value):
                raise ValueError(f"records_matching: {value!r} is not a plain token (letters, digits, - and _)")
        if not _FIELD_PATH.fullmatch(field):
            raise ValueError(f"records_matching: {field!r} is not a field name or dotted path")
        out: list[dict[str, Any]] = []
        for start in range(0, len(wanted), chunk):
            clause = " || ".join(f"{field} ~ '{value}'" for value in wanted[start:start + chunk])
            out += self.records(collection, filter=f"({clause})", sort=sort)
        return out

    def record_link(self, collection: str) -> str:
        return f"{self.url}/_/#/collections?collection={collection}"

