"""The behaviour sections of a contract: ``retries``, ``health``, ``alerts`` and ``faults``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from obsconf.contract import model
from obsconf.contract.document import Doc, PathT, compile_regex, format_path
from obsconf.contract.parts import fault_spec, selected, spec_from, statuses, steps, typed_values


def retry_specs(doc: Doc, raw: list[dict[str, Any]],
                dependencies: Sequence[model.DependencySpec]) -> tuple[model.RetrySpec, ...]:
    out = []
    for i, item in enumerate(raw):
        path: PathT = ("retries", i)
        backoff = spec_from(model.BackoffSpec, item["backoff"], loc=doc.loc(path + ("backoff",)))
        log = None
        if "log" in item:
            lg = item["log"]
            log = spec_from(model.RetryLogSpec, lg,
                            message=compile_regex(doc, path + ("log", "message"), lg["message"]),
                            fields=typed_values(doc, lg.get("fields", {}), path + ("log", "fields")))
        if not (item.get("attempt_span") or log):
            raise doc.error(path, "name 'attempt_span' or 'log': without one the retry intervals cannot be measured")
        fault = fault_spec(doc, item["fault"], path + ("fault",), dependencies) if "fault" in item else None
        metric = item.get("metric", {})
        errors = item.get("errors_metric", {})
        out.append(
            model.RetrySpec(
                operation=item["operation"],
                max_attempts=item["max_attempts"],
                backoff=backoff,
                attempt_span=item.get("attempt_span"),
                span=item.get("span"),
                count_attribute=item.get("count_attribute", "retry_count"),
                metric=metric.get("name"),
                metric_selector=dict(metric.get("selector", {})),
                errors_metric=errors.get("name"),
                errors_selector=dict(errors.get("selector", {})),
                log=log,
                fault=fault,
                workload=steps(doc, item.get("workload", []), path + ("workload",)),
                loc=doc.loc(path),
            )
        )
    return tuple(out)


def health_specs(doc: Doc, raw: list[dict[str, Any]],
                 listeners: Sequence[model.ListenerSpec]) -> tuple[model.HealthSpec, ...]:
    out = []
    for i, item in enumerate(raw):
        path: PathT = ("health", i)
        if "listener" in item and item["listener"] not in [x.name for x in listeners]:
            raise doc.error(path + ("listener",), f"no listener {item['listener']!r} in service.listeners (declared: "
                            f"{', '.join(x.name for x in listeners) or 'none'})")
        try:
            Draft202012Validator.check_schema(item["schema"])
        except jsonschema.SchemaError as exc:
            sub = format_path(exc.absolute_path)
            raise doc.error(path + ("schema",), f"not a valid JSON Schema{f' at {sub}' if sub else ''}: {exc.message}") from None
        out.append(spec_from(model.HealthSpec, item, expect_status=statuses(item.get("expect_status")),
                             schema=item["schema"], loc=doc.loc(path)))
    return tuple(out)


def alerts_section(doc: Doc, raw: dict[str, Any], dependencies: Sequence[model.DependencySpec]) -> model.AlertsSpec:
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
    rules = _alert_rules(doc, raw["rules"], base)
    drives = _alert_drives(doc, raw.get("drives", []), [r.name for r in rules], dependencies, base)
    scrape = tuple(model.ScrapeJob(job=j["job"], path=j["path"]) for j in raw.get("scrape", []))
    return model.AlertsSpec(rules_file=rules_file, tests_file=tests_file, rules=rules, scrape=scrape,
                            for_override=raw.get("for_override"), drives=drives, loc=doc.loc(base))


def _alert_rules(doc: Doc, raw: list[dict[str, Any]], base: PathT) -> tuple[model.AlertRuleSpec, ...]:
    here = doc.file.parent
    rules = []
    for i, item in enumerate(raw):
        defect = None
        if "defect" in item:
            proof = (here / item["defect"]["proof"]).resolve()
            if not proof.is_file():
                raise doc.error(base + ("rules", i, "defect", "proof"), f"proof file {proof} does not exist: give a "
                                "promtool test file (relative to the contract) that demonstrates the defect")
            defect = model.AlertDefect(claim=item["defect"]["claim"], proof=proof)
        rules.append(model.AlertRuleSpec(name=item["name"], expr=item.get("expr"), for_=item.get("for"),
                                         severity=item.get("severity"), defect=defect,
                                         loc=doc.loc(base + ("rules", i))))
    return tuple(rules)


def _alert_drives(doc: Doc, raw: list[dict[str, Any]], names: list[str], dependencies: Sequence[model.DependencySpec],
                  base: PathT) -> tuple[model.AlertDrive, ...]:
    drives: list[model.AlertDrive] = []
    for i, item in enumerate(raw):
        path = base + ("drives", i)
        unknown = [n for n in item["fires"] if n not in names]
        if unknown:
            raise doc.error(path + ("fires",), f"alert(s) {', '.join(unknown)} are not among alerts.rules "
                            f"({', '.join(names)})")
        if item.get("stop_service") and item.get("fault"):
            raise doc.error(path, "a drive either stops the service or injects a fault, not both")
        if not (item.get("stop_service") or item.get("fault") or item.get("workload")):
            raise doc.error(path, "a drive needs a workload, a fault or stop_service: true")
        if any(drive.name == item["name"] for drive in drives):
            raise doc.error(path + ("name",), f"drive {item['name']!r} is listed twice")
        drives.append(model.AlertDrive(
            name=item["name"], fires=tuple(item["fires"]),
            fault=fault_spec(doc, item["fault"], path + ("fault",), dependencies) if "fault" in item else None,
            stop_service=bool(item.get("stop_service")),
            workload=steps(doc, item.get("workload", []), path + ("workload",)),
            seconds=float(item.get("seconds", 3.0)), loc=doc.loc(path)))
    if drives and drives[-1] is not next((drive for drive in drives if drive.stop_service), drives[-1]):
        raise doc.error(base + ("drives",), "a drive that stops the service must be the last one")
    return tuple(drives)


def fault_scenarios(doc: Doc, raw: list[dict[str, Any]],
                    dependencies: Sequence[model.DependencySpec]) -> tuple[model.FaultScenarioSpec, ...]:
    out = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path: PathT = ("faults", i)
        if item["name"] in seen:
            raise doc.error(path + ("name",), f"fault scenario {item['name']!r} is listed twice")
        seen.add(item["name"])
        expect_raw = item.get("expect", {})
        dropped, dropped_sel = selected(expect_raw.get("dropped_metric"))
        dups, dups_sel = selected(expect_raw.get("duplicates_metric"))
        reactions = tuple(spec_from(model.MetricReaction, reaction, loc=doc.loc(path + ("expect", "metrics", j)))
                          for j, reaction in enumerate(expect_raw.get("metrics", [])))
        for j, reaction in enumerate(reactions):
            if not (reaction.increases or reaction.peak_above is not None or reaction.ends_at is not None):
                raise doc.error(path + ("expect", "metrics", j), "say how the metric must react: increases, "
                                "peak_above or ends_at")
        fault = fault_spec(doc, {"dependency": item["dependency"], "mode": item["mode"],
                                 "attributes": item.get("attributes", {})},
                       path, dependencies)
        expect = model.FaultExpectation(
            available=expect_raw.get("available", True),
            max_request_ms=expect_raw.get("max_request_ms"),
            p95_request_ms=expect_raw.get("p95_request_ms"),
            dependent_min_ms=expect_raw.get("dependent_min_ms"),
            delivered=tuple(expect_raw.get("delivered", [])),
            dropped_metric=dropped,
            dropped_selector=dropped_sel,
            duplicates_metric=dups,
            duplicates_selector=dups_sel,
            metrics=reactions,
            recovers_within_s=expect_raw.get("recovers_within_s", 15.0),
            shutdown_within_s=expect_raw.get("shutdown_within_s"),
            loc=doc.loc(path + ("expect",)),
        )
        dependent = steps(doc, item.get("dependent", []), path + ("dependent",))
        if expect.dependent_min_ms is not None and not dependent:
            raise doc.error(path + ("expect", "dependent_min_ms"), "needs 'dependent' steps: the requests that "
                            "use the faulted dependency and must get slower")
        out.append(model.FaultScenarioSpec(
            name=item["name"], fault=fault, seconds=float(item.get("seconds", 4.0)),
            workload=steps(doc, item.get("workload", []), path + ("workload",)), dependent=dependent,
            pace_ms=float(item.get("pace_ms", 100.0)), env={k: str(v) for k, v in item.get("env", {}).items()},
            expect=expect, loc=doc.loc(path),
        ))
    return tuple(out)
