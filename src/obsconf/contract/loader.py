"""Load contract files: YAML -> JSON Schema validation -> semantic checks -> frozen dataclasses.

Any problem is one :class:`~obsconf.errors.ContractError` naming ``file:line``, the path inside the file
(``spans.operations[2].attributes.size_bytes``) and what is wrong, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import Draft202012Validator

from obsconf.contract.command import parse_command
from obsconf.contract.kinds import SKIP_KINDS
from obsconf.contract.model import (
    AccessLogSpec,
    AccountingSpec,
    AlertDefect,
    AlertDrive,
    AlertRuleSpec,
    AlertsSpec,
    AttributeSpec,
    AuthSpec,
    BackoffSpec,
    Budgets,
    ContextSpec,
    Contract,
    CorrelationSpec,
    CounterSpec,
    DashboardSpec,
    DeliverySpec,
    DependencySpec,
    EmitStep,
    FaultExpectation,
    FaultScenarioSpec,
    FaultSpec,
    FieldMatch,
    HealthSpec,
    HistogramCountSpec,
    ItemTrace,
    ListenerSpec,
    LoadSloSpec,
    LoadSpec,
    LogEventSpec,
    LogsSpec,
    LogStoreSpec,
    MetricReaction,
    MetricSpec,
    RedactionSpec,
    RequestStep,
    ResourceSpec,
    RetryLogSpec,
    RetrySpec,
    SamplingSpec,
    ScrapeJob,
    SeedRef,
    SemconvSpec,
    ServiceSpec,
    SkipSpec,
    SloSpec,
    SpanAccountingSpec,
    SpanSpec,
    SpansSpec,
    StatusRule,
    Step,
    Untested,
)
from obsconf.contract.schema import CONTRACT_SCHEMA
from obsconf.contract.seedref import find_seed, seed_ref
from obsconf.errors import ContractError, UsageError

PathT = tuple[str | int, ...]

#: Env var naming a directory of contracts to use instead of the shipped ones.
ENV_CONTRACTS_DIR = "OBSCONF_CONTRACTS_DIR"

_VALIDATOR = Draft202012Validator(CONTRACT_SCHEMA)


def format_path(path: Iterable[str | int]) -> str:
    """``("spans", "operations", 2, "name")`` -> ``spans.operations[2].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Doc:
    """The parsed document plus the line of every key and list item, for error messages."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.lines: dict[PathT, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
            problem = getattr(exc, "problem", None) or str(exc)
            raise ContractError(where, "", f"YAML syntax error: {problem}") from None
        if node is None:
            raise ContractError(str(file), "", "the file is empty; a contract needs at least version, seed, service")
        self._walk(node, ())
        # Construct the data with the same loader, so values are exactly what the nodes say.
        self.data = yaml.SafeLoader(text).get_single_data()

    def _walk(self, node: yaml.Node, path: PathT) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    raise ContractError(
                        f"{self.file}:{key_node.start_mark.line + 1}",
                        format_path(path + (key,)),
                        f"duplicate key {key!r}: the later value would silently replace the earlier one",
                    )
                seen.add(key)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                self._walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, path + (index,))

    def line(self, path: PathT) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def where(self, path: PathT) -> str:
        line = self.line(path)
        return f"{self.file.name}:{line}" if line else self.file.name

    def error(self, path: PathT, problem: str) -> ContractError:
        line = self.line(path)
        return ContractError(f"{self.file}:{line}" if line else str(self.file), format_path(path), problem)

    def loc(self, path: PathT) -> str:
        """Short location for findings: ``persist.yaml:42 spans.operations[2]``."""
        return f"{self.where(path)} {format_path(path)}"


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return "a string"
    return f"a YAML {type(value).__name__} (quote it to make it a string)"


_JSON_TYPE_WORD = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _explain(error: jsonschema.ValidationError) -> tuple[PathT, str]:
    """Turn a jsonschema error into (path, one actionable sentence)."""
    path: PathT = tuple(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(str(k) for k in value if k not in allowed)
        word = "section" if not path else "key"
        return path + (unknown[0],), f"unknown {word} {unknown[0]!r}; allowed {word}s: {', '.join(allowed)}"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in value)
        if path and path[-1] == "semconv" and missing == "reason":
            return path, "'enabled: false' needs a 'reason' (shown in the reports): why may these names differ?"
        return path, f"missing required key {missing!r}"
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_JSON_TYPE_WORD.get(w, w) for w in wanted)
        return path, f"expected {words}, got {_type_name(value)}: {value!r}"
    if error.validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        if path and path[0] == "skip":
            return path, f"unknown check kind {value!r}; known kinds: {', '.join(SKIP_KINDS)}"
        return path, f"{value!r} is not allowed here; use one of: {options}"
    if error.validator == "const":
        return path, f"{value!r} is not supported; this obsconf reads contract version {error.validator_value}"
    if error.validator == "pattern":
        if error.validator_value == "^/":
            return path, f"{value!r} must be a path starting with '/'"
        return path, f"{value!r} does not match {error.validator_value}"
    if error.validator == "anyOf" and path and path[-1] == "semconv" and not isinstance(value, dict):
        return path, (f"{value!r} is not allowed here: write 'semconv: true' (the default), or turn the check off "
                      "with a reason the report shows: 'semconv: {enabled: false, reason: \"...\"}'")
    if error.validator == "anyOf" and error.context:
        # Explain with the alternative meant for this kind of value (a mapping -> the object branch).
        kind = {dict: "object", list: "array"}.get(type(value))
        branches = error.validator_value
        meant = [
            e
            for e in error.context
            if kind is not None and isinstance(branches[e.schema_path[0]], dict)
            and branches[e.schema_path[0]].get("type") == kind
        ]
        best = jsonschema.exceptions.best_match(meant or error.context)
        sub_path, sub = _explain(best)
        return path + sub_path[len(path) :] if sub_path[: len(path)] == path else path, sub
    return path, error.message


def _first_error(doc: _Doc) -> ContractError | None:
    errors = list(_VALIDATOR.iter_errors(doc.data))
    if not errors:
        return None
    # The first problem in the file's own order is the one a person fixes first.
    errors.sort(key=lambda e: (doc.line(tuple(e.absolute_path)) or 0, -len(e.absolute_path)))
    path, problem = _explain(errors[0])
    return doc.error(path, problem)


def _compile(doc: _Doc, path: PathT, pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise doc.error(path, f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _statuses(value: Any) -> tuple[int, ...]:
    if value is None:
        return (200,)
    return tuple(value) if isinstance(value, list) else (int(value),)


def _steps(doc: _Doc, items: list[dict[str, Any]], base: PathT) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i, item in enumerate(items):
        path = base + (i,)
        kinds = [k for k in ("request", "emit") if k in item]
        if len(kinds) != 1:
            given = ", ".join(sorted(k for k in item if k != "name")) or "nothing"
            raise doc.error(path, f"unknown step kind ({given}); give exactly one of 'request' or 'emit'")
        name = item.get("name", "")
        body = item[kinds[0]]
        loc = doc.loc(path)
        if kinds[0] == "request":
            steps.append(
                RequestStep(
                    method=body["method"],
                    path=body["path"],
                    json=body.get("json"),
                    headers=dict(body.get("headers", {})),
                    repeat=body.get("repeat", 1),
                    expect_status=_statuses(body.get("expect_status")),
                    name=name,
                    loc=loc,
                )
            )
        else:
            steps.append(
                EmitStep(
                    n=body["n"],
                    level=body.get("level", "INFO"),
                    path=body.get("path", "/logs/emit"),
                    expect_status=_statuses(body.get("expect_status")),
                    name=name,
                    loc=loc,
                )
            )
    return tuple(steps)


def _logs(doc: _Doc, raw: dict[str, Any], service_name: str) -> LogsSpec:
    base: PathT = ("logs",)
    red = raw.get("redaction", {})
    for i, pattern in enumerate(red.get("patterns", [])):
        _compile(doc, base + ("redaction", "patterns", i), pattern)
    redaction = RedactionSpec(
        values=tuple(red.get("values", [])),
        patterns=tuple(red.get("patterns", [])),
        fields=dict(red.get("fields", {})),
        loc=doc.loc(base + ("redaction",)),
    )
    correlation = None
    if "correlation" in raw:
        cor = raw["correlation"]
        exempt = []
        for i, item in enumerate(cor.get("exempt", [])):
            pattern = _compile(doc, base + ("correlation", "exempt", i, "pattern"), item.get("pattern", ".*"))
            exempt.append(FieldMatch(field=item["field"], pattern=pattern))
        correlation = CorrelationSpec(
            trace_id_field=cor.get("trace_id_field", "trace_id"),
            span_id_field=cor.get("span_id_field", "span_id"),
            exempt=tuple(exempt),
            request_log_required=cor.get("request_log_required", True),
            loc=doc.loc(base + ("correlation",)),
        )
    context = None
    if "context" in raw:
        context = ContextSpec(fields=tuple(raw["context"]["fields"]), loc=doc.loc(base + ("context",)))
    events = []
    for i, ev in enumerate(raw.get("events", [])):
        path = base + ("events", i)
        typed = _typed_values(doc, ev.get("fields", {}), path + ("fields",))
        events.append(
            LogEventSpec(
                name=ev["name"],
                message=_compile(doc, path + ("message",), ev["message"]),
                level=ev.get("level"),
                fields={a.name: a.type for a in typed},
                min_count=ev.get("min_count", 1),
                equals={a.name: a.equals for a in typed if a.equals is not None},
                patterns={a.name: a.pattern for a in typed if a.pattern is not None},
                match={k: _compile(doc, path + ("match", k), v) for k, v in ev.get("match", {}).items()},
                loc=doc.loc(path),
            )
        )
    store = None
    if "store" in raw:
        st = raw["store"]
        store = LogStoreSpec(
            kind=st["kind"],
            collection=st["collection"],
            required_fields=dict(st.get("required_fields", {})),
            levels=tuple(st.get("levels", [])),
            indexes=tuple(st.get("indexes", [])),
            trace_id_field=st.get("trace_id_field"),
            loc=doc.loc(base + ("store",)),
        )
    delivery = None
    if "delivery" in raw:
        dl = raw["delivery"]
        delivery = DeliverySpec(
            seq_field=dl.get("seq_field", "seq"),
            sinks=tuple(dl.get("sinks", ["loki"])),
            allow_duplicates=dl.get("allow_duplicates", False),
            loc=doc.loc(base + ("delivery",)),
        )
    return LogsSpec(
        format=raw["format"],
        required_fields=dict(raw.get("required_fields", {})),
        levels=tuple(raw.get("levels", [])),
        level_field=raw.get("level_field", "level"),
        message_field=raw.get("message_field", "message"),
        redaction=redaction,
        correlation=correlation,
        context=context,
        events=tuple(events),
        store=store,
        delivery=delivery,
        source=raw.get("source", "loki"),
        # the label Loki's OpenTelemetry ingestion derives from service.name
        stream=dict(raw.get("stream") or {"service_name": service_name}),
        loc=doc.loc(base),
    )


def _semconv(doc: _Doc, raw: Any, path: PathT) -> SemconvSpec:
    """``true``/absent: on; ``{enabled: false, reason}``: off, with the reason the reports show."""
    loc = f"{doc.where(path)} {format_path(path)}"
    if raw is None or raw is True:
        return SemconvSpec(enabled=True, loc=loc)
    if raw["enabled"]:
        if "reason" in raw:
            raise doc.error(path + ("reason",), "a reason is only read when 'enabled' is false; remove it")
        return SemconvSpec(enabled=True, loc=loc)
    return SemconvSpec(enabled=False, reason=raw["reason"], loc=loc)


def _typed_values(doc: _Doc, raw: dict[str, Any], base: PathT) -> tuple[AttributeSpec, ...]:
    """``{name: type}`` or ``{name: {type, equals?, pattern?}}`` -> AttributeSpecs (patterns compiled)."""
    out = []
    for name, spec in raw.items():
        apath = base + (name,)
        if isinstance(spec, str):
            out.append(AttributeSpec(name=name, type=spec, loc=doc.loc(apath)))
            continue
        pattern = spec.get("pattern")
        if pattern is not None:
            _compile(doc, apath + ("pattern",), pattern)
        out.append(AttributeSpec(name=name, type=spec["type"], equals=spec.get("equals"), pattern=pattern,
                                 loc=doc.loc(apath)))
    return tuple(out)


def _spans(doc: _Doc, raw: dict[str, Any]) -> SpansSpec:
    base: PathT = ("spans",)
    ops: list[SpanSpec] = []
    seen: set[str] = set()
    for i, op in enumerate(raw.get("operations", [])):
        path = base + ("operations", i)
        if op["name"] in seen:
            raise doc.error(path + ("name",), f"span {op['name']!r} is listed twice; merge the two entries")
        seen.add(op["name"])
        if op.get("root") and (op.get("parent") or op.get("parent_kind")):
            raise doc.error(path, "a span with 'root: true' cannot also name a parent or parent_kind")
        attrs = _typed_values(doc, op.get("attributes", {}), path + ("attributes",))
        ops.append(
            SpanSpec(
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
            StatusRule(
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
        sampling = SamplingSpec(
            env=smp.get("env"),
            seed_default=smp.get("seed_default"),
            run_rate=smp.get("run_rate", 1.0),
            always_sample_errors=smp.get("always_sample_errors", False),
            always_sample_slow_ms=smp.get("always_sample_slow_ms"),
            always_sample_paths=tuple(smp.get("always_sample_paths", [])),
            workload=_steps(doc, smp.get("workload", []), base + ("sampling", "workload")),
            loc=doc.loc(base + ("sampling",)),
        )
        if sampling.seed_default is not None and sampling.seed_default != sampling.run_rate and not sampling.env:
            raise doc.error(base + ("sampling",), "checking the seed's rate needs 'env': the variable that sets "
                            "the service's sample rate (obsconf also sets OTEL_TRACES_SAMPLER_ARG)")
    resource = None
    if "resource" in raw:
        resource = ResourceSpec(attributes=_typed_values(doc, raw["resource"]["attributes"],
                                                         base + ("resource", "attributes")),
                                loc=doc.loc(base + ("resource",)))
    return SpansSpec(operations=tuple(ops), status_rules=tuple(rules), sampling=sampling,
                     response_header=raw.get("response_header"),
                     semconv=_semconv(doc, raw.get("semconv"), base + ("semconv",)), resource=resource,
                     loc=doc.loc(base))


def _buckets(doc: _Doc, path: PathT, raw: list[Any]) -> tuple[float, ...]:
    values = tuple(float("inf") if b == "+Inf" else float(b) for b in raw)
    if values[-1] != float("inf"):
        raise doc.error(path, "a bucket layout must end with '+Inf' (Prometheus always exposes it)")
    if any(b >= a for a, b in zip(values[1:], values[:-1], strict=False)):
        raise doc.error(path, f"buckets must be strictly increasing, got {raw!r}")
    return values


def _metrics(doc: _Doc, raw: list[dict[str, Any]], base: PathT = ("metrics",)) -> tuple[MetricSpec, ...]:
    out = []
    seen: set[str] = set()
    for i, m in enumerate(raw):
        path: PathT = base + (i,)
        if m["name"] in seen:
            raise doc.error(path + ("name",), f"metric {m['name']!r} is listed twice")
        seen.add(m["name"])
        labels = m.get("labels")
        if labels is not None and "le" in labels:
            raise doc.error(path + ("labels",), "do not list 'le': bucket bounds go under 'buckets'")
        buckets = include = None
        for key in ("buckets", "buckets_include"):
            if key in m and m["type"] != "histogram":
                raise doc.error(path + (key,), f"'{key}' applies to histograms, this is a {m['type']}")
        if "buckets" in m:
            buckets = _buckets(doc, path + ("buckets",), m["buckets"])
        if "buckets_include" in m:
            if buckets is not None:
                raise doc.error(path + ("buckets_include",), "give 'buckets' (the exact layout) or "
                                "'buckets_include' (bounds that must be among them), not both")
            include = tuple(sorted(float("inf") if b == "+Inf" else float(b) for b in m["buckets_include"]))
        after = m.get("after_workload", {})
        if after.get("selector") and labels is not None:
            extra = sorted(set(after["selector"]) - set(labels))
            if extra:
                raise doc.error(
                    path + ("after_workload", "selector"), f"selector names labels {extra} not in labels {labels}"
                )
        out.append(
            MetricSpec(
                name=m["name"],
                type=m["type"],
                labels=tuple(labels) if labels is not None else None,
                buckets=buckets,
                buckets_include=include,
                help_required=m.get("help", True),
                increases=after.get("increases", False),
                selector=dict(after.get("selector", {})),
                loc=doc.loc(path),
            )
        )
    return tuple(out)


def _fault(doc: _Doc, raw: dict[str, Any], path: PathT, dependencies: Sequence[DependencySpec]) -> FaultSpec:
    names = [d.name for d in dependencies]
    if raw["dependency"] not in names:
        raise doc.error(path + ("dependency",), f"no dependency {raw['dependency']!r} in service.dependencies "
                        f"(declared: {', '.join(names) or 'none'}); declare it there so obsconf can put it behind "
                        "a Toxiproxy proxy")
    return FaultSpec(dependency=raw["dependency"], mode=raw["mode"], attributes=dict(raw.get("attributes", {})),
                     loc=doc.loc(path))


def _retries(doc: _Doc, raw: list[dict[str, Any]], dependencies: Sequence[DependencySpec]) -> tuple[RetrySpec, ...]:
    out = []
    for i, r in enumerate(raw):
        path: PathT = ("retries", i)
        b = r["backoff"]
        backoff = BackoffSpec(
            base_ms=b["base_ms"],
            factor=b.get("factor", 2.0),
            tolerance=b.get("tolerance", 0.5),
            slack_ms=b.get("slack_ms", 50.0),
            max_ms=b.get("max_ms"),
            loc=doc.loc(path + ("backoff",)),
        )
        log = None
        if "log" in r:
            lg = r["log"]
            log = RetryLogSpec(
                message=_compile(doc, path + ("log", "message"), lg["message"]),
                level=lg.get("level", "WARN"),
                attempt_field=lg.get("attempt_field", "retry_attempt"),
                max_field=lg.get("max_field"),
                fields=_typed_values(doc, lg.get("fields", {}), path + ("log", "fields")),
            )
        if not (r.get("attempt_span") or log):
            raise doc.error(path, "name 'attempt_span' or 'log': without one the retry intervals cannot be measured")
        fault = _fault(doc, r["fault"], path + ("fault",), dependencies) if "fault" in r else None
        metric = r.get("metric", {})
        errors = r.get("errors_metric", {})
        out.append(
            RetrySpec(
                operation=r["operation"],
                max_attempts=r["max_attempts"],
                backoff=backoff,
                attempt_span=r.get("attempt_span"),
                span=r.get("span"),
                count_attribute=r.get("count_attribute", "retry_count"),
                metric=metric.get("name"),
                metric_selector=dict(metric.get("selector", {})),
                errors_metric=errors.get("name"),
                errors_selector=dict(errors.get("selector", {})),
                log=log,
                fault=fault,
                workload=_steps(doc, r.get("workload", []), path + ("workload",)),
                loc=doc.loc(path),
            )
        )
    return tuple(out)


def _health(doc: _Doc, raw: list[dict[str, Any]], listeners: Sequence[ListenerSpec]) -> tuple[HealthSpec, ...]:
    out = []
    for i, h in enumerate(raw):
        path: PathT = ("health", i)
        if "listener" in h and h["listener"] not in [x.name for x in listeners]:
            raise doc.error(path + ("listener",), f"no listener {h['listener']!r} in service.listeners (declared: "
                            f"{', '.join(x.name for x in listeners) or 'none'})")
        try:
            Draft202012Validator.check_schema(h["schema"])
        except jsonschema.SchemaError as exc:
            sub = format_path(exc.absolute_path)
            raise doc.error(path + ("schema",), f"not a valid JSON Schema{f' at {sub}' if sub else ''}: {exc.message}") from None
        out.append(
            HealthSpec(
                path=h["path"],
                method=h.get("method", "GET"),
                expect_status=_statuses(h.get("expect_status")),
                schema=h["schema"],
                listener=h.get("listener"),
                loc=doc.loc(path),
            )
        )
    return tuple(out)


def _alerts(doc: _Doc, raw: dict[str, Any], dependencies: Sequence[DependencySpec]) -> AlertsSpec:
    base: PathT = ("alerts",)
    here = doc.file.parent
    rules_file = (here / raw["rules_file"]).resolve()
    if not rules_file.is_file():
        raise doc.error(base + ("rules_file",), f"rules file {rules_file} does not exist (paths are relative to the contract)")
    tests_file = None
    if "tests_file" in raw:
        tests_file = (here / raw["tests_file"]).resolve()
        if not tests_file.is_file():
            raise doc.error(base + ("tests_file",), f"promtool tests file {tests_file} does not exist")
    rules = []
    for i, r in enumerate(raw["rules"]):
        defect = None
        if "defect" in r:
            proof = (here / r["defect"]["proof"]).resolve()
            if not proof.is_file():
                raise doc.error(base + ("rules", i, "defect", "proof"), f"proof file {proof} does not exist: give a "
                                "promtool test file (relative to the contract) that demonstrates the defect")
            defect = AlertDefect(claim=r["defect"]["claim"], proof=proof)
        rules.append(AlertRuleSpec(name=r["name"], expr=r.get("expr"), for_=r.get("for"), severity=r.get("severity"),
                                   defect=defect, loc=doc.loc(base + ("rules", i))))
    names = [r.name for r in rules]
    drives = []
    for i, d in enumerate(raw.get("drives", [])):
        path = base + ("drives", i)
        unknown = [n for n in d["fires"] if n not in names]
        if unknown:
            raise doc.error(path + ("fires",), f"alert(s) {', '.join(unknown)} are not among alerts.rules "
                            f"({', '.join(names)})")
        if d.get("stop_service") and d.get("fault"):
            raise doc.error(path, "a drive either stops the service or injects a fault, not both")
        if not (d.get("stop_service") or d.get("fault") or d.get("workload")):
            raise doc.error(path, "a drive needs a workload, a fault or stop_service: true")
        if any(x.name == d["name"] for x in drives):
            raise doc.error(path + ("name",), f"drive {d['name']!r} is listed twice")
        drives.append(AlertDrive(
            name=d["name"], fires=tuple(d["fires"]),
            fault=_fault(doc, d["fault"], path + ("fault",), dependencies) if "fault" in d else None,
            stop_service=bool(d.get("stop_service")), workload=_steps(doc, d.get("workload", []), path + ("workload",)),
            seconds=float(d.get("seconds", 3.0)), loc=doc.loc(path)))
    if drives and drives[-1] is not next((x for x in drives if x.stop_service), drives[-1]):
        raise doc.error(base + ("drives",), "a drive that stops the service must be the last one")
    scrape = tuple(ScrapeJob(job=j["job"], path=j["path"]) for j in raw.get("scrape", []))
    return AlertsSpec(rules_file=rules_file, tests_file=tests_file, rules=tuple(rules), scrape=scrape,
                      for_override=raw.get("for_override"), drives=tuple(drives), loc=doc.loc(base))


def _selected(raw: dict[str, Any] | None) -> tuple[str | None, dict[str, str]]:
    return (raw["name"], dict(raw.get("selector", {}))) if raw else (None, {})


def _faults(doc: _Doc, raw: list[dict[str, Any]], dependencies: Sequence[DependencySpec]) -> tuple[FaultScenarioSpec, ...]:
    out = []
    seen: set[str] = set()
    for i, f in enumerate(raw):
        path: PathT = ("faults", i)
        if f["name"] in seen:
            raise doc.error(path + ("name",), f"fault scenario {f['name']!r} is listed twice")
        seen.add(f["name"])
        ex = f.get("expect", {})
        dropped, dropped_sel = _selected(ex.get("dropped_metric"))
        dups, dups_sel = _selected(ex.get("duplicates_metric"))
        reactions = tuple(
            MetricReaction(name=m["name"], selector=dict(m.get("selector", {})), increases=m.get("increases", False),
                           peak_above=m.get("peak_above"), ends_at=m.get("ends_at"),
                           loc=doc.loc(path + ("expect", "metrics", j)))
            for j, m in enumerate(ex.get("metrics", []))
        )
        for j, m in enumerate(reactions):
            if not (m.increases or m.peak_above is not None or m.ends_at is not None):
                raise doc.error(path + ("expect", "metrics", j), "say how the metric must react: increases, "
                                "peak_above or ends_at")
        fault = _fault(doc, {"dependency": f["dependency"], "mode": f["mode"], "attributes": f.get("attributes", {})},
                       path, dependencies)
        expect = FaultExpectation(
            available=ex.get("available", True),
            max_request_ms=ex.get("max_request_ms"),
            p95_request_ms=ex.get("p95_request_ms"),
            dependent_min_ms=ex.get("dependent_min_ms"),
            delivered=tuple(ex.get("delivered", [])),
            dropped_metric=dropped,
            dropped_selector=dropped_sel,
            duplicates_metric=dups,
            duplicates_selector=dups_sel,
            metrics=reactions,
            recovers_within_s=ex.get("recovers_within_s", 15.0),
            shutdown_within_s=ex.get("shutdown_within_s"),
            loc=doc.loc(path + ("expect",)),
        )
        dependent = _steps(doc, f.get("dependent", []), path + ("dependent",))
        if expect.dependent_min_ms is not None and not dependent:
            raise doc.error(path + ("expect", "dependent_min_ms"), "needs 'dependent' steps: the requests that "
                            "use the faulted dependency and must get slower")
        out.append(FaultScenarioSpec(
            name=f["name"], fault=fault, seconds=float(f.get("seconds", 4.0)),
            workload=_steps(doc, f.get("workload", []), path + ("workload",)), dependent=dependent,
            pace_ms=float(f.get("pace_ms", 100.0)), env={k: str(v) for k, v in f.get("env", {}).items()},
            expect=expect, loc=doc.loc(path),
        ))
    return tuple(out)


def _names(raw: str | list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return default
    return (raw,) if isinstance(raw, str) else tuple(raw)


def _accounting(doc: _Doc, raw: dict[str, Any], has_spans: bool, metrics_path: str) -> AccountingSpec:
    base: PathT = ("load", "accounting")
    c = raw["counter"]
    counter = CounterSpec(name=c["name"], route_label=c["route_label"], status_label=c["status_label"],
                          method_label=c.get("method_label"), loc=doc.loc(base + ("counter",)))
    histogram = None
    if "histogram" in raw:
        h = raw["histogram"]
        if h["name"].endswith(("_count", "_bucket", "_sum")):
            raise doc.error(base + ("histogram", "name"), f"give the histogram's family name without the "
                            f"suffix (e.g. {h['name'].rsplit('_', 1)[0]!r}): obsconf reads its _count and _bucket")
        histogram = HistogramCountSpec(name=h["name"], route_label=h.get("route_label", counter.route_label),
                                       method_label=h.get("method_label", counter.method_label),
                                       status_label=h.get("status_label"), loc=doc.loc(base + ("histogram",)))
    spans = None
    if "spans" in raw and not has_spans:
        raise doc.error(base + ("spans",), "spans are accounted only for a contract with a 'spans' section; add "
                        "one (the service's spans are checked there) or remove this key")
    if has_spans:
        sp = raw.get("spans", {})
        default = SpanAccountingSpec()
        spans = SpanAccountingSpec(
            route_attribute=_names(sp.get("route_attribute"), default.route_attribute),
            status_attribute=_names(sp.get("status_attribute"), default.status_attribute),
            method_attribute=_names(sp.get("method_attribute"), default.method_attribute),
            loc=doc.loc(base + ("spans",)) if "spans" in raw else doc.loc(base))
    access = None
    if "access_log" in raw:
        a = raw["access_log"]
        path = base + ("access_log",)
        match = FieldMatch(field=a["match"]["field"],
                           pattern=_compile(doc, path + ("match", "pattern"), a["match"].get("pattern", ".*")))
        access = AccessLogSpec(match=match, route_field=a["route_field"], status_field=a["status_field"],
                               method_field=a.get("method_field"), loc=doc.loc(path))
    return AccountingSpec(counter=counter, histogram=histogram, spans=spans, access_log=access,
                          routes=tuple(raw.get("routes", [])), exclude=tuple(raw.get("exclude", [metrics_path])),
                          loc=doc.loc(base))


def _load(doc: _Doc, raw: dict[str, Any], has_spans: bool, metrics_path: str, has_logs: bool) -> LoadSpec:
    base: PathT = ("load",)
    locustfile = (doc.file.parent / raw["locustfile"]).resolve()
    if not locustfile.is_file():
        raise doc.error(base + ("locustfile",), f"locustfile {locustfile} does not exist (paths are relative to "
                        "the contract)")
    accounting = _accounting(doc, raw["accounting"], has_spans, metrics_path)
    if accounting.access_log is not None and not has_logs:
        raise doc.error(base + ("accounting", "access_log"), "access-log lines are read from the contract's log "
                        "source: add a 'logs' section (format, stream or source) or remove this key")
    slos = None
    if "slos" in raw:
        sl = raw["slos"]
        path = base + ("slos",)
        if not any(k in sl for k in ("availability", "error_rate", "p95_ms")):
            raise doc.error(path, "name at least one objective: availability, error_rate or p95_ms")
        if "p95_ms" in sl and accounting.histogram is None:
            raise doc.error(path + ("p95_ms",), "the telemetry's p95 comes from a request-duration histogram: "
                            "name it under load.accounting.histogram")
        slos = LoadSloSpec(availability=sl.get("availability"), error_rate=sl.get("error_rate"),
                           p95_ms=sl.get("p95_ms"), routes=tuple(sl.get("routes", [])),
                           exclude=tuple(sl.get("exclude", [])), loc=doc.loc(path))
    return LoadSpec(locustfile=locustfile, user_class=raw["user_class"], users=raw.get("users", 20),
                    spawn_rate=float(raw.get("spawn_rate", 10.0)), seconds=float(raw.get("seconds", 30.0)),
                    accounting=accounting, slos=slos, loc=doc.loc(base))


def _command(doc: _Doc, raw: str | list[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    try:
        return parse_command(raw)
    except UsageError as exc:
        raise doc.error(("service", "command"), str(exc)) from None


def _dependencies(doc: _Doc, raw: list[dict[str, Any]]) -> tuple[DependencySpec, ...]:
    out: list[DependencySpec] = []
    for i, dep in enumerate(raw):
        path: PathT = ("service", "dependencies", i)
        for key in ("name", "env"):
            if any(getattr(d, key) == dep[key] for d in out):
                raise doc.error(path + (key,), f"two dependencies have the {key} {dep[key]!r}")
        out.append(DependencySpec(name=dep["name"], env=dep["env"], upstream=dep["upstream"], loc=doc.loc(path)))
    return tuple(out)


def _auth(doc: _Doc, svc: dict[str, Any]) -> AuthSpec | None:
    raw = svc.get("auth")
    if raw is None:
        return None
    path: PathT = ("service", "auth")
    if raw["env"] in svc.get("env", {}):
        raise doc.error(path + ("env",), f"{raw['env']} is also set in service.env: obsconf generates the token for "
                        "each run; remove it from service.env (a token in a contract file is a leaked secret)")
    for i, p in enumerate(raw["paths"]):
        if "*" in p[:-1] or (p.endswith("*") and not p.endswith("/*")):
            raise doc.error(path + ("paths", i), f"{p!r}: use an exact path or a prefix ending in '/*'")
    return AuthSpec(env=raw["env"], paths=tuple(raw["paths"]), scheme=raw.get("scheme", "bearer"),
                    loc=doc.loc(path))


def _listeners(doc: _Doc, raw: list[dict[str, Any]], dependencies: Sequence[DependencySpec]) -> tuple[ListenerSpec, ...]:
    out: list[ListenerSpec] = []
    taken = {d.env for d in dependencies}
    for i, item in enumerate(raw):
        path: PathT = ("service", "listeners", i)
        if any(x.name == item["name"] for x in out):
            raise doc.error(path + ("name",), f"two listeners are named {item['name']!r}")
        if item["env"] in taken:
            raise doc.error(path + ("env",), f"variable {item['env']} is already given to another listener or "
                            "dependency")
        taken.add(item["env"])
        out.append(ListenerSpec(name=item["name"], env=item["env"], loc=doc.loc(path)))
    return tuple(out)


def _trace(doc: _Doc, default_seed: str) -> tuple[dict[str, ItemTrace], tuple[Untested, ...]]:
    """Every item's ``seed``/``convention``, keyed by contract path, and the ``untested`` entries; each seed
    line range is checked against its seed file when the file is found."""
    lengths: dict[str, int | None] = {}

    def ref(raw: Any, path: PathT) -> SeedRef:
        try:
            got = seed_ref(raw, default_seed)
        except ValueError as exc:
            raise doc.error(path, str(exc)) from None
        if not got.file:
            raise doc.error(path, "a seed reference needs the contract's top-level 'seed' (the seed file's name), "
                            "or a 'file'")
        if got.file not in lengths:
            found = find_seed(got.file, doc.file.parent)
            lengths[got.file] = len(found.read_text(encoding="utf-8", errors="replace").splitlines()) if found else None
        total = lengths[got.file]
        last = max(b for _, b in got.ranges)
        if total is not None and last > total:
            raise doc.error(path, f"line {last} is past the end of seed {got.file} ({total} lines)")
        return got

    table: dict[str, ItemTrace] = {}

    def walk(node: Any, path: PathT) -> None:
        if isinstance(node, dict):
            if path and path[0] != "untested" and ("seed" in node or "convention" in node):
                refs = (ref(node["seed"], path + ("seed",)),) if "seed" in node else ()
                table[format_path(path)] = ItemTrace(format_path(path), refs, str(node.get("convention", "")),
                                                     doc.loc(path))
            for key, value in node.items():
                if not (key == "seed" and path):
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + (i,))

    walk(doc.data, ())
    untested = tuple(
        Untested(ref=ref(u["seed"], ("untested", i, "seed")), reason=u["reason"], note=u.get("note", ""),
                 loc=doc.loc(("untested", i)))
        for i, u in enumerate(doc.data.get("untested", []))
    )
    return table, untested


def _build(doc: _Doc) -> Contract:
    d = doc.data
    svc = d["service"]
    dependencies = _dependencies(doc, svc.get("dependencies", []))
    listeners = _listeners(doc, svc.get("listeners", []), dependencies)
    service = ServiceSpec(
        name=svc["name"],
        profile=svc.get("profile"),
        command=_command(doc, svc.get("command")),
        cwd=(doc.file.parent / svc["cwd"]).resolve() if "cwd" in svc else None,
        metrics_path=svc.get("metrics_path", "/metrics"),
        ready_path=svc.get("ready_path"),
        ready_timeout=float(svc.get("ready_timeout", 30.0)),
        slo_path=svc.get("slo_path"),
        env={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in svc.get("env", {}).items()},
        dependencies=dependencies,
        listeners=listeners,
        loc=doc.loc(("service",)),
        auth=_auth(doc, svc),
    )
    if service.cwd is not None and not service.cwd.is_dir():
        raise doc.error(("service", "cwd"), f"directory {service.cwd} does not exist (relative to the contract)")
    slos = tuple(
        SloSpec(
            name=s["name"],
            target=float(s["target"]),
            comparison=s.get("comparison", ">="),
            unit=s.get("unit", "ratio"),
            expression=s.get("expression", ""),
            env=s.get("env"),
            loc=doc.loc(("slos", i)),
        )
        for i, s in enumerate(d.get("slos", []))
    )
    budgets = None
    if "budgets" in d:
        stated = {k: v for k, v in d["budgets"].items() if k not in ("seed", "convention")}
        if not stated:
            raise doc.error(("budgets",), "no budget given: name at least one of the seed's budgets")
        budgets = Budgets(**stated, loc=doc.loc(("budgets",)))
    # metrics: a list of families, or {semconv?, families?}
    raw_metrics = d.get("metrics")
    metrics_semconv = None
    if isinstance(raw_metrics, dict):
        metrics = _metrics(doc, raw_metrics.get("families", []), ("metrics", "families"))
        metrics_semconv = _semconv(doc, raw_metrics.get("semconv"), ("metrics", "semconv"))
    else:
        metrics = _metrics(doc, raw_metrics or [])
        if raw_metrics is not None:
            metrics_semconv = _semconv(doc, None, ("metrics", "semconv"))
    skip = tuple(
        SkipSpec(check=s["check"], reason=s["reason"], loc=doc.loc(("skip", i))) for i, s in enumerate(d.get("skip", []))
    )
    dashboards = tuple(DashboardSpec(name=x["name"], expr=x["expr"], loc=doc.loc(("dashboards", i)))
                       for i, x in enumerate(d.get("dashboards", [])))
    trace, untested = _trace(doc, str(d.get("seed") or ""))
    return Contract(
        path=doc.file,
        seed=d.get("seed"),
        service=service,
        workload=_steps(doc, d.get("workload", []), ("workload",)),
        logs=_logs(doc, d["logs"], service.name) if "logs" in d else None,
        spans=_spans(doc, d["spans"]) if "spans" in d else None,
        metrics=metrics,
        metrics_semconv=metrics_semconv,
        retries=_retries(doc, d.get("retries", []), dependencies),
        health=_health(doc, d.get("health", []), listeners),
        alerts=_alerts(doc, d["alerts"], dependencies) if "alerts" in d else None,
        slos=slos,
        budgets=budgets,
        faults=_faults(doc, d.get("faults", []), dependencies),
        skip=skip,
        dashboards=dashboards,
        untested=untested,
        trace=trace,
        load=_load(doc, d["load"], "spans" in d, service.metrics_path, "logs" in d) if "load" in d else None,
    )


def load_contract(path: str | os.PathLike[str]) -> Contract:
    """Read, validate and return one contract; raise ContractError naming file:line, path and problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(str(file), "", f"cannot read the contract: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ContractError(str(file), "", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    doc = _Doc(file, text)
    if not isinstance(doc.data, dict):
        raise doc.error((), f"a contract is a mapping of sections, got {_type_name(doc.data)}")
    error = _first_error(doc)
    if error is not None:
        raise error
    return _build(doc)


def load_contracts(paths: Sequence[str | os.PathLike[str]]) -> list[Contract]:
    """Load several contracts; the first malformed one raises. Two contracts for one service are refused."""
    contracts = [load_contract(p) for p in paths]
    by_name: dict[str, Path] = {}
    for c in contracts:
        if c.service.name in by_name:
            raise ContractError(
                str(c.path), "service.name", f"service {c.service.name!r} is already described by {by_name[c.service.name]}"
            )
        by_name[c.service.name] = c.path
    return contracts


def contracts_dir() -> Path:
    """Directory of the shipped contracts (``fixtures/contracts``), or ``$OBSCONF_CONTRACTS_DIR``."""
    override = os.environ.get(ENV_CONTRACTS_DIR)
    if override:
        return Path(override)
    # src/obsconf/contract/loader.py -> repository root
    return Path(__file__).resolve().parents[3] / "fixtures" / "contracts"


def default_contract_paths() -> list[Path]:
    """The contract files shipped with obsconf, one per seed, sorted by name."""
    directory = contracts_dir()
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ContractError(
            str(directory), "", f"no *.yaml contracts found; set {ENV_CONTRACTS_DIR} to a directory that has them"
        )
    return paths


def load_steps(path: str | os.PathLike[str]) -> tuple[Step, ...]:
    """Workload steps from a YAML file: a list of steps in the contract's ``workload:`` format, or a mapping
    with a ``workload`` list (a contract). Errors name ``file:line``, the path and the problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(str(file), "", f"cannot read the steps file: {exc.strerror or exc}") from None
    doc = _Doc(file, text)
    base: PathT = ()
    items = doc.data
    if isinstance(items, dict) and "workload" in items:
        base, items = ("workload",), items["workload"]
    if not isinstance(items, list):
        raise doc.error(base, "a steps file is a list of workload steps ({name?, request: {method, path, ...}}), "
                              f"or a mapping with a 'workload' list; got {_type_name(items)}")
    errors = list(Draft202012Validator(CONTRACT_SCHEMA["properties"]["workload"]).iter_errors(items))
    if errors:
        errors.sort(key=lambda e: (doc.line(base + tuple(e.absolute_path)) or 0, -len(e.absolute_path)))
        sub, problem = _explain(errors[0])
        raise doc.error(base + sub, problem)
    if not items:
        raise doc.error(base, "the steps file has no step")
    return _steps(doc, items, base)
