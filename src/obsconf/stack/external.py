"""The external stack: backends the user already runs, reached at the URLs given, each checked before use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from obsconf.errors import BackendNotReady, UsageError
from obsconf.settings import Settings
from obsconf.stack.addresses import build_endpoints
from obsconf.stack.handle import Stack
from obsconf.stack.readiness import http_ok, wait_ready


def external_stack(settings: Settings, progress: Callable[[str], None], needs: frozenset[str]) -> Stack:
    """A :class:`Stack` on the user's backends; a missing URL or a backend that does not answer fails here."""
    ext = settings.external
    needed = {"jaeger": "OBSCONF_JAEGER_URL / --obsconf-jaeger-url", "otlp_http": "OBSCONF_OTLP_HTTP_URL / --obsconf-otlp-url",
              "prometheus": "OBSCONF_PROMETHEUS_URL / --obsconf-prometheus-url", "loki": "OBSCONF_LOKI_URL / --obsconf-loki-url"}
    if "pocketbase" in needs:
        needed["pocketbase"] = "OBSCONF_POCKETBASE_URL / --obsconf-pocketbase-url (a selected contract uses PocketBase)"
    missing = [f"{k} ({how})" for k, how in needed.items() if not ext.get(k)]
    if missing:
        raise UsageError("--obsconf-stack=external needs the URL of every backend; missing: " + "; ".join(missing)
                         + ". Or use --obsconf-stack=process to start them here.")
    dialect = ext.get("loki_dialect", "logql")
    if dialect not in ("logql", "logsql"):
        raise UsageError(f"--obsconf-loki-dialect {dialect!r}: use logql (Grafana Loki) or logsql (VictoriaLogs)")
    probes = {
        "jaeger": f"{ext['jaeger'].rstrip('/')}/api/services",
        "prometheus": f"{ext['prometheus'].rstrip('/')}/-/ready",
        "loki": f"{ext['loki'].rstrip('/')}/{'ready' if dialect == 'logql' else 'health'}",
    }
    if ext.get("pocketbase"):
        probes["pocketbase"] = f"{ext['pocketbase'].rstrip('/')}/api/health"
    for name, url in probes.items():
        progress(f"checking external {name} at {url}")
        try:
            wait_ready(f"external {name} ({url})", http_ok(url), timeout=min(settings.ready_timeout, 10))
        except BackendNotReady as exc:
            raise BackendNotReady(f"{exc}. Check the URL, or use --obsconf-stack=process to start one here.") from None
    email, _, password = ext.get("pocketbase_admin", ":").partition(":")
    urls = {"jaeger": ext["jaeger"].rstrip("/"), "otlp_http": ext["otlp_http"].rstrip("/"),
            "otlp_grpc": ext.get("otlp_grpc", ""), "prometheus": ext["prometheus"].rstrip("/"),
            "logs": ext["loki"].rstrip("/"), "pocketbase": ext.get("pocketbase", "").rstrip("/"),
            "toxiproxy": ext.get("toxiproxy", "")}
    endpoints = build_endpoints(urls, dialect=dialect, pocketbase_admin=(email, password))
    return Stack("external", endpoints, ExitStack(), workdir=None)
