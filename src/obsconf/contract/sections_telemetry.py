"""The telemetry sections of a contract: ``logs``, ``spans`` and ``metrics``, validated beyond the schema."""

from __future__ import annotations

from typing import Any

from obsconf.contract import model
from obsconf.contract.document import Doc, PathT, compile_regex
from obsconf.contract.parts import semconv, spec_from, steps, typed_values


def logs_section(doc: Doc, raw: dict[str, Any], service_name: str) -> model.LogsSpec:
    base: PathT = ("logs",)
    red = raw.get("redaction", {})
    for i, pattern in enumerate(red.get("patterns", [])):
        compile_regex(doc, base + ("redaction", "patterns", i), pattern)
    redaction = spec_from(model.RedactionSpec, red, loc=doc.loc(base + ("redaction",)))
    correlation = None
    if "correlation" in raw:
        cor = raw["correlation"]
        exempt = []
        for i, item in enumerate(cor.get("exempt", [])):
            pattern = compile_regex(doc, base + ("correlation", "exempt", i, "pattern"), item.get("pattern", ".*"))
            exempt.append(model.FieldMatch(field=item["field"], pattern=pattern))
        correlation = spec_from(model.CorrelationSpec, cor, exempt=tuple(exempt), loc=doc.loc(base + ("correlation",)))
    context = (spec_from(model.ContextSpec, raw["context"], loc=doc.loc(base + ("context",)))
               if "context" in raw else None)
    events = tuple(_log_event(doc, ev, base + ("events", i)) for i, ev in enumerate(raw.get("events", [])))
    store = spec_from(model.LogStoreSpec, raw["store"], loc=doc.loc(base + ("store",))) if "store" in raw else None
    delivery = (spec_from(model.DeliverySpec, raw["delivery"], loc=doc.loc(base + ("delivery",)))
                if "delivery" in raw else None)
    return spec_from(model.LogsSpec, raw, redaction=redaction, correlation=correlation, context=context, events=events,
                     store=store, delivery=delivery,
                     # the label Loki's OpenTelemetry ingestion derives from service.name
                     stream=dict(raw.get("stream") or {"service_name": service_name}), loc=doc.loc(base))


def _log_event(doc: Doc, ev: dict[str, Any], path: PathT) -> model.LogEventSpec:
    typed = typed_values(doc, ev.get("fields", {}), path + ("fields",))
    return model.LogEventSpec(
        name=ev["name"],
        message=compile_regex(doc, path + ("message",), ev["message"]),
        level=ev.get("level"),
        fields={a.name: a.type for a in typed},
        min_count=ev.get("min_count", 1),
        equals={a.name: a.equals for a in typed if a.equals is not None},
        patterns={a.name: a.pattern for a in typed if a.pattern is not None},
        match={k: compile_regex(doc, path + ("match", k), v) for k, v in ev.get("match", {}).items()},
        loc=doc.loc(path),
    )


