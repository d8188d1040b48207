"""The pure drafting: an observation in, a contract out that loads, passes every case it builds on the same data,
and fails the right case when the data changes the way a regression would change it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from obsconf.cases.suite import build_cases
from obsconf.contract.loader import load_contract
from obsconf.contract.model import Contract
from obsconf.draft.build import draft_contract
from obsconf.draft.observation import Observation
from obsconf.model import Finding, LogRecord, MetricSample, Span
from tests.draft.observed import SECRET, FixedProbe, observation


def _contract(obs: Observation) -> tuple[Contract, str]:
    draft = draft_contract(obs)
    path = obs.request.output
    assert path is not None
    path.write_text(draft.text)
    return load_contract(path), draft.text


def _failures(obs: Observation, contract: Contract) -> dict[str, list[Finding]]:
    probe = FixedProbe(obs, contract)
    out = {}
    for case in build_cases(contract):
        # the synthetic run has parsed families but no exposition text: what promtool said about the text is
        # the observation's own promtool result (an empty exposition is a finding, never a pass)
        findings = list(obs.promtool or []) if case.kind == "metrics.promtool" else case.run(probe)
        if findings:
            out[case.id] = findings
    return out


@pytest.fixture
def obs(tmp_path: Path) -> Observation:
    return observation(tmp_path)


def test_the_draft_passes_every_case_it_builds_on_the_data_it_came_from(obs: Observation) -> None:
    contract, text = _contract(obs)
    cases = build_cases(contract)
    assert len(cases) > 20
    assert _failures(obs, contract) == {}
    assert text.splitlines()[0].startswith("# yaml-language-server: $schema=")


def test_every_drafted_line_of_a_section_carries_its_evidence(obs: Observation) -> None:
    _, text = _contract(obs)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("name:", "- name:", "trace_id_field:", "source:", "levels:", "root:", "parent:",
                                "required_fields:", "buckets:")):
            assert "  # " in line, f"no evidence on: {line}"
    assert "seen: INFO 10, ERROR 2" in text
    assert "4 of 4 requests traced" in text


def test_spans_of_traces_outside_the_requests_are_not_drafted(obs: Observation) -> None:
    probe = Span("f" * 32, "e" * 16, None, "GET /healthz", "svc", 0, 1, {"http.route": "/healthz"}, kind="server")
    traces = {**obs.collected.traces, "f" * 32: [probe]}
    contract, _ = _contract(replace(obs, collected=replace(obs.collected, traces=traces)))
    assert contract.spans is not None and "GET /healthz" not in {op.name for op in contract.spans.operations}


def test_what_the_draft_says(obs: Observation) -> None:
    contract, _ = _contract(obs)
    logs = contract.logs
    assert logs is not None and logs.source == "both" and logs.stream == {"service_name": "svc"}
    assert logs.required_fields == {"timestamp": "rfc3339", "level": "string", "message": "string"}
    assert logs.levels == ("INFO", "ERROR") and logs.redaction.values == (SECRET,)
    assert logs.correlation is not None and logs.correlation.trace_id_field == "trace_id"
    [exempt] = logs.correlation.exempt
    assert exempt.field == "message" and exempt.pattern == "^(config loaded|svc listening on [0-9]+\\.[0-9]+\\.[0-9]+" \
        "\\.[0-9]+:[0-9a-f]+)$"
    events = {e.name: e for e in logs.events}
    assert events["item looked up"].min_count == 4  # two requests, each line on stdout and in the store
    assert events["item added"].fields == {"sku": "string", "item_id": "string", "quantity": "integer"}
    assert contract.spans is not None
    ops = {op.name: op for op in contract.spans.operations}
    assert ops["GET /items/{sku}"].root and ops["save_item"].parent == "POST /items"
    assert ops["db.insert"].kind == "client" and ops["db.insert"].parent == "save_item"
    attrs = {a.name: a for a in ops["GET /items/{sku}"].attributes}
    assert attrs["http.request.method"].equals == "GET"  # the same on both spans
    assert attrs["server.port"].equals is None and attrs["server.address"].equals is None  # this run's port
    assert contract.spans.response_header == "traceresponse"
    assert [r.gte for r in contract.spans.status_rules] == [500]
    metrics = {m.name: m for m in contract.metrics}
    assert set(metrics) == {"svc_requests_total", "svc_latency_seconds", "svc_items"}  # no runtime family
    assert metrics["svc_latency_seconds"].buckets == (0.1, 0.5, float("inf"))
    assert metrics["svc_requests_total"].increases and metrics["svc_requests_total"].selector
    assert not metrics["svc_items"].help_required  # it has no HELP text, so the draft says so
    [health] = contract.health
    assert health.schema["properties"]["status"] == {"type": "string", "const": "ok"}
    assert health.schema["properties"]["uptime_s"] == {"type": "number"}
    assert contract.service.command == ("svc", "--port", "{port}") and contract.service.cwd == obs.request.cwd


def _logs_with(obs: Observation, change) -> Observation:  # noqa: ANN001
    lines = []
    for rec in obs.collected.console:
        fields = change(dict(rec.fields))
        lines.append(LogRecord(rec.timestamp_ns, json.dumps(fields), fields, rec.labels, rec.source))
    return replace(obs, collected=replace(obs.collected, console=lines))


def test_a_secret_in_a_log_line_fails_the_redaction_case(obs: Observation) -> None:
    contract, _ = _contract(obs)
    leaked = _logs_with(obs, lambda f: {**f, "body": {"token": SECRET}})
    assert set(_failures(leaked, contract)) == {"svc-logs-redaction"}


def test_a_renamed_metric_label_fails_that_metric(obs: Observation) -> None:
    contract, _ = _contract(obs)
    fam = obs.collected.metrics_after[0]
    renamed = replace(fam, samples=tuple(MetricSample(s.name, {("path" if k == "route" else k): v
                                                               for k, v in s.labels.items()}, s.value)
                                         for s in fam.samples))
    broken = replace(obs, collected=replace(obs.collected, metrics_after=[renamed, *obs.collected.metrics_after[1:]]))
    failing = _failures(broken, contract)
    assert set(failing) == {"svc-metrics-svc_requests_total", "svc-metrics-svc_requests_total_in_prometheus"}
    assert {f.check for f in failing["svc-metrics-svc_requests_total"]} == {"metrics.labels", "metrics.increase"}


def test_spans_that_stop_arriving_fail_the_span_cases(obs: Observation) -> None:
    contract, _ = _contract(obs)
    broken = replace(obs, collected=replace(obs.collected, traces={}))
    failing = _failures(broken, contract)
    assert {"svc-spans-GET_items_sku", "svc-spans-save_item", "svc-spans-sampling"} <= set(failing)


def test_a_lost_child_span_fails_its_parent_rule(obs: Observation) -> None:
    contract, _ = _contract(obs)
    traces = {t: [s for s in spans if s.name != "save_item"] for t, spans in obs.collected.traces.items()}
    failing = _failures(replace(obs, collected=replace(obs.collected, traces=traces)), contract)
    assert {f.check for f in failing["svc-spans-db.insert"]} == {"spans.parent"}


def test_deprecated_attribute_names_turn_semconv_off_with_them_as_the_reason(obs: Observation) -> None:
    traces = {t: [replace(s, attributes={**s.attributes, "http.status_code": 200}) if s.kind == "server" else s
                  for s in spans] for t, spans in obs.collected.traces.items()}
    old = replace(obs, collected=replace(obs.collected, traces=traces))
    contract, text = _contract(old)
    assert contract.spans is not None and not contract.spans.semconv.enabled
    assert "http.status_code" in contract.spans.semconv.reason
    assert "http.response.status_code" in contract.spans.semconv.reason
    assert _failures(old, contract) == {}


def test_a_leaked_secret_is_still_drafted_and_said_out_loud(obs: Observation) -> None:
    leaked = _logs_with(obs, lambda f: {**f, "token": SECRET})
    draft = draft_contract(leaked)
    assert any("already appears" in w for w in draft.warnings)
    assert "ALREADY LEAKED" in draft.text and SECRET in draft.text


def test_without_secrets_the_draft_says_how_to_give_them(tmp_path: Path) -> None:
    obs = observation(tmp_path)
    bare = replace(obs, request=replace(obs.request, secrets=()))
    _, text = _contract(bare)
    assert "TODO: list the secrets" in text


def test_no_spans_no_logs_no_service_families_are_said_not_guessed(tmp_path: Path) -> None:
    obs = observation(tmp_path)
    got = replace(obs.collected, traces={}, console=[], metrics_after=obs.collected.metrics_after[3:])
    empty = replace(obs, collected=got, store_lines=[], console_lines=[])
    contract, text = _contract(empty)
    assert contract.logs is None and contract.spans is None and not contract.metrics
    assert "logs: not drafted, no usable log line arrived" in text
    assert "spans: not drafted, no span of service 'svc' arrived" in text
    assert "metrics: not drafted" in text


def test_spans_under_another_name_say_which_name_to_draft_with(tmp_path: Path) -> None:
    obs = observation(tmp_path)
    other = replace(obs, request=replace(obs.request, name="svc2"))
    _, text = _contract(other)
    assert "--name svc" in text


def test_lines_that_are_not_json_leave_that_source_out(obs: Observation) -> None:
    plain = replace(obs, collected=replace(obs.collected, console=[LogRecord(0, "INFO started", {})]))
    contract, text = _contract(plain)
    assert contract.logs is not None and contract.logs.source == "loki"
    assert "not JSON objects" in text


def test_mixed_parents_are_not_drafted(obs: Observation) -> None:
    tid, trace = next(iter(obs.collected.traces.items()))
    orphan = Span(tid, "e" * 16, None, "save_item", "svc", 0, 1, {"item.id": "itm-9", "item.sku": "mug"})
    traces = {**obs.collected.traces, tid: [*trace, orphan]}
    contract, text = _contract(replace(obs, collected=replace(obs.collected, traces=traces)))
    assert contract.spans is not None
    op = next(o for o in contract.spans.operations if o.name == "save_item")
    assert op.parent is None and not op.root and "parent: not drafted" in text


def test_the_yaml_is_plain_yaml(obs: Observation) -> None:
    _, text = _contract(obs)
    assert isinstance(yaml.safe_load(text), dict)


def test_metric_names_off_the_conventions_turn_metrics_semconv_off_with_them_as_the_reason(obs: Observation) -> None:
    from obsconf.model import MetricFamily

    def ms(n: float) -> MetricFamily:
        return MetricFamily("http_server_request_duration_milliseconds", "histogram", "Latency.", tuple(
            [MetricSample("http_server_request_duration_milliseconds_bucket", {"le": le}, n) for le in ("5", "+Inf")]
            + [MetricSample("http_server_request_duration_milliseconds_count", {}, n)]))

    got = replace(obs.collected, metrics_before=[*obs.collected.metrics_before, ms(1)],
                  metrics_after=[*obs.collected.metrics_after, ms(4)])
    off = replace(obs, collected=got)
    contract, text = _contract(off)
    assert contract.metrics_semconv is not None and not contract.metrics_semconv.enabled
    assert "http_server_request_duration_milliseconds" in contract.metrics_semconv.reason
    assert _failures(off, contract) == {}


def test_promtool_problems_become_a_skip_with_the_finding_as_the_reason(obs: Observation) -> None:
    lint = Finding("metrics.promtool", "metrics", "svc_items non-counter metrics should not have \"_total\" suffix")
    contract, text = _contract(replace(obs, promtool=[lint]))
    [skip] = contract.skip
    assert skip.check == "metrics.promtool" and "should not have" in skip.reason
    assert "svc-metrics-promtool_check_metrics" not in {c.id for c in build_cases(contract)}


def test_without_promtool_the_draft_warns_that_its_case_may_fail(obs: Observation) -> None:
    draft = draft_contract(replace(obs, promtool=None))
    assert any("promtool is not installed" in w for w in draft.warnings)
