"""syncd's PocketBase migration: the seed's ``daemon_logs`` collection (l.182-245,
``pb_migrations/sync_daemon_logs.js``) in PocketBase 0.23+'s collection format, created by the daemon itself
at start when it is missing."""

from __future__ import annotations

from typing import Any

DAEMON_LOGS_MIGRATION: dict[str, Any] = {
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
    "index_columns": ("timestamp", "level", "daemon_id", "session_id"),
}


def collection_body(name: str) -> dict[str, Any]:
    """The ``POST /api/collections`` body that creates collection ``name`` with the seed's fields and indexes."""
    return {"name": name, "type": DAEMON_LOGS_MIGRATION["type"], "fields": DAEMON_LOGS_MIGRATION["fields"],
            "indexes": [f"CREATE INDEX idx_{name}_{col} ON {name} ({col})"
                        for col in DAEMON_LOGS_MIGRATION["index_columns"]]}


def migrate_log_collection(url: str, email: str, password: str, name: str, timeout: float = 5.0) -> str:
    """Create collection ``name`` with the seed's fields and indexes unless it exists; returns what happened."""
    import requests

    http = requests.Session()
    auth = http.post(f"{url}/api/collections/_superusers/auth-with-password",
                     json={"identity": email, "password": password}, timeout=timeout)
    if auth.status_code != 200:
        return f"superuser login refused ({auth.status_code})"
    headers = {"Authorization": auth.json()["token"]}
    if http.get(f"{url}/api/collections/{name}", headers=headers, timeout=timeout).status_code == 200:
        return "exists"
    resp = http.post(f"{url}/api/collections", json=collection_body(name), headers=headers, timeout=timeout)
    return "created" if resp.status_code < 300 else f"refused ({resp.status_code} {resp.text[:200]})"
