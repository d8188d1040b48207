"""An S3-compatible object store for the persist profile: `rclone serve s3` over a directory.

The object store is not under test; it is a real dependency whose traffic can go through Toxiproxy.
rclone checks signatures (a wrong secret gets SignatureDoesNotMatch) and keeps data on disk.
"""

from __future__ import annotations

from pathlib import Path

from obsconf.ports import LOOPBACK
from obsconf.stack.process import ManagedProcess, backend_process
from obsconf.stack.readiness import http_answers

ACCESS_KEY = "obsconf"
SECRET_KEY = "obsconf-secret"  # throwaway credentials of a loopback-only server
BUCKETS = ("obsconf-snapshots",)


def objectstore_process(binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> ManagedProcess:
    root = workdir / "s3"
    for bucket in BUCKETS:  # each subfolder is a bucket
        (root / bucket).mkdir(parents=True, exist_ok=True)
    return backend_process(
        "rclone-s3",
        [str(binary), "serve", "s3", "--addr", f"{LOOPBACK}:{port}", "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
         "--config", "/dev/null", str(root)],
        workdir, probe=http_answers(f"http://{LOOPBACK}:{port}/"), timeout=timeout, registry=registry)
