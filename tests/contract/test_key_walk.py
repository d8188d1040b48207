"""Every key the contract schema accepts has code that acts on it, and every enum comes from a code table.

The walk goes through the schema's objects (shared parts - a workload step, a typed value, a metric family, a
fault, a seed reference - once, by name). :data:`CONSUMERS` names, per object, the functions that read its
keys; a key counts as consumed when one of them mentions the field the model keeps it in (``ALIASES`` where
the names differ). A new key without a consumer, or a consumer that stops reading its key, fails this test.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from obsconf.contract import schema as S
from obsconf.contract import schema_parts as P
from obsconf.contract.kinds import (
    BUDGET_KEYS,
    CASE_KINDS,
    FAULT_MODES,
    METRIC_TYPES,
    SKIP_KINDS,
    SLO_UNITS,
    SPAN_KINDS,
    UNTESTED_REASONS,
)
from obsconf.contract.loader import default_contract_paths, load_contract
from obsconf.contract.model import VALUE_TYPES
from obsconf.contract.valuetypes import VALUE_TYPE_TESTS

FRAGMENTS = {id(P.STEP): "<step>", id(P.SEED_REF): "<seed>", id(P.TYPED_VALUE): "<typed value>",
             id(S._METRIC): "<metric family>", id(P.FAULT): "<fault>", id(P.SEMCONV): "<semconv>"}
TRACED = "<traced item>"  # the seed/convention pair every traced object carries

#: object path -> the functions that read its keys (``module:qualname``)
CONSUMERS: dict[str, list[str]] = {
    "<contract>": ["obsconf.contract.loader:_build", "obsconf.contract.schema_errors:explain"],
    TRACED: ["obsconf.contract.seedtrace:item_traces", "obsconf.report.coverage:seed_coverage"],
    "<seed>": ["obsconf.contract.seedref:seed_ref"],
    "<fault>": ["obsconf.live.probe:LiveProbe._run_fault", "obsconf.faults.inject:inject",
              "obsconf.live.alertdrives:AlertDrives._hold"],
    "<metric family>": ["obsconf.checks.metrics:check_metric", "obsconf.checks.metrics:_label_findings"],
    "<metric family>.after_workload": ["obsconf.checks.metrics:check_metric", "obsconf.checks.metrics:_selected_sum"],
    "<semconv>": ["obsconf.cases.spans:_semconv_cases", "obsconf.cases.text:opt_outs"],
    "<step>": ["obsconf.workload.run:run_workload", "obsconf.workload.plan:expand_steps", "obsconf.checks.http:check_expected_status"],
    "<step>.emit": ["obsconf.workload.run:run_workload", "obsconf.checks.http:check_expected_status"],
    "<step>.request": ["obsconf.workload.run:run_workload", "obsconf.workload.plan:expand_steps",
                       "obsconf.checks.http:check_expected_status"],
    "<typed value>": ["obsconf.checks.spans:_attribute_problem"],
    "alerts": ["obsconf.cases.alerts:alerts_cases", "obsconf.live.alertdrives:AlertDrives._load_rules",
               "obsconf.checks.alerts:check_alert_rules"],
    "alerts.drives[]": ["obsconf.live.alertdrives:AlertDrives._drive", "obsconf.live.alertdrives:AlertDrives._hold",
                        "obsconf.checks.alerts:check_alert_drive",
                        "obsconf.cases.alerts:_drive_findings"],
    "alerts.rules[]": ["obsconf.checks.alerts:check_alert_rules", "obsconf.cases.alerts:alerts_cases"],
    "alerts.rules[].defect": ["obsconf.cases.alerts:_defect_findings"],
    "alerts.scrape[]": ["obsconf.live.alertdrives:AlertDrives._load_rules"],
    "budgets": ["obsconf.live.budgets:measure_budget", "obsconf.live.budgets:in_process_ab", "obsconf.live.budgets:ab_figures"],
    "dashboards[]": ["obsconf.checks.dashboards:check_dashboard", "obsconf.live.seedruns:SeedRuns.dashboard"],
    "faults[]": ["obsconf.faults.runner:run_fault_scenario", "obsconf.faults.runner:_run",
                 "obsconf.faults.runner:_drive"],
    "faults[].expect": ["obsconf.faults.verdict:_request_findings", "obsconf.faults.verdict:_effect_findings",
                        "obsconf.faults.verdict:_shutdown_findings", "obsconf.faults.verdict:_delivery_findings",
                        "obsconf.faults.runner:_run"],
    "faults[].expect.dropped_metric": ["obsconf.faults.runner:_read_counters"],
    "faults[].expect.duplicates_metric": ["obsconf.faults.runner:_read_counters"],
    "faults[].expect.metrics[]": ["obsconf.faults.verdict:_reaction_findings", "obsconf.faults.runner:_run"],
    "health[]": ["obsconf.checks.health:check_health", "obsconf.live.probe:LiveProbe.health"],
    "load": ["obsconf.load.runner:LoadOptions.plan", "obsconf.cases.load:load_cases"],
    "load.accounting": ["obsconf.load.collect:account_load", "obsconf.load.collect:collect_under_load",
                        "obsconf.checks.accounting:route_templates", "obsconf.cases.load:load_cases"],
    "load.accounting.access_log": ["obsconf.checks.accounting:tally_logs", "obsconf.checks.accounting:is_access_line"],
    "load.accounting.access_log.match": ["obsconf.checks.accounting:is_access_line"],
    "load.accounting.counter": ["obsconf.load.collect:account_load", "obsconf.load.collect:collect_under_load"],
    "load.accounting.histogram": ["obsconf.load.collect:account_load", "obsconf.load.collect:_Reader.__init__"],
    "load.accounting.spans": ["obsconf.checks.accounting:tally_spans"],
    "load.slos": ["obsconf.checks.load_slos:measure_slos", "obsconf.checks.load_slos:_selected"],
    "logs": ["obsconf.cases.logs:logs_cases", "obsconf.cases.logs:_line_cases", "obsconf.checks.logs:check_log_schema",
             "obsconf.checks.logs:check_log_events", "obsconf.checks.logs:_SchemaProblems.read", "obsconf.live.collect:collect",
             "obsconf.live.collect:_collect_logs"],
    "logs.context": ["obsconf.checks.logs:check_log_context"],
    "logs.correlation": ["obsconf.checks.logs:check_log_trace_ids", "obsconf.checks.correlation:check_correlation",
                         "obsconf.checks.correlation:_request_findings"],
    "logs.correlation.exempt[]": ["obsconf.checks.logs:_exempt"],
    "logs.delivery": ["obsconf.checks.delivery:check_log_delivery"],
    "logs.events[]": ["obsconf.checks.logs:check_log_events", "obsconf.checks.logs:_event_matches"],
    "logs.redaction": ["obsconf.checks.redaction:find_secrets"],
    "logs.store": ["obsconf.checks.logstore:check_log_store", "obsconf.checks.logstore:check_store_indexes",
                   "obsconf.faults.runner:_Sinks.items"],
    "metrics": ["obsconf.contract.loader:_build"],
    "retries[]": ["obsconf.checks.retries:check_retries", "obsconf.checks.retries:span_groups",
                  "obsconf.live.probe:LiveProbe._run_fault"],
    "retries[].backoff": ["obsconf.contract.model:BackoffSpec.expected_ms", "obsconf.contract.model:BackoffSpec.window_ms"],
    "retries[].errors_metric": ["obsconf.checks.retries:check_retries", "obsconf.checks.retries:_errors_counted"],
    "retries[].log": ["obsconf.checks.retries:log_groups", "obsconf.checks.retries:_retry_lines",
                      "obsconf.checks.retries:_log_field_findings"],
    "retries[].metric": ["obsconf.checks.retries:_metric_delta"],
    "service": ["obsconf.target:plan_target", "obsconf.target:start_target", "obsconf.contract.model:ServiceSpec.probe_path",
                "obsconf.live.probe:LiveProbe.slo_report"],
    "service.auth": ["obsconf.target:start_target", "obsconf.contract.model:AuthSpec.covers",
                     "obsconf.checks.auth:check_auth"],
    "service.dependencies[]": ["obsconf.target.proxies:proxy_dependencies", "obsconf.target.proxies:dependency_env",
                               "obsconf.checks.dependencies:check_dependency_traffic"],
    "service.listeners[]": ["obsconf.target:start_target"],
    "skip[]": ["obsconf.contract.model:Contract.skipped", "obsconf.cases.text:opt_outs"],
    "slos[]": ["obsconf.checks.slos:check_slos", "obsconf.checks.slos:check_slo_env",
               "obsconf.checks.slos:check_slo_expressions", "obsconf.checks.slos:env_targets"],
    "spans": ["obsconf.cases.spans:spans_cases", "obsconf.cases.spans:_operation_cases",
              "obsconf.cases.spans:_status_cases", "obsconf.cases.spans:_resource_cases",
              "obsconf.cases.spans:_sampling_cases", "obsconf.cases.spans:_semconv_cases",
              "obsconf.cases.spans:_header_cases"],
    "spans.operations[]": ["obsconf.checks.spans:check_span_presence", "obsconf.checks.spans:_parent_problem",
                           "obsconf.checks.spans:check_span_kinds", "obsconf.checks.spans:check_span_attributes"],
    "spans.resource": ["obsconf.checks.spans:check_span_resource"],
    "spans.sampling": ["obsconf.checks.sampling:check_sampling", "obsconf.checks.sampling:_always_sampled_findings",
                       "obsconf.live.seedruns:SeedRuns._sample", "obsconf.live.seedruns:SeedRuns.seed_env"],
    "spans.status_rules[]": ["obsconf.checks.spans:check_span_status", "obsconf.checks.spans:_present_rule",
                             "obsconf.checks.spans:_status_code"],
    "untested[]": ["obsconf.report.coverage:seed_coverage"],
}

#: "object path.key" -> the name the model (and so the consumer) uses, where it differs from the key
ALIASES: dict[str, str] = {
    "<contract>.version": "version",
    "<metric family>.help": "help_required",
    "<metric family>.after_workload": "increases",
    "<step>.emit": "EmitStep",
    "<step>.request": "RequestStep",
    "<seed>.lines": "parse_lines",
    TRACED + ".seed": "refs",
    "alerts.rules[].for": "for_",
    "faults[].expect.dropped_metric.name": "dropped_metric",
    "faults[].expect.dropped_metric.selector": "dropped_selector",
    "faults[].expect.duplicates_metric.name": "duplicates_metric",
    "faults[].expect.duplicates_metric.selector": "duplicates_selector",
    "retries[].errors_metric.name": "errors_metric",
    "retries[].errors_metric.selector": "errors_selector",
    "retries[].metric.name": "metric",
    "retries[].metric.selector": "metric_selector",
    "logs.format": "JSON",
    "metrics.families": "families",
    "untested[].note": "note",
}


def objects(schema: dict[str, Any], path: str, out: dict[str, set[str]]) -> None:
    """Object path -> its keys (traced objects' seed/convention go under TRACED)."""
    name = FRAGMENTS.get(id(schema))
    if name and path != name:
        if name not in out:
            objects(schema, name, out)
        return
    for alt in schema.get("anyOf", []):
        objects(alt, path, out)
    if "items" in schema:
        objects(schema["items"], path + "[]", out)
    props = schema.get("properties", {})
    if props:
        own = out.setdefault(path or "<contract>", set())
        for key, sub in props.items():
            if key in P.TRACE and sub is P.TRACE[key]:
                out.setdefault(TRACED, set()).add(key)
                objects(sub, f"{path}.{key}", out)
                continue
            own.add(key)
            objects(sub, f"{path}.{key}" if path else key, out)
    more = schema.get("additionalProperties")
    if isinstance(more, dict) and more:
        objects(more, path + ".*", out)


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, qual = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj.fget if isinstance(obj, property) else obj


def test_every_schema_key_has_a_consumer_that_reads_it() -> None:
    found: dict[str, set[str]] = {}
    objects(S.CONTRACT_SCHEMA, "", found)
    missing = sorted(set(found) - set(CONSUMERS))
    assert not missing, f"schema objects without a consumer in CONSUMERS: {missing}"
    stale = sorted(set(CONSUMERS) - set(found))
    assert not stale, f"CONSUMERS names objects the schema no longer has: {stale}"
    unread = []
    for obj, keys in sorted(found.items()):
        sources = "\n".join(inspect.getsource(_resolve(ref)) for ref in CONSUMERS[obj])
        for key in sorted(keys):
            word = ALIASES.get(f"{obj}.{key}", key)
            if word not in sources:
                unread.append(f"{obj}.{key} (looked for {word!r} in {', '.join(CONSUMERS[obj])})")
    assert not unread, "schema keys no consumer reads:\n  " + "\n  ".join(unread)


def test_no_alias_is_stale() -> None:
    found: dict[str, set[str]] = {}
    objects(S.CONTRACT_SCHEMA, "", found)
    paths = {f"{obj}.{key}" for obj, keys in found.items() for key in keys}
    assert not sorted(set(ALIASES) - paths)


def _enum(schema: dict[str, Any]) -> list[Any]:
    return list(schema["enum"])


def test_enums_come_from_the_code_tables() -> None:
    from obsconf.faults.inject import TOXICS
    from obsconf.reference.config import PROFILES

    assert _enum(P.VALUE_TYPE) == list(VALUE_TYPES) == list(VALUE_TYPE_TESTS)
    assert _enum(S._SPAN_KIND) == list(SPAN_KINDS)
    assert _enum(S._METRIC["properties"]["type"]) == list(METRIC_TYPES)
    assert _enum(S._SLO["properties"]["unit"]) == list(SLO_UNITS)
    assert _enum(P.FAULT["properties"]["mode"]) == list(FAULT_MODES) and set(FAULT_MODES) == set(TOXICS)
    assert _enum(S._UNTESTED["properties"]["reason"]) == list(UNTESTED_REASONS)
    assert set(S._BUDGETS["properties"]) - set(P.TRACE) == set(BUDGET_KEYS)
    service = S.CONTRACT_SCHEMA["properties"]["service"]["properties"]
    assert _enum(service["profile"]) == list(PROFILES)
    skip = S.CONTRACT_SCHEMA["properties"]["skip"]["items"]["properties"]["check"]
    assert _enum(skip) == list(SKIP_KINDS)


def _all_sections_contract(tmp_path: Any) -> Any:
    """A contract that uses the one section no shipped contract does (a response header)."""
    shipped = next(p for p in default_contract_paths() if p.name == "persist.yaml")
    text = shipped.read_text(encoding="utf-8").replace("\nmetrics:\n", "  response_header: traceresponse\n\nmetrics:\n", 1)
    # the locustfile stays where it is (paths are relative to the contract)
    text = text.replace("locustfile: ../../loadtests/", f"locustfile: {shipped.parent.parent.parent / 'loadtests'}/")
    (tmp_path / "seeds").mkdir()
    for seed in (shipped.parent / "seeds").glob("*.txt"):
        (tmp_path / "seeds" / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "alerts").mkdir()
    for f in (shipped.parent / "alerts").glob("persist*"):
        (tmp_path / "alerts" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "persist.yaml"
    path.write_text(text, encoding="utf-8")
    return load_contract(path)


def test_case_kinds_table_is_what_the_builders_make(tmp_path: Any) -> None:
    """CASE_KINDS (the skip enum's source) holds exactly the kinds the section builders give their cases."""
    from obsconf.cases.suite import build_cases

    contracts = [load_contract(p) for p in default_contract_paths()] + [_all_sections_contract(tmp_path)]
    made = {case.kind for c in contracts for case in build_cases(_without_skips(c))}
    assert made == set(CASE_KINDS), (sorted(made - set(CASE_KINDS)), sorted(set(CASE_KINDS) - made))


def _without_skips(contract: Any) -> Any:
    from dataclasses import replace

    return replace(contract, skip=())


@pytest.mark.parametrize("kind", SKIP_KINDS)
def test_every_skip_kind_turns_off_a_case(kind: str) -> None:
    """skip accepts only kinds that some case uses: each one matches a case kind itself or as its section."""
    assert any(k == kind or k.startswith(kind + ".") for k in CASE_KINDS)
