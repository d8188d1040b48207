"""A target's own ``/metrics`` text -> :class:`~obsconf.model.MetricFamily` (prometheus_client's parser)."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from obsconf.errors import TargetUnreachable
from obsconf.model import MetricFamily, MetricSample


def parse_metrics(text: str) -> list[MetricFamily]:
    """Parse Prometheus text exposition. Counter family names lose ``_total`` in the parser; it is put back so
    names match what PromQL sees."""
    families = []
    for fam in text_string_to_metric_families(text):
        name = fam.name
        if fam.type == "counter" and any(s.name == f"{name}_total" for s in fam.samples):
            name = f"{name}_total"
        samples = tuple(MetricSample(s.name, dict(s.labels), float(s.value)) for s in fam.samples)
        families.append(MetricFamily(name=name, type=fam.type, help=fam.documentation or "", samples=samples))
    return families


def scrape(url: str, *, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[str, list[MetricFamily]]:
    """GET ``url`` (a /metrics endpoint) and parse it."""
    try:
        resp = requests.get(url, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise TargetUnreachable(f"cannot scrape {url}: {exc}") from exc
    if resp.status_code != 200:
        raise TargetUnreachable(f"scraping {url} answered {resp.status_code}: {resp.text[:200]}")
    return resp.text, parse_metrics(resp.text)
