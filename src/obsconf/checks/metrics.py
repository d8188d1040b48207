"""Pure checks of metric families (/metrics text) and PromQL series against the contract."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from decimal import Decimal

from obsconf.contract.model import MetricSpec
from obsconf.model import Finding, MetricFamily, MetricSample, Series


def find_family(families: Sequence[MetricFamily], name: str) -> MetricFamily | None:
    """The family for contract name ``name``; counters match with or without ``_total``
    (prometheus_client's parser strips it from the family name)."""
    base = name.removesuffix("_total")
    for fam in families:
        if fam.name in (name, base) or fam.name.removesuffix("_total") == base:
            return fam
    return None


def _data_samples(fam: MetricFamily) -> list[MetricSample]:
    """Samples that carry data (``_created`` timestamps are metadata, not series)."""
    return [s for s in fam.samples if not s.name.endswith("_created")]


def _label_key(sample: MetricSample) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))


def _le(value: str) -> float:
    """A bucket bound as a number. Compared as numbers, never as text: Prometheus 3 stores ``le="1"`` as
    ``le="1.0"`` (OpenMetrics formatting), 2.x as exposed, and client libraries format bounds differently."""
    return float("inf") if value in ("+Inf", "Inf", "inf") else float(value)


def openmetrics_float(value: float) -> str:
    """How Prometheus 3 writes a scraped classic histogram's ``le`` and a summary's ``quantile``
    (``labels.FormatOpenMetricsFloat``: Go's shortest ``%g``, then ``.0`` if there is neither ``.`` nor ``e``):
    ``1`` -> ``1.0``, ``0.25`` -> ``0.25``, ``100000`` -> ``100000.0``, ``1000000`` -> ``1e+06``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0.0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(digits) + exponent  # the decimal point sits after this many digits
    if point - 1 < -4 or point - 1 >= 6:  # Go's %g with the shortest precision switches to %e here
        mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
        out = f"{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    elif point <= 0:
        out = "0." + "0" * -point + text
    elif point >= len(text):
        out = text + "0" * (point - len(text))
    else:
        out = f"{text[:point]}.{text[point:]}"
    out = ("-" if sign else "") + out
    return out if ("." in out or "e" in out) else f"{out}.0"


def _bucket_findings(spec: MetricSpec, layouts: dict[tuple[tuple[str, str], ...], list[float]], where: str, *,
                     query: str, link: str) -> list[Finding]:
    """The contract's bucket bounds against each series' bounds (numbers, whatever their text form): exactly
    ``buckets``, or at least ``buckets_include``."""
    wanted = spec.buckets if spec.buckets is not None else spec.buckets_include
    assert wanted is not None
    if not layouts:
        return [Finding("metrics.buckets", where, f"metric {spec.name!r} exposes no _bucket samples",
                        expected=_fmt_buckets(wanted), actual="no buckets", query=query, link=link)]
    for key, les in layouts.items():
        got = sorted(les)
        if spec.buckets is None:
            missing = sorted(set(wanted) - set(got))
            if missing:
                return [Finding("metrics.buckets", where, f"metric {spec.name!r}{dict(key)} lacks the bucket bounds "
                                f"{_fmt_buckets(missing)} of the contract (more bounds are allowed)",
                                expected=f"includes {_fmt_buckets(wanted)}", actual=_fmt_buckets(got),
                                query=query, link=link)]
            continue
        if got != list(spec.buckets):
            return [Finding(
                "metrics.buckets",
                where,
                f"metric {spec.name!r}{dict(key)} has the wrong bucket layout: set the histogram's buckets to the "
                "contract's",
                expected=_fmt_buckets(spec.buckets),
                actual=_fmt_buckets(got),
                query=query,
                link=link,
            )]
    return []


def _fmt_buckets(values: Sequence[float]) -> list[str]:
    return ["+Inf" if v == float("inf") else f"{v:g}" for v in values]


def _value_sample_name(spec: MetricSpec, fam: MetricFamily) -> set[str]:
    """Sample names whose value grows with activity: ``_total`` for counters, ``_count`` for histograms."""
    base = spec.name.removesuffix("_total")
    if spec.type == "counter":
        return {base + "_total", base}
    if spec.type in ("histogram", "summary"):
        return {base + "_count"}
    return {spec.name, fam.name}


def _selected_sum(spec: MetricSpec, fam: MetricFamily | None) -> tuple[float, int]:
    """(sum of values of the series the selector picks, number of such series)."""
    if fam is None:
        return 0.0, 0
    names = _value_sample_name(spec, fam)
    total, count = 0.0, 0
    for s in fam.samples:
        if s.name in names and all(s.labels.get(k) == v for k, v in spec.selector.items()):
            total += s.value
            count += 1
    return total, count


def metric_value(families: Sequence[MetricFamily], name: str, selector: dict[str, str] | None = None) -> float | None:
    """The sum of the series of family ``name`` that ``selector`` picks (a counter's ``_total``, a gauge's value,
    a histogram's ``_count``); None when the family or every such series is absent."""
    fam = find_family(families, name)
    if fam is None:
        return None
    kind = fam.type if fam.type in ("counter", "histogram", "summary") else "gauge"
    total, count = _selected_sum(MetricSpec(name=name, type=kind, selector=dict(selector or {})), fam)
    return total if count else None


def check_metric(
    spec: MetricSpec,
    families: Sequence[MetricFamily],
    *,
    before: Sequence[MetricFamily] | None = None,
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """One metric: present, type, exact label set, bucket layout, HELP, increase after the workload."""
    where = spec.loc or f"metrics {spec.name}"
    fam = find_family(families, spec.name)
    if fam is None:
        close = difflib.get_close_matches(spec.name, [f.name for f in families], n=3)
        hint = f"; similar names exposed: {', '.join(close)}" if close else ""
        return [
            Finding(
                "metrics.present",
                where,
                f"metric {spec.name!r} is not exposed ({len(families)} families scraped){hint}",
                expected=spec.name,
                actual="absent",
                query=query,
                link=link,
            )
        ]
    findings: list[Finding] = []
    if fam.type != spec.type:
        findings.append(
            Finding("metrics.type", where, f"metric {spec.name!r} has the wrong type", expected=spec.type,
                    actual=fam.type, query=query, link=link)
        )
    if spec.help_required and not fam.help.strip():
        findings.append(
            Finding("metrics.help", where, f"metric {spec.name!r} has no HELP text: pass a description when "
                    "creating it", expected="non-empty # HELP", actual=repr(fam.help), query=query, link=link)
        )
    samples = _data_samples(fam)
    if not samples:
        findings.append(
            Finding(
                "metrics.present",
                where,
                f"metric {spec.name!r} is declared but has no series: the workload never touched it "
                "(labelled metrics expose nothing until a child is used)",
                expected="at least one series",
                actual="0 series",
                query=query,
                link=link,
            )
        )
        return findings
    findings += _label_findings(spec, samples, where, query=query, link=link)
    wanted_buckets = spec.buckets if spec.buckets is not None else spec.buckets_include
    if wanted_buckets is not None:
        layouts: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for sample in samples:
            if sample.name.endswith("_bucket") and "le" in sample.labels:
                layouts.setdefault(_label_key(sample), []).append(_le(sample.labels["le"]))
        findings += _bucket_findings(spec, layouts, where, query=query, link=link)
    if spec.increases:
        findings += _increase_findings(spec, fam, find_family(before or [], spec.name), where, query=query, link=link)
    return findings


def _label_findings(spec: MetricSpec, samples: Sequence[MetricSample], where: str, *, query: str,
                    link: str) -> list[Finding]:
    """Every sample has exactly the contract's label set (``le`` and ``quantile`` aside)."""
    if spec.labels is None:
        return []
    wanted = set(spec.labels)
    bad = [s for s in samples if set(s.labels) - {"le", "quantile"} != wanted]
    if not bad:
        return []
    got = sorted(set(bad[0].labels) - {"le", "quantile"})
    missing, extra = sorted(wanted - set(got)), sorted(set(got) - wanted)
    parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
    return [
        Finding(
            "metrics.labels",
            where,
            f"metric {spec.name!r}: {len(bad)} of {len(samples)} samples have the wrong label set "
            f"({'; '.join(parts)}); first: {bad[0].name}{bad[0].labels}",
            expected=sorted(wanted),
            actual=got,
            query=query,
            link=link,
        )
    ]


def _increase_findings(spec: MetricSpec, after: MetricFamily, before: MetricFamily | None, where: str, *,
                       query: str, link: str) -> list[Finding]:
    """The series the selector picks grew between the scrape before the workload and the one after it."""
    after_sum, after_n = _selected_sum(spec, after)
    before_sum, _ = _selected_sum(spec, before)
    sel = f"{spec.selector}" if spec.selector else "(all series)"
    if after_n == 0:
        return [
            Finding(
                "metrics.increase",
                where,
                f"metric {spec.name!r} has no series matching {sel} after the workload",
                expected=f"a series {sel} that increased",
                actual="no matching series",
                query=query,
                link=link,
            )
        ]
    if after_sum <= before_sum:
        return [
            Finding(
                "metrics.increase",
                where,
                f"metric {spec.name!r}{sel} did not increase during the workload: the code path does not "
                "update it",
                expected=f"> {before_sum:g}",
                actual=f"{after_sum:g}",
                query=query,
                link=link,
            )
        ]
    return []


def check_metrics(
    specs: Sequence[MetricSpec],
    families: Sequence[MetricFamily],
    *,
    before: Sequence[MetricFamily] | None = None,
    query: str = "",
    link: str = "",
) -> list[Finding]:
    """Every metric of the contract against one scrape (``before``: a scrape taken before the workload)."""
    if not families:
        return [
            Finding(
                "metrics.present",
                "metrics",
                "the scrape returned no metric family at all: is the metrics endpoint wired to the registry?",
                expected=[s.name for s in specs],
                actual="0 families",
                query=query,
                link=link,
            )
        ]
    out: list[Finding] = []
    for spec in specs:
        out += check_metric(spec, families, before=before, query=query, link=link)
    return out


def check_series(
    spec: MetricSpec, series: Sequence[Series], *, query: str = "", link: str = ""
) -> list[Finding]:
    """A PromQL result for ``spec`` (Prometheus adds job/instance): series exist and carry the contract's
    labels. If the result holds ``_bucket`` series (an ``le`` label), their bounds are checked against the
    contract's buckets, as numbers: Prometheus 3 stores ``le="1"`` as ``"1.0"``, 2.x as the service exposed
    it. Whether a metric grows is judged on /metrics scrapes before and after the workload
    (:func:`check_metric`), not here."""
    where = spec.loc or f"metrics {spec.name}"
    if not series:
        return [
            Finding(
                "metrics.present",
                where,
                f"Prometheus returned no series for {spec.name!r}: is the target scraped (up == 1) and did the "
                "workload touch the metric?",
                expected="at least one series",
                actual="0 series",
                query=query,
                link=link,
            )
        ]
    findings = []
    if spec.labels is not None:
        missing = [s for s in series if not set(spec.labels) <= set(s.labels)]
        if missing:
            findings.append(
                Finding("metrics.labels", where, f"{len(missing)} of {len(series)} series of {spec.name!r} lack "
                        "contract labels", expected=sorted(spec.labels), actual=sorted(missing[0].labels),
                        query=query, link=link)
            )
    buckets = [s for s in series if "le" in s.labels]
    if (spec.buckets is not None or spec.buckets_include is not None) and buckets:
        layouts: dict[tuple[tuple[str, str], ...], list[float]] = {}
        for s in buckets:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("le", "__name__")))
            layouts.setdefault(key, []).append(_le(s.labels["le"]))
        findings += _bucket_findings(spec, layouts, where, query=query, link=link)
    return findings
