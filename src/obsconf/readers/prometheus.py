"""PromQL over Prometheus' HTTP API -> :class:`~obsconf.model.Series`; targets and rules."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from obsconf.errors import ObsconfError
from obsconf.model import Series
from obsconf.readers._http import HttpReader
from obsconf.settings import ENV_PROMETHEUS_VERSION


class PromQLError(ObsconfError):
    """Prometheus rejected a query; the message carries the query and Prometheus' own error."""


def _series(result: dict[str, Any]) -> list[Series]:
    kind = result["resultType"]
    out = []
    for item in result["result"]:
        if kind == "vector":
            points = ((float(item["value"][0]), float(item["value"][1])),)
        elif kind == "matrix":
            points = tuple((float(t), float(v)) for t, v in item["values"])
        else:  # scalar / string
            return [Series({}, ((float(item[0]) if isinstance(item, list) else 0.0, float(result["result"][1])),))]
        out.append(Series(dict(item.get("metric", {})), points))
    return out


def _scrape_hint(error: str) -> str:
    """The fix for scrape errors that Prometheus 3 raises and 2.x did not."""
    if "Content-Type" in error and "fallback_scrape_protocol" in error:
        return (". Prometheus 3 refuses a /metrics response without a Prometheus or OpenMetrics Content-Type "
                "(2.x guessed): serve it as `text/plain; version=0.0.4` (what client libraries send), or set "
                "fallback_scrape_protocol in your own Prometheus' scrape config")
    if '"INVALID"' in error:  # 2.x's lexer on a quoted (UTF-8) metric name
        return (". If the exposition has quoted UTF-8 metric names (e.g. {\"http.server.duration\"}), Prometheus "
                f"2.x cannot read them and drops the whole scrape: run 3.x (unset {ENV_PROMETHEUS_VERSION}), "
                "or expose names with underscores")
    return ""


class PrometheusReader(HttpReader):
    """Instant and range PromQL queries, scrape targets, rules and alerts."""

    backend = "Prometheus"

    def _api(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self._fetch(f"/api/v1/{path}", params)
        try:
            body = resp.json()
        except ValueError:
            resp.raise_for_status()
            raise
        if body.get("status") != "success":
            raise PromQLError(f"Prometheus {self.url} rejected {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, promql: str, at: float | None = None) -> list[Series]:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        return _series(self._api("query", params))

    def query_range(self, promql: str, start: float, end: float, step: float = 1.0) -> list[Series]:
        return _series(self._api("query_range", {"query": promql, "start": start, "end": end, "step": step}))

    def wait_for(self, promql: str, *, timeout: float = 15.0, predicate: Any = None) -> list[Series]:
        """Poll an instant query until it returns series (matching ``predicate`` if given) or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.query(promql)
            if found and (predicate is None or predicate(found)):
                return found
            if time.monotonic() >= deadline:
                return found
            time.sleep(0.5)

    def targets(self) -> list[dict[str, Any]]:
        return list(self._api("targets")["activeTargets"])

    def wait_for_target_up(self, job: str, *, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until a target of ``job`` was scraped successfully; raise with its last error otherwise."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            for target in self.targets():
                if target.get("labels", {}).get("job") == job:
                    last = target
                    if target.get("health") == "up":
                        return target
            time.sleep(0.3)
        error = last.get("lastError") or "-"
        raise ObsconfError(
            f"Prometheus {self.url} has not scraped job {job!r} successfully within {timeout:.0f} s; "
            f"target: {last.get('scrapeUrl', 'none registered')}, last error: {error}{_scrape_hint(error)}"
        )

    def version(self) -> str:
        """The server's version from ``/api/v1/status/buildinfo`` (e.g. ``3.16.0``, ``2.42.0+ds``)."""
        return str(self._api("status/buildinfo").get("version", ""))

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self._api("rules")["groups"] for rule in group["rules"]]

    def rule_groups(self) -> list[dict[str, Any]]:
        """The alerting rule groups, each ``{name, file, rules: [{name, type, state, alerts: [{labels, state,
        activeAt, value}]}]}`` (``/api/v1/rules?type=alert``)."""
        return list(self._api("rules", {"type": "alert"})["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending or firing), each ``{labels, annotations, state, activeAt, value}``."""
        return list(self._api("alerts")["alerts"])

    def metadata(self, metric: str) -> list[dict[str, Any]]:
        return list(self._api("metadata", {"metric": metric}).get(metric, []))

    def graph_link(self, promql: str) -> str:
        return f"{self.url}/graph?{urlencode({'g0.expr': promql, 'g0.tab': '1'})}"
