"""The standard environment variables obsconf gives a service it starts (or prints for one started by hand).

These are the variables that OpenTelemetry SDKs, Loki clients and AWS SDKs read, so a service configured
the usual way sends its telemetry to the session's backends without knowing obsconf. The contract's
``service.env`` is applied after them, so it can override any of them.
"""

from __future__ import annotations

from obsconf.stack.endpoints import Endpoints

#: Loki's push path; a Loki client's base URL plus this is the push endpoint.
LOKI_PUSH_PATH = "/loki/api/v1/push"

#: (variable, what obsconf sets it to), in the order README documents them.
STANDARD_VARIABLES: tuple[tuple[str, str], ...] = (
    ("OTEL_SERVICE_NAME", "the contract's `service.name`"),
    ("OTEL_RESOURCE_ATTRIBUTES", "`service.name=<name>,obsconf.run_id=<run id>`"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "the OTLP/HTTP base URL of the session's Jaeger (the SDK appends `/v1/traces`)"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "the full OTLP/HTTP traces URL (`<base>/v1/traces`)"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "`http/protobuf`"),
    ("OTEL_TRACES_EXPORTER", "`otlp`"),
    ("OTEL_METRICS_EXPORTER", "`none` (metrics are scraped from `service.metrics_path`)"),
    ("OTEL_LOGS_EXPORTER", "`none` (log lines go to Loki or stdout)"),
    ("OTEL_TRACES_SAMPLER", "`parentbased_traceidratio`"),
    ("OTEL_TRACES_SAMPLER_ARG", "`spans.sampling.run_rate` of the contract (default `1.0`)"),
    ("OTEL_BSP_SCHEDULE_DELAY", "`200` (ms), so spans reach Jaeger within a second"),
    ("LOKI_URL", "the Loki base URL: `LOKI_URL` + `/loki/api/v1/push` is the push endpoint"),
    ("LOKI_PUSH_URL", "the full Loki push URL"),
    ("AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION",
     "for an `s3` dependency: the proxied S3 endpoint and the store's credentials"),
    ("POCKETBASE_URL, POCKETBASE_ADMIN_EMAIL, POCKETBASE_ADMIN_PASSWORD",
     "for a `pocketbase` dependency: the proxied URL and a superuser"),
    ("<dependency env>", "for each `service.dependencies` entry: the address of its Toxiproxy proxy"),
)


def loki_base(push_url: str) -> str:
    """``http://h:p/insert/loki/api/v1/push`` -> ``http://h:p/insert`` (what Loki clients call the URL)."""
    return push_url[: -len(LOKI_PUSH_PATH)] if push_url.endswith(LOKI_PUSH_PATH) else push_url


def service_env(endpoints: Endpoints, *, service_name: str, run_id: str = "", sample_rate: float = 1.0,
                bsp_delay_ms: int = 200) -> dict[str, str]:
    """The standard variables for a service that sends telemetry to ``endpoints``."""
    resource = f"service.name={service_name}" + (f",obsconf.run_id={run_id}" if run_id else "")
    env = {
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_RESOURCE_ATTRIBUTES": resource,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{sample_rate:g}",
        "OTEL_BSP_SCHEDULE_DELAY": str(bsp_delay_ms),
    }
    env.update(otlp_env(endpoints.otlp_http_url))
    env.update(loki_env(endpoints.logs_push_url))
    return env


def otlp_env(otlp_http_url: str) -> dict[str, str]:
    """The OTLP exporter variables for an OTLP/HTTP base URL ("" sends nothing)."""
    if not otlp_http_url:
        return {}
    base = otlp_http_url.rstrip("/")
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": base, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{base}/v1/traces",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}


def loki_env(push_url: str) -> dict[str, str]:
    """The Loki client variables for a full push URL ("" sends nothing)."""
    if not push_url:
        return {}
    return {"LOKI_URL": loki_base(push_url), "LOKI_PUSH_URL": push_url}


def render(env: dict[str, str], fmt: str) -> str:
    """``env`` as shell exports (``sh``), a dotenv file (``dotenv``) or JSON (``json``)."""
    import json
    import shlex

    if fmt == "json":
        return json.dumps(env, indent=2, sort_keys=True)
    if fmt == "dotenv":
        special = set(" #\"'$")
        return "\n".join(f"{k}={json.dumps(v) if special & set(v) else v}" for k, v in sorted(env.items()))
    if fmt == "sh":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    raise ValueError(f"unknown format {fmt!r}: use sh, dotenv or json")
