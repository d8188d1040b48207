"""aurum's scenario operations (the business logic the seed's examples trace) over an in-memory table and
cache: spans ``scenario.create`` -> ``db.insert``, ``cache.set``; ``cache.get`` (hit or miss) -> ``db.select``;
``scenario.run`` -> ``db.update``; the business-transaction and cache metrics; the seed's log events."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Status, StatusCode

from obsconf.reference.logs import RequestContext
from obsconf.reference.profiles.aurum.slo import SliState

if TYPE_CHECKING:
    from obsconf.reference.logs import BoundLogger
    from obsconf.reference.telemetry import Telemetry


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


class ScenarioOps:
    """Mixed into the aurum profile, which sets the attributes below in ``setup_metrics``. The operations
    look ``self._outcome`` and the metrics up per call, so a patched instance (the broken target) is used."""

    tel: Telemetry
    log: BoundLogger
    business: Any
    cache_hits: Any
    cache_misses: Any
    db_in_use: Any
    db_latency: Any
    slow_query_ms: float
    scenarios: dict[str, dict[str, Any]]
    cache: dict[str, dict[str, Any]]
    sli_state: SliState

    def _db(self, operation: str, table: str, fn: Any, tenant: str | None = None) -> Any:
        # seed l.166 trace_database_query("insert", table="scenario", tenant_id=...); attribute names follow
        # OpenTelemetry's database conventions as seed l.303 asks, the tenant under the service's tenant.id
        tracer = self.tel.tracer
        start = time.perf_counter()
        self.db_in_use.inc()
        # the seed's argument names (table, tenant_id: l.166) beside OpenTelemetry's database names (l.303)
        attrs = {"table": table, "db.operation.name": operation, "db.collection.name": table,
                 "db.system.name": "memory"}
        if tenant:
            attrs["tenant_id"] = tenant
        try:
            with tracer.start_as_current_span(f"db.{operation}", attributes=attrs):
                return fn()
        finally:
            self.db_in_use.dec()
            elapsed = time.perf_counter() - start
            self.db_latency.labels(operation, table).observe(elapsed)
            if elapsed * 1000.0 >= self.slow_query_ms:
                self.log.warn("Slow query", component="database", operation=operation, table=table,
                              duration_ms=round(elapsed * 1000.0, 3))

    def create_scenario(self, body: dict[str, Any], ctx: RequestContext | None) -> tuple[int, dict[str, Any]]:
        tracer = self.tel.tracer
        started = time.perf_counter()
        tenant = (ctx.tenant_id if ctx else None) or "default"
        # the caller may name the scenario (seed l.164: create_scenario_with_tracing(scenario_id, tenant_id))
        scenario_id = str(body.get("scenario_id") or f"scenario-{uuid.uuid4().hex[:12]}")[:128]
        with tracer.start_as_current_span("scenario.create", attributes={
                "scenario_id": scenario_id, "tenant_id": tenant, "component": "scenario"}) as span:
            if body.get("fail") or not str(body.get("name") or "").strip():
                reason = "requested failure" if body.get("fail") else "name is required"
                span.set_attribute("error.type", "validation_error")
                span.set_status(Status(StatusCode.ERROR, reason))
                self._outcome("scenario_create", False)
                self.log.error("Scenario creation failed", component="scenario", operation="create",
                               scenario_id=scenario_id, error=reason, duration_ms=_ms_since(started))
                return 422, {"error": reason}
            record = {"scenario_id": scenario_id, "tenant_id": tenant, "name": str(body["name"]),
                      "created_at": time.time(), "runs": 0}
            self._db("insert", "scenario", lambda: self.scenarios.__setitem__(scenario_id, record), tenant)
            with tracer.start_as_current_span("cache.set", attributes={"cache_type": "scenario",
                                                                       "key": scenario_id}):
                self.cache[scenario_id] = record
        self._outcome("scenario_create", True)
        self.log.info("Scenario creation completed", component="scenario", operation="create",
                      scenario_id=scenario_id, duration_ms=_ms_since(started))
        return 201, record

    def _outcome(self, kind: str, ok: bool) -> None:
        self.business.labels(kind, "scenario", "success" if ok else "failure").inc()
        self.sli_state.record_outcome(kind, ok)

    def get_scenario(self, scenario_id: str) -> dict[str, Any] | None:
        with self.tel.tracer.start_as_current_span("cache.get", attributes={
                "cache_type": "scenario", "key": scenario_id}) as span:
            hit = self.cache.get(scenario_id)
            span.set_attribute("cache.hit", hit is not None)
        self.sli_state.record_lookup(hit is not None)
        (self.cache_hits if hit is not None else self.cache_misses).labels("scenario").inc()
        if hit is not None:
            return hit
        found = self._db("select", "scenario", lambda: self.scenarios.get(scenario_id))
        if found is not None:
            self.cache[scenario_id] = found
        return found

    def run_scenario(self, scenario_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        scenario = self.scenarios.get(scenario_id)
        if scenario is None:
            return 404, {"error": f"scenario {scenario_id} not found"}
        run_id = f"run-{uuid.uuid4().hex[:12]}"
        with self.tel.tracer.start_as_current_span("scenario.run", attributes={
                "scenario_id": scenario_id, "run_id": run_id, "component": "scenario"}) as span:
            ok = not body.get("fail")
            if not ok:
                span.set_status(Status(StatusCode.ERROR, "scenario run failed"))
            else:
                self._db("update", "scenario", lambda: scenario.__setitem__("runs", scenario["runs"] + 1))
        self._outcome("scenario_run", ok)
        duration = _ms_since(started)
        if ok:
            self.log.info("Scenario run completed", component="scenario", operation="run", scenario_id=scenario_id,
                          run_id=run_id, duration_ms=duration)
            return 201, {"scenario_id": scenario_id, "run_id": run_id, "status": "success"}
        self.log.error("Scenario run failed", component="scenario", operation="run", scenario_id=scenario_id,
                       run_id=run_id, duration_ms=duration)
        return 500, {"scenario_id": scenario_id, "run_id": run_id, "status": "failure"}
