"""Where each backend of a running stack answers. One dataclass for process, container and external modes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Endpoints:
    """URLs of the backends of one session (all on 127.0.0.1 unless the user gave external URLs).

    ``logs_push_url`` is the full Loki push URL (``.../loki/api/v1/push``); ``logs_query_url`` is the base
    URL of the log query API and ``logs_dialect`` says which language it speaks: ``logql`` (Grafana Loki)
    or ``logsql`` (VictoriaLogs, the Loki-push-compatible store the process stack runs here).
    """

    jaeger_query_url: str  # e.g. http://127.0.0.1:16686
    otlp_http_url: str  # e.g. http://127.0.0.1:4318 (spans go to /v1/traces)
    otlp_grpc_endpoint: str  # e.g. 127.0.0.1:4317
    prometheus_url: str  # e.g. http://127.0.0.1:9090
    logs_push_url: str
    logs_query_url: str
    logs_dialect: str  # "logql" | "logsql"
    pocketbase_url: str
    pocketbase_admin_email: str = ""
    pocketbase_admin_password: str = ""
    toxiproxy_url: str = ""  # e.g. http://127.0.0.1:8474 ("" when not running)
    s3_url: str = ""  # S3-compatible object store ("" when not running)
    s3_access_key: str = ""
    s3_secret_key: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def table(self) -> str:
        rows = [(k, v) for k, v in asdict(self).items() if isinstance(v, str) and v and "password" not in k
                and "secret" not in k]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
