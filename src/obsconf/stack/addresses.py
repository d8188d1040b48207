"""The one place that builds :class:`Endpoints`: from where each backend answers, for process, container and
external stacks alike, with the credentials and push path that go with them."""

from __future__ import annotations

from collections.abc import Mapping

from obsconf.ports import LOOPBACK
from obsconf.stack.endpoints import Endpoints
from obsconf.stack.logstore import PUSH_PATH
from obsconf.stack.objectstore import ACCESS_KEY, SECRET_KEY
from obsconf.stack.pocketbase_admin import ADMIN_EMAIL, ADMIN_PASSWORD

LOKI_PUSH_PATH = "/loki/api/v1/push"  # Grafana Loki's own push path (an external Loki)


def local_url(port: int) -> str:
    """The base URL of a backend on this machine's loopback."""
    return f"http://{LOOPBACK}:{port}"


def build_endpoints(urls: Mapping[str, str], *, dialect: str = "logsql", pocketbase_admin: tuple[str, str] | None = None,
                    extra: Mapping[str, str] | None = None) -> Endpoints:
    """Endpoints from ``urls``: backend -> base URL for ``jaeger`` (query), ``otlp_http``, ``prometheus``,
    ``logs`` (the log store, speaking ``dialect``), and where they run ``otlp_grpc`` (host:port),
    ``toxiproxy``, ``pocketbase`` and ``s3`` (absent or "": not running). ``pocketbase_admin`` is (email,
    password); by default the session's superuser when PocketBase runs. S3 credentials are the stack's own."""
    logs = urls["logs"]
    pocketbase, s3 = urls.get("pocketbase", ""), urls.get("s3", "")
    if pocketbase_admin is None:
        pocketbase_admin = (ADMIN_EMAIL, ADMIN_PASSWORD) if pocketbase else ("", "")
    return Endpoints(
        jaeger_query_url=urls["jaeger"],
        otlp_http_url=urls["otlp_http"],
        otlp_grpc_endpoint=urls.get("otlp_grpc", ""),
        prometheus_url=urls["prometheus"],
        logs_push_url=f"{logs}{LOKI_PUSH_PATH if dialect == 'logql' else PUSH_PATH}",
        logs_query_url=logs,
        logs_dialect=dialect,
        pocketbase_url=pocketbase,
        pocketbase_admin_email=pocketbase_admin[0],
        pocketbase_admin_password=pocketbase_admin[1],
        toxiproxy_url=urls.get("toxiproxy", ""),
        s3_url=s3,
        s3_access_key=ACCESS_KEY if s3 else "",
        s3_secret_key=SECRET_KEY if s3 else "",
        extra=dict(extra or {}),
    )
