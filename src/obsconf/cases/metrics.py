"""Cases of the ``metrics`` and ``dashboards`` sections: each family on the exposition and in Prometheus,
semantic conventions, ``promtool check metrics``, the seed's dashboard queries."""

from __future__ import annotations

from obsconf.cases.case import Case, Probe, path_of, query_of
from obsconf.checks.dashboards import check_dashboard
from obsconf.checks.metrics import check_metric, check_series
from obsconf.checks.promtool import promtool_check_metrics
from obsconf.checks.semconv import check_metric_semconv
from obsconf.contract.model import Contract, DashboardSpec, MetricSpec
from obsconf.model import Finding


def metrics_cases(contract: Contract) -> list[Case]:
    cases = []
    for metric in contract.metrics:
        where = (path_of(metric.loc),)
        cases.append(Case(contract, "metrics", metric.name, "metrics", lambda probe, m=metric: _family_findings(m, probe),
                          f"{metric.type} {metric.name} on {contract.service.metrics_path} has its labels and buckets",
                          where))
        cases.append(Case(contract, "metrics", f"{metric.name}_in_prometheus", "metrics",
                          lambda probe, m=metric: _series_findings(m, probe),
                          f"Prometheus scraped {metric.name} from the service (job {contract.service.name!r})", where))
    if contract.metrics_semconv is not None and contract.metrics_semconv.enabled:
        semconv_where = contract.metrics_semconv.loc
        cases.append(Case(contract, "metrics", "semconv", "metrics.semconv",
                          lambda probe: check_metric_semconv(probe.collected().metrics_after, where=semconv_where,
                                                             **query_of(probe, "metrics")),
                          "metric names, units and types follow the OpenTelemetry semantic conventions",
                          ("metrics.semconv",)))
    if contract.metrics:
        where_text = f"{contract.name} metrics"
        cases.append(Case(contract, "metrics", "promtool_check_metrics", "metrics.promtool",
                          lambda probe: promtool_check_metrics(probe.collected().metrics_text, where=where_text),
                          "`promtool check metrics` accepts the exposition", ("service",)))
    return cases


def _family_findings(spec: MetricSpec, probe: Probe) -> list[Finding]:
    got = probe.collected()
    return check_metric(spec, got.metrics_after, before=got.metrics_before, **query_of(probe, "metrics"))


def dashboard_cases(contract: Contract) -> list[Case]:
    return [Case(contract, "dashboards", spec.name, "dashboards",
                 lambda probe, spec=spec: _dashboard_findings(spec, probe),
                 f"the seed's query {spec.expr!r} returns series of the service", (path_of(spec.loc),))
            for spec in contract.dashboards]


def _dashboard_findings(spec: DashboardSpec, probe: Probe) -> list[Finding]:
    series, query, link = probe.dashboard(spec)
    return check_dashboard(spec, series, job=_job(probe), query=query, link=link)


def _job(probe: Probe) -> str:
    target = getattr(probe, "target", None)
    return getattr(target, "job", "") or probe.collected().contract.service.name


def _series_findings(spec: MetricSpec, probe: Probe) -> list[Finding]:
    series, query, link = probe.series(spec)
    return check_series(spec, series, query=query, link=link)
