"""PocketBase: a superuser, the batch API on, and the sync daemon seed's `daemon_logs` collection."""

from __future__ import annotations

import subprocess
from pathlib import Path

from obsconf.errors import BackendNotReady
from obsconf.ports import LOOPBACK
from obsconf.readers.pocketbase import PocketBaseClient
from obsconf.stack.process import ManagedProcess
from obsconf.stack.readiness import http_ok

ADMIN_EMAIL = "obsconf@example.com"
ADMIN_PASSWORD = "obsconf-pass-123"  # a throwaway per-session superuser on a loopback-only server


class PocketBaseProcess:
    def __init__(self, binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> None:
        self.binary = binary
        self.url = f"http://{LOOPBACK}:{port}"
        self.data_dir = workdir / "pb_data"
        self.process = ManagedProcess(
            "pocketbase",
            # --automigrate=false: otherwise it writes migrations into a shared dir that replay into
            # the next fresh data dir (ENVIRONMENT.md)
            [str(binary), "serve", f"--http={LOOPBACK}:{port}", f"--dir={self.data_dir}", "--automigrate=false"],
            log_path=workdir / "pocketbase.log",
            probe=http_ok(f"{self.url}/api/health"),
            ready_timeout=timeout,
            registry=registry,
        )

    def start(self) -> PocketBaseProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        upsert = subprocess.run(
            [str(self.binary), "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD, f"--dir={self.data_dir}"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        if upsert.returncode != 0:
            raise BackendNotReady(f"pocketbase superuser upsert failed: {upsert.stdout}{upsert.stderr}")
        self.process.start()
        try:
            client = self.client()
            client.enable_batch(100)
        except BaseException:
            self.process.stop()
            raise
        return self

    def client(self) -> PocketBaseClient:
        return PocketBaseClient(self.url, ADMIN_EMAIL, ADMIN_PASSWORD)

    def stop(self) -> None:
        self.process.stop()
