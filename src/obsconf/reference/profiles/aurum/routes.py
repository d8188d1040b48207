"""aurum's HTTP routes: the observability API under ``/v1/observability`` and the scenario API under
``/api/scenarios`` (shapes in the package docstring). Each route turns a request into a call on the profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response

from obsconf.reference.logs import CURRENT_REQUEST
from obsconf.reference.profiles.aurum.logline import LOG_SCHEMA
from obsconf.reference.profiles.base import json_call, json_object, json_response, not_json
from obsconf.reference.spanstore import otlp_json

if TYPE_CHECKING:
    from obsconf.reference.profiles.aurum.profile import AurumProfile

BASE = "/v1/observability"


def _trace_not_found(trace_id: str) -> Response:
    return json_response({"error": f"trace {trace_id} not found in this process"}, 404)


def add_metrics_routes(router: APIRouter, profile: AurumProfile) -> None:
    """The metrics (text and JSON) and the process's performance figures."""

    @router.get(f"{BASE}/metrics")
    async def metrics_text(request: Request) -> Response:
        return profile.metrics_response(request)

    @router.get(f"{BASE}/metrics/json")
    async def metrics_json() -> Response:
        families = [{"name": family.name, "type": family.type, "help": family.documentation,
                     "samples": [{"name": sample.name, "labels": sample.labels, "value": sample.value}
                                 for sample in family.samples]}
                    for family in profile.tel.registry.collect()]
        return json_response({"metrics": families})

    @router.get(f"{BASE}/performance")
    async def performance() -> Response:
        return json_response(profile.performance_report())


def add_trace_routes(router: APIRouter, profile: AurumProfile) -> None:
    """The traces this process recorded: list, detail, export and cleanup."""

    @router.get(f"{BASE}/traces")
    async def traces(limit: int = Query(50, ge=1, le=1000)) -> Response:
        return json_response({"traces": profile.store.summaries(limit), "total": profile.store.count()})

    @router.get(f"{BASE}/traces/{{trace_id}}")
    async def trace_detail(trace_id: str) -> Response:
        spans = profile.store.get(trace_id)
        if spans is None:
            return _trace_not_found(trace_id)
        return json_response({"trace_id": trace_id.lower(), "spans": spans})

    @router.post(f"{BASE}/traces/{{trace_id}}/export")
    async def trace_export(trace_id: str, request: Request) -> Response:
        body = await json_object(request)
        if body is None:
            return not_json()
        fmt = body.get("format") or "otlp_json"
        if fmt not in ("otlp_json", "json"):
            return json_response({"error": f"format {fmt!r}: use otlp_json or json"}, 400)
        spans = profile.store.get(trace_id)
        if spans is None:
            return _trace_not_found(trace_id)
        data = otlp_json(spans, profile.tel.service_name) if fmt == "otlp_json" else {"spans": spans}
        profile.log.info("Trace exported", component="observability", operation="export_trace",
                         exported_trace_id=trace_id, format=fmt, span_count=len(spans))
        return json_response({"trace_id": trace_id.lower(), "format": fmt, "data": data})

    @router.post(f"{BASE}/cleanup")
    async def cleanup(max_age_seconds: float = Query(3600.0, ge=0, le=10**9)) -> Response:  # inf: 422
        removed = profile.store.cleanup(max_age_seconds)
        profile.log.info("Old traces cleaned up", component="observability", operation="cleanup",
                         removed_traces=removed, max_age_seconds=max_age_seconds)
        return json_response({"removed_traces": removed, "remaining_traces": profile.store.count()})


def add_slo_routes(router: APIRouter, profile: AurumProfile) -> None:
    """The SLO report, one SLO, the dashboard, the health report and the log line's schema."""

    @router.get(f"{BASE}/slos")
    async def slos() -> Response:
        report = profile.slo_report()
        statuses = {item["status"] for item in report}
        overall = "violated" if "violated" in statuses else "met" if statuses == {"met"} else "partial_data"
        return json_response({"overall_status": overall, "slos": report})

    @router.get(f"{BASE}/slos/{{name}}")
    async def slo_detail(name: str) -> Response:
        for item in profile.slo_report():
            if item["name"] == name:
                return json_response(item)
        return json_response({"error": f"unknown SLO {name!r}", "known": [slo.name for slo in profile.slos]}, 404)

    @router.get(f"{BASE}/dashboard")
    async def dashboard(wrap: str = Query("")) -> Response:
        model = profile.dashboard()
        return json_response({"dashboard": model, "overwrite": True} if wrap == "api" else model)

    @router.get(f"{BASE}/health")
    async def health() -> Response:
        return json_response(profile.health_report())

    @router.get(f"{BASE}/logs/schema")
    async def logs_schema() -> Response:
        return json_response(LOG_SCHEMA)


def add_scenario_routes(router: APIRouter, profile: AurumProfile) -> None:
    """Create, read and run scenarios."""

    @router.post("/api/scenarios")
    async def create(request: Request) -> Response:
        return await json_call(request, lambda body: profile.create_scenario(body, CURRENT_REQUEST.get()))

    @router.get("/api/scenarios/{scenario_id}")
    async def get_one(scenario_id: str) -> Response:
        found = profile.get_scenario(scenario_id)
        if found is None:
            return json_response({"error": f"scenario {scenario_id} not found"}, 404)
        return json_response(found)

    @router.post("/api/scenarios/{scenario_id}/runs")
    async def run(scenario_id: str, request: Request) -> Response:
        return await json_call(request, lambda body: profile.run_scenario(scenario_id, body))


def add_routes(router: APIRouter, profile: AurumProfile) -> None:
    """Every aurum route, in the order the seed lists them."""
    add_metrics_routes(router, profile)
    add_trace_routes(router, profile)
    add_slo_routes(router, profile)
    add_scenario_routes(router, profile)

