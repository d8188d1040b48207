"""Pure checks of span attribute names and metric names against the OpenTelemetry semantic conventions.

What is checked, over every span and metric family that arrived (not only the ones the contract lists):
- deprecated attribute and metric names, with the replacement the conventions name;
- value types of known attributes (``http.response.status_code`` is an int, not the string "200");
- metrics the conventions define: unit word (``http_server_request_duration_seconds``, not ``_milliseconds``),
  instrument type, and labels that are deprecated attribute names.
No spans or no metric families at all is a finding: nothing checked is not a pass.
The tables come from the pinned ``opentelemetry-semantic-conventions`` (:mod:`.semconv_registry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from obsconf.checks.semconv_registry import (
    UNIT_WORDS,
    Conventions,
    Deprecation,
    MetricConvention,
    load_conventions,
    prometheus_escape,
)
from obsconf.contract.valuetypes import type_ok
from obsconf.model import Finding, MetricFamily, Span
from obsconf.typenames import ATTRIBUTE_TYPES, type_name

# Unit words seen in the wild besides the translation's own (UNIT_WORDS), so a name like
# ``http_server_request_duration_ms`` is recognised as "base + unit" and its unit judged.
_OTHER_UNIT_WORDS = ("ms", "msec", "millis", "us", "usec", "micros", "ns", "sec", "secs", "kb", "mb", "pct")
_UNIT_SUFFIXES = tuple(sorted({*UNIT_WORDS.values(), *_OTHER_UNIT_WORDS}, key=len, reverse=True))
# Jaeger's JSON API (and its v1 model) turns array attributes into strings, so array types cannot be judged.
_CHECKED_TYPES = ("string", "int", "double", "boolean")
#: attribute type -> the contract value type with the same test
_CONTRACT_TYPE = {"string": "string", "int": "integer", "double": "number", "boolean": "boolean"}


@dataclass
class _Seen:
    """One problem over many spans: how often, on which span names, one trace to look at."""

    count: int = 0
    span_names: list[str] = field(default_factory=list)
    trace_id: str = ""
    values: list[str] = field(default_factory=list)

    def add(self, span: Span, value: Any = None) -> None:
        self.count += 1
        if span.name not in self.span_names and len(self.span_names) < 3:
            self.span_names.append(span.name)
        self.trace_id = self.trace_id or span.trace_id
        if value is not None and len(self.values) < 3:
            self.values.append(f"{value!r} ({_type_of(value)})")


def _type_of(value: Any) -> str:
    return type_name(value, ATTRIBUTE_TYPES)


def _type_ok(value: Any, wanted: str) -> bool:
    # an integral double may come back as an int, which the contract's "number" accepts
    return wanted not in _CONTRACT_TYPE or type_ok(value, _CONTRACT_TYPE[wanted])


def _fix(dep: Deprecation) -> str:
    return f"use {dep.replacement!r}" if dep.replacement else dep.note


def _on(seen: _Seen) -> str:
    names = ", ".join(repr(n) for n in seen.span_names)
    return f"{seen.count} span(s), e.g. {names}"


def check_span_semconv(
    spans: Sequence[Span],
    *,
    where: str = "spans.semconv",
    trace_url: str = "",
    query: str = "",
    link: str = "",
    conventions: Conventions | None = None,
) -> list[Finding]:
    """Deprecated attribute names and wrong value types of known attributes, over every span given."""
    conv = conventions or load_conventions()
    if not spans:
        return [Finding("spans.semconv", where, "no spans arrived, so no attribute name could be checked against "
                        f"the semantic conventions ({conv.version})", expected="at least one span",
                        actual="0 spans", query=query, link=link)]
    deprecated: dict[str, _Seen] = {}
    mistyped: dict[str, _Seen] = {}
    for span in spans:
        for key, value in span.attributes.items():
            if key in conv.deprecated_attributes:
                deprecated.setdefault(key, _Seen()).add(span)
            wanted = conv.attribute_types.get(key)
            if wanted in _CHECKED_TYPES and not _type_ok(value, wanted):
                mistyped.setdefault(key, _Seen()).add(span, value)

    def see(seen: _Seen) -> str:
        return trace_url.format(trace_id=seen.trace_id) if trace_url and seen.trace_id else link

    findings = []
    for key, seen in sorted(deprecated.items()):
        dep = conv.deprecated_attributes[key]
        findings.append(Finding(
            "spans.semconv.deprecated", where,
            f"span attribute {key!r} is deprecated in the semantic conventions: {dep.note} ({_on(seen)})",
            expected=dep.replacement or dep.note, actual=key, query=query, link=see(seen)))
    for key, seen in sorted(mistyped.items()):
        wanted = conv.attribute_types[key]
        findings.append(Finding(
            "spans.semconv.type", where,
            f"span attribute {key!r} must be {'an' if wanted == 'int' else 'a'} {wanted} by the semantic "
            f"conventions ({_on(seen)})",
            expected=wanted, actual=", ".join(seen.values), query=query, link=see(seen)))
    return findings


def _metric_index(conv: Conventions) -> dict[str, MetricConvention]:
    """Prometheus base name (no unit word, no ``_total``) -> convention; current names win over deprecated."""
    index: dict[str, MetricConvention] = {}
    for m in sorted(conv.metrics.values(), key=lambda m: m.deprecation is None):
        index[m.prometheus_base] = m
    return index


def _split_unit(name: str) -> tuple[str, str]:
    """``http_server_request_duration_seconds`` -> (``http_server_request_duration``, ``seconds``)."""
    for word in _UNIT_SUFFIXES:
        if name.endswith("_" + word):
            return name[: -len(word) - 1], word
    return name, ""


def _match(family: MetricFamily, conv: Conventions, index: dict[str, MetricConvention]) -> tuple[
        MetricConvention | None, str]:
    """(the convention this family implements, the unit word its name carries)."""
    if "." in family.name:  # a UTF-8 name exported untranslated: the OpenTelemetry name itself
        return conv.metrics.get(family.name), ""
    bare = family.name.removesuffix("_total")
    if bare in index:
        return index[bare], ""
    base, word = _split_unit(bare)
    return index.get(base), word


def check_metric_semconv(
    families: Sequence[MetricFamily],
    *,
    where: str = "metrics.semconv",
    query: str = "",
    link: str = "",
    conventions: Conventions | None = None,
) -> list[Finding]:
    """Metric families that implement a metric of the conventions: not deprecated, in the conventions' unit
    (name ends with its unit word), of its instrument type, with no deprecated attribute names as labels."""
    conv = conventions or load_conventions()
    if not families:
        return [Finding("metrics.semconv", where, "no metric families were scraped, so no metric name could be "
                        f"checked against the semantic conventions ({conv.version})",
                        expected="at least one metric family", actual="0 families", query=query, link=link)]
    index = _metric_index(conv)
    old_labels = {prometheus_escape(k): d for k, d in conv.deprecated_attributes.items() if "." in k}
    findings: list[Finding] = []

    def add(check: str, message: str, expected: Any, actual: Any) -> None:
        findings.append(Finding(check, where, message, expected=expected, actual=actual, query=query, link=link))

    for fam in families:
        metric, word = _match(fam, conv, index)
        if metric is None:
            continue
        if metric.deprecation is not None:
            dep = metric.deprecation
            new = conv.metrics.get(dep.replacement or "")
            add("metrics.semconv.deprecated",
                f"metric {fam.name!r} implements {metric.name!r}, deprecated in the semantic conventions: {dep.note}",
                new.prometheus_name if new else (dep.replacement or dep.note), fam.name)
            continue
        expected_word = metric.unit_word
        if word and word != expected_word:
            add("metrics.semconv.unit",
                f"metric {fam.name!r} implements {metric.name!r}, which the conventions measure in "
                f"{metric.unit!r} ({expected_word or 'no unit word'}), not {word}: record in {metric.unit!r} and "
                f"name it {metric.prometheus_name!r}", metric.prometheus_name, fam.name)
        elif not word and expected_word and expected_word != "ratio" and "." not in fam.name \
                and not fam.name.removesuffix("_total").endswith("_" + expected_word):
            add("metrics.semconv.unit",
                f"metric {fam.name!r} implements {metric.name!r} but its name has no unit word: the conventions "
                f"measure it in {metric.unit!r}, exposed as {metric.prometheus_name!r}",
                metric.prometheus_name, fam.name)
        if fam.type not in ("unknown", metric.prometheus_type):
            add("metrics.semconv.type",
                f"metric {fam.name!r} implements {metric.name!r}, a {metric.instrument} in the conventions "
                f"(Prometheus type {metric.prometheus_type})", metric.prometheus_type, fam.type)
        labels = sorted({k for s in fam.samples for k in s.labels} & set(old_labels))
        for label in labels:
            dep = old_labels[label]
            add("metrics.semconv.deprecated",
                f"metric {fam.name!r} has label {label!r}, the deprecated attribute {dep.name!r}: {_fix(dep)}",
                prometheus_escape(dep.replacement) if dep.replacement else dep.note, label)
    return findings
