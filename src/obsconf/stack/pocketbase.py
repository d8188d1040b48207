"""PocketBase as a process: a superuser, then the batch API on (services create their own collections)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from obsconf.errors import BackendNotReady
from obsconf.ports import LOOPBACK
from obsconf.stack.pocketbase_admin import PocketBaseAdmin, admin_of, superuser_upsert_argv
from obsconf.stack.process import backend_process
from obsconf.stack.readiness import http_ok


class PocketBaseProcess:
    def __init__(self, binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> None:
        self.binary = binary
        self.url = f"http://{LOOPBACK}:{port}"
        self.data_dir = workdir / "pb_data"
        self.process = backend_process(
            "pocketbase",
            # --automigrate=false: otherwise it writes migrations into a shared dir that replay into
            # the next fresh data dir (ENVIRONMENT.md)
            [str(binary), "serve", f"--http={LOOPBACK}:{port}", f"--dir={self.data_dir}", "--automigrate=false"],
            workdir, probe=http_ok(f"{self.url}/api/health"), timeout=timeout, registry=registry)

    def start(self) -> PocketBaseProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        upsert = subprocess.run(
            superuser_upsert_argv([str(self.binary)], str(self.data_dir)),
            capture_output=True, text=True, timeout=60, check=False,
        )
        if upsert.returncode != 0:
            raise BackendNotReady(f"pocketbase superuser upsert failed: {upsert.stdout}{upsert.stderr}")
        self.process.start()
        try:
            self.client().enable_batch()
        except BaseException:
            self.process.stop()
            raise
        return self

    def client(self) -> PocketBaseAdmin:
        return admin_of(self.url)

    def stop(self) -> None:
        self.process.stop()
