"""The log store: VictoriaLogs, which accepts the Loki push protocol (``/insert/loki/api/v1/push``).

Grafana Loki 3 is AGPL and ruled out by this workplace's package policy; VictoriaLogs (Apache-2.0) takes
the same pushes, so a service configured for Loki needs only the push URL. Message parsing is disabled so
the stored ``_msg`` is the line exactly as the service sent it (what a redaction check must see).
"""

from __future__ import annotations

from pathlib import Path

from obsconf.ports import LOOPBACK
from obsconf.stack.process import ManagedProcess, backend_process
from obsconf.stack.readiness import http_ok

PUSH_PATH = "/insert/loki/api/v1/push"


def logstore_process(binary: Path, port: int, workdir: Path, *, timeout: float, registry: Path) -> ManagedProcess:
    return backend_process(
        "victoria-logs",
        [str(binary), f"-httpListenAddr={LOOPBACK}:{port}", f"-storageDataPath={workdir / 'logs-data'}",
         "-loki.disableMessageParsing", "-retentionPeriod=1d", "-loggerLevel=WARN"],
        workdir, probe=http_ok(f"http://{LOOPBACK}:{port}/health"), timeout=timeout, registry=registry)
