"""aurum's Grafana dashboard as code: one stat panel per SLO and the RED panels, importable as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from obsconf.reference.profiles.aurum.slo import Slo

_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _slo_panel(index: int, slo: Slo) -> dict[str, Any]:
    # red below a ratio's target, red above a ceiling's
    below, above = ("red", "green") if slo.comparison == ">=" else ("green", "red")
    return {
        "id": index + 1, "type": "stat", "title": f"SLO: {slo.description}",
        "gridPos": {"h": 4, "w": 4, "x": (index % 6) * 4, "y": 0},
        "datasource": dict(_DATASOURCE),
        "targets": [{"refId": "A", "expr": slo.promql}],
        "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
            {"color": below, "value": None}, {"color": above, "value": slo.target}]}},
            "overrides": []},
    }


def _red_panels(prefix: str) -> list[dict[str, Any]]:
    exprs = (
        ("Request rate by path", f"sum by (path) (rate({prefix}requests_total[5m]))"),
        ("Error rate by path and tenant",
         f'sum by (path, tenant_id) (rate({prefix}requests_total{{status_code=~"5.."}}[5m]))'),
        ("Latency P50/P95/P99", f"histogram_quantile(0.95, sum by (le) (rate({prefix}request_latency_seconds_bucket[5m])))"),
        ("Business transactions", f"sum by (transaction_type, status) (rate({prefix}business_transactions_total[5m]))"),
    )
    return [{"id": 100 + j, "type": "timeseries", "title": title,
             "gridPos": {"h": 8, "w": 12, "x": (j % 2) * 12, "y": 4 + (j // 2) * 8},
             "datasource": dict(_DATASOURCE),
             "targets": [{"refId": "A", "expr": expr}]}
            for j, (title, expr) in enumerate(exprs)]


def grafana_dashboard(slos: Sequence[Slo], prefix: str) -> dict[str, Any]:
    """A Grafana dashboard model: one stat panel per SLO and the RED panels over ``prefix``'s metrics."""
    panels = [_slo_panel(i, slo) for i, slo in enumerate(slos)] + _red_panels(prefix)
    return {
        "uid": "aurum-slo-overview", "title": "Aurum SLO Overview", "tags": ["aurum", "slo", "obsconf"],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "current": {}, "hide": 0}]},
        "panels": panels,
    }