def spans_section(doc: Doc, raw: dict[str, Any]) -> model.SpansSpec:
    base: PathT = ("spans",)
    ops: list[model.SpanSpec] = []
    seen: set[str] = set()
    for i, op in enumerate(raw.get("operations", [])):
        path = base + ("operations", i)
        if op["name"] in seen:
            raise doc.error(path + ("name",), f"span {op['name']!r} is listed twice; merge the two entries")
        seen.add(op["name"])
        if op.get("root") and (op.get("parent") or op.get("parent_kind")):
            raise doc.error(path, "a span with 'root: true' cannot also name a parent or parent_kind")
        attrs = typed_values(doc, op.get("attributes", {}), path + ("attributes",))
        ops.append(
            model.SpanSpec(
                name=op["name"],
                parent=tuple(op["parent"]) if isinstance(op.get("parent"), list) else op.get("parent"),
                parent_kind=op.get("parent_kind"),
                root=op.get("root", False),
                kind=op.get("kind"),
                attributes=attrs,
                loc=doc.loc(path),
            )
        )
    rules = []
    for i, rule in enumerate(raw.get("status_rules", [])):
        attr = rule["attribute"]
        rpath = base + ("status_rules", i)
        if ("gte" in rule) == bool(rule.get("present")):
            raise doc.error(rpath, "give exactly one of 'gte' (a status code threshold) or 'present: true' (the "
                            "attribute marks a failed operation)")
        rules.append(
            model.StatusRule(
                attribute=(attr,) if isinstance(attr, str) else tuple(attr),
                gte=rule.get("gte"),
                present=bool(rule.get("present")),
                status=rule["status"],
                span_kind=rule.get("span_kind", "server"),
                loc=doc.loc(base + ("status_rules", i)),
            )
        )
    sampling = None
    if "sampling" in raw:
        smp = raw["sampling"]
        sampling = spec_from(model.SamplingSpec, smp,
                             workload=steps(doc, smp.get("workload", []), base + ("sampling", "workload")),
                             loc=doc.loc(base + ("sampling",)))
        if sampling.seed_default is not None and sampling.seed_default != sampling.run_rate and not sampling.env:
            raise doc.error(base + ("sampling",), "checking the seed's rate needs 'env': the variable that sets "
                            "the service's sample rate (obsconf also sets OTEL_TRACES_SAMPLER_ARG)")
    resource = None
    if "resource" in raw:
        resource = model.ResourceSpec(attributes=typed_values(doc, raw["resource"]["attributes"],
                                                         base + ("resource", "attributes")),
                                loc=doc.loc(base + ("resource",)))
    return model.SpansSpec(operations=tuple(ops), status_rules=tuple(rules), sampling=sampling,
                           response_header=raw.get("response_header"),
                           semconv=semconv(doc, raw.get("semconv"), base + ("semconv",)), resource=resource,
                           loc=doc.loc(base))


def _buckets(doc: Doc, path: PathT, raw: list[Any]) -> tuple[float, ...]:
    values = tuple(float("inf") if b == "+Inf" else float(b) for b in raw)
    if values[-1] != float("inf"):
        raise doc.error(path, "a bucket layout must end with '+Inf' (Prometheus always exposes it)")
    if any(b >= a for a, b in zip(values[1:], values[:-1], strict=False)):
        raise doc.error(path, f"buckets must be strictly increasing, got {raw!r}")
    return values


def metric_families(doc: Doc, raw: list[dict[str, Any]], base: PathT = ("metrics",)) -> tuple[model.MetricSpec, ...]:
    out = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path: PathT = base + (i,)
        if item["name"] in seen:
            raise doc.error(path + ("name",), f"metric {item['name']!r} is listed twice")
        seen.add(item["name"])
        labels = item.get("labels")
        if labels is not None and "le" in labels:
            raise doc.error(path + ("labels",), "do not list 'le': bucket bounds go under 'buckets'")
        buckets = include = None
        for key in ("buckets", "buckets_include"):
            if key in item and item["type"] != "histogram":
                raise doc.error(path + (key,), f"'{key}' applies to histograms, this is a {item['type']}")
        if "buckets" in item:
            buckets = _buckets(doc, path + ("buckets",), item["buckets"])
        if "buckets_include" in item:
            if buckets is not None:
                raise doc.error(path + ("buckets_include",), "give 'buckets' (the exact layout) or "
                                "'buckets_include' (bounds that must be among them), not both")
            include = tuple(sorted(float("inf") if b == "+Inf" else float(b) for b in item["buckets_include"]))
        after = item.get("after_workload", {})
        if after.get("selector") and labels is not None:
            extra = sorted(set(after["selector"]) - set(labels))
            if extra:
                raise doc.error(
                    path + ("after_workload", "selector"), f"selector names labels {extra} not in labels {labels}"
                )
        out.append(
            model.MetricSpec(
                name=item["name"],
                type=item["type"],
                labels=tuple(labels) if labels is not None else None,
                buckets=buckets,
                buckets_include=include,
                help_required=item.get("help", True),
                increases=after.get("increases", False),
                selector=dict(after.get("selector", {})),
                loc=doc.loc(path),
            )
        )
    return tuple(out)
