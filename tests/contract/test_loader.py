"""Contract loading: the five shipped contracts load; malformed ones give one clear ContractError."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from obsconf.contract import default_contract_paths, load_contract, load_contracts
from obsconf.contract.model import EmitStep, RequestStep
from obsconf.errors import ContractError

SERVICE_NAMES = {
    "persist.yaml": "persist",
    "syncd.yaml": "sync-daemon",
    "aurum.yaml": "aurum-api",
    "prethrift.yaml": "prethrift-backend",
    "assistant.yaml": "assistant",
}


def test_the_five_shipped_contracts_load() -> None:
    contracts = load_contracts(default_contract_paths())
    assert {c.name: c.service.name for c in contracts} == SERVICE_NAMES
    for c in contracts:
        assert c.workload, f"{c.name} has no workload"
        assert c.logs is not None and c.logs.correlation is not None
        assert c.spans is not None and c.spans.status_rules
        assert c.metrics
        assert c.alerts is not None or c.skipped("alerts") is not None, f"{c.name}: alerts neither given nor skipped"
        # every failing-request step exists so the span error-status rule is exercised
        assert any(isinstance(s, RequestStep) and s.path.startswith("/api/fail") for s in c.workload)


def test_shipped_contracts_cover_their_seeds() -> None:
    by_name = {c.name: c for c in load_contracts(default_contract_paths())}
    persist = by_name["persist.yaml"]
    assert persist.retries[0].max_attempts == 4 and persist.retries[0].attempt_span == "put_object_request"
    assert [op.name for op in persist.spans.operations][:6] == [
        "save_snapshot", "serialize_agent_state", "compress_data", "s3_upload", "put_object_request", "verify_upload"]
    syncd = by_name["syncd.yaml"]
    assert syncd.logs.store.collection == "daemon_logs" and syncd.budgets.metrics_cpu_percent == 1
    assert any(isinstance(s, EmitStep) for s in syncd.workload)
    aurum = by_name["aurum.yaml"]
    assert {s.name for s in aurum.slos} >= {"api_availability", "api_latency_p95"} and aurum.budgets.span_ms == 0.1
    assert by_name["prethrift.yaml"].budgets.request_overhead_ms == 3
    latency = next(m for m in by_name["assistant.yaml"].metrics if m.name == "assistant_request_duration_seconds")
    assert latency.buckets[:3] == (0.001, 0.002, 0.004) and len(latency.buckets) == 11


def test_items_carry_their_line_for_findings() -> None:
    persist = load_contract(next(p for p in default_contract_paths() if p.name == "persist.yaml"))
    loc = persist.spans.operations[2].loc
    assert loc.startswith("persist.yaml:") and loc.endswith("spans.operations[2]")
    line = int(loc.split(":")[1].split()[0])
    assert "compress_data" in persist.path.read_text().splitlines()[line - 1]


BASE = """\
version: 1
seed: 000_test.txt
service:
  name: persist
  profile: persist
workload:
  - name: ok
    request: {method: GET, path: /api/ok}
logs:
  format: json
  required_fields: {level: string}
  redaction:
    patterns: ["sk-[0-9a-f]+"]
spans:
  operations:
    - name: save_snapshot
      attributes:
        size_bytes: integer
metrics:
  - name: persist_s3_latency_seconds
    type: histogram
    buckets: [0.1, 0.5, "+Inf"]
health:
  - path: /health
    schema: {type: object}
"""


def load_text(tmp_path: Path, text: str) -> ContractError:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ContractError) as info:
        load_contract(path)
    return info.value


def test_base_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE, encoding="utf-8")
    c = load_contract(path)
    assert c.metrics[0].buckets == (0.1, 0.5, float("inf"))
    assert c.workload[0] == RequestStep("GET", "/api/ok", name="ok", loc="ok.yaml:7 workload[0]")


# (id, old, new, line, path, problem): BASE with ``old`` replaced by ``new`` gives one error at ``line``/``path``.
TABLE: list[tuple[str, str, str, int, str, str]] = [
    ("unknown-section", "logs:\n", "log:\n", 9, "log", "unknown section 'log'; allowed sections: alerts, budgets"),
    ("wrong-type-name", "        size_bytes: integer", "        size_bytes: int", 18,
     "spans.operations[0].attributes.size_bytes", "'int' is not allowed here; use one of: string, integer"),
    ("missing-key", "  name: persist\n", "", 3, "service", "missing required key 'name'"),
    ("wrong-type", "  required_fields: {level: string}", "  required_fields: [level]", 11, "logs.required_fields",
     "expected a mapping, got a list"),
    ("bad-regex", '    patterns: ["sk-[0-9a-f]+"]', '    patterns: ["sk-[0-9a-f+"]', 13, "logs.redaction.patterns[0]",
     "bad regular expression 'sk-[0-9a-f+'"),
    ("bad-buckets", '    buckets: [0.1, 0.5, "+Inf"]', "    buckets: [0.5, 0.1]", 22, "metrics[0].buckets",
     "must end with '+Inf'"),
    ("bad-health-schema", "    schema: {type: object}", "    schema: {type: objekt}", 25, "health[0].schema",
     "not a valid JSON Schema"),
    ("unknown-step-key", "    request: {method: GET, path: /api/ok}", "    sleep: 5", 8, "workload[0].sleep",
     "unknown key 'sleep'"),
    ("bad-path", "    request: {method: GET, path: /api/ok}", "    request: {method: GET, path: api/ok}", 8,
     "workload[0].request.path", "must be a path starting with '/'"),
    ("version", "version: 1", "version: 2", 1, "version", "this obsconf reads contract version 1"),
    ("semconv-false-without-reason", "spans:\n", "spans:\n  semconv: false\n", 15, "spans.semconv",
     "turn the check off with a reason the report shows"),
    ("semconv-off-without-reason", "spans:\n", "spans:\n  semconv: {enabled: false}\n", 15, "spans.semconv",
     "'enabled: false' needs a 'reason'"),
    ("semconv-reason-when-on", "spans:\n", "spans:\n  semconv: {enabled: true, reason: x}\n", 15,
     "spans.semconv.reason", "a reason is only read when 'enabled' is false"),
    ("metrics-mapping-unknown-key", "metrics:\n  - name", "metrics:\n  semconv: true\n  family:\n  - name", 21,
     "metrics.family", "unknown key 'family'; allowed keys: families, semconv"),
    ("metrics-mapping-bad-family", "metrics:\n  - name: persist_s3_latency_seconds\n    type: histogram",
     "metrics:\n  families:\n  - name: persist_s3_latency_seconds\n    type: histgram", 22,
     "metrics.families[0].type", "'histgram' is not allowed here"),
]

# Malformed files beyond the table, each as its full text: the loader's other tests below use the same edits.
OTHER_MALFORMED: dict[str, str] = {
    "unknown-check-kind": BASE + "skip:\n  - {check: spans.tre, reason: no tree}\n",
    "step-without-kind": BASE.replace("    request: {method: GET, path: /api/ok}\n", ""),
    "yaml-syntax": BASE.replace("  name: persist", "  name: [persist"),
    "flow-mapping-braces": BASE.replace("path: /api/ok}", "path: /x/{run_id}}"),
    "duplicate-key": BASE + "logs:\n  format: json\n",
    "empty": "",
    "not-a-mapping": "- a\n- b\n",
    "missing-rules-file": BASE + "alerts:\n  rules_file: nope.yml\n  rules: [{name: A}]\n",
    "root-with-parent": BASE.replace("    - name: save_snapshot\n",
                                     "    - name: save_snapshot\n      root: true\n      parent: x\n"),
    "le-label": BASE.replace("    type: histogram\n", "    type: histogram\n    labels: [le]\n"),
    "wrong-attribute-type-form": BASE.replace("size_bytes: integer", "size_bytes: {type: integr}"),
    "wrong-status-item": BASE.replace("path: /api/ok}", 'path: /api/ok, expect_status: [200, "x"]}'),
}

#: Every malformed file of this module: name -> text (``obsconf contract check`` must catch each one).
MALFORMED: dict[str, str] = {
    **{name: BASE.replace(old, new) for name, old, new, *_ in TABLE},
    **OTHER_MALFORMED,
}


@pytest.mark.parametrize(("old", "new", "line", "path", "problem"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_malformed_contract_gives_one_clear_error(tmp_path: Path, old: str, new: str, line: int, path: str,
                                                  problem: str) -> None:
    assert old in BASE
    error = load_text(tmp_path, BASE.replace(old, new))
    assert error.file.endswith(f"bad.yaml:{line}"), str(error)
    assert error.path == path, str(error)
    assert problem in error.problem, str(error)
    assert str(error).startswith(f"{error.file}: at {path}: ")


def test_unknown_check_kind(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE + "skip:\n  - {check: spans.tre, reason: no tree}\n")
    assert error.path == "skip[0].check"
    assert "unknown check kind 'spans.tre'" in error.problem and "spans.status" in error.problem


def test_step_with_no_kind(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE.replace("    request: {method: GET, path: /api/ok}\n", ""))
    assert error.path == "workload[0]" and "give exactly one of 'request' or 'emit'" in error.problem


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE.replace("  name: persist", "  name: [persist"))
    assert "YAML syntax error" in error.problem and ":" in error.file


def test_flow_mapping_with_braces_is_a_syntax_error_not_a_traceback(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE.replace("path: /api/ok}", "path: /x/{run_id}}"))
    assert error.file.endswith("bad.yaml:8") and "YAML syntax error" in error.problem


def test_duplicate_key(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE + "logs:\n  format: json\n")
    assert error.path == "logs" and "duplicate key 'logs'" in error.problem


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    assert "the file is empty" in load_text(tmp_path, "").problem
    assert "got a list" in load_text(tmp_path, "- a\n- b\n").problem


def test_missing_file_and_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="cannot read the contract"):
        load_contract(tmp_path / "nope.yaml")
    error = load_text(tmp_path, BASE + "alerts:\n  rules_file: nope.yml\n  rules: [{name: A}]\n")
    assert error.path == "alerts.rules_file" and "does not exist" in error.problem


def test_semantic_conflicts(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE.replace("    - name: save_snapshot\n", "    - name: save_snapshot\n      root: true\n      parent: x\n"))
    assert "cannot also name a parent" in error.problem
    error = load_text(tmp_path, BASE.replace("    type: histogram\n", "    type: histogram\n    labels: [le]\n"))
    assert error.path == "metrics[0].labels" and "do not list 'le'" in error.problem


def test_two_contracts_for_one_service(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(BASE, encoding="utf-8")
    b.write_text(BASE, encoding="utf-8")
    with pytest.raises(ContractError, match="already described by"):
        load_contracts([a, b])


def test_contracts_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSCONF_CONTRACTS_DIR", str(tmp_path))
    with pytest.raises(ContractError, match="no \\*.yaml contracts found"):
        default_contract_paths()
    (tmp_path / "x.yaml").write_text(BASE, encoding="utf-8")
    assert default_contract_paths() == [tmp_path / "x.yaml"]


def test_alternative_forms_are_explained_by_the_form_used(tmp_path: Path) -> None:
    error = load_text(tmp_path, BASE.replace("size_bytes: integer", "size_bytes: {type: integr}"))
    assert error.path == "spans.operations[0].attributes.size_bytes.type" and "'integr' is not allowed" in error.problem
    error = load_text(tmp_path, BASE.replace("path: /api/ok}", 'path: /api/ok, expect_status: [200, "x"]}'))
    assert error.path == "workload[0].request.expect_status[1]" and "expected an integer" in error.problem


def test_semconv_is_on_by_default_and_off_only_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE, encoding="utf-8")
    c = load_contract(path)
    assert c.spans.semconv.enabled and c.spans.semconv.loc == "c.yaml:14 spans.semconv"
    assert c.metrics_semconv is not None and c.metrics_semconv.enabled
    off = BASE.replace("spans:\n", "spans:\n  semconv: {enabled: false, reason: the seed keeps http.status_code}\n")
    off = off.replace("metrics:\n  - name: persist_s3_latency_seconds\n    type: histogram\n    buckets: [0.1, 0.5, \"+Inf\"]",
                      "metrics:\n  semconv:\n    enabled: false\n    reason: legacy names\n  families:\n"
                      "    - name: persist_s3_latency_seconds\n      type: histogram\n      buckets: [0.1, 0.5, \"+Inf\"]")
    path.write_text(off, encoding="utf-8")
    c = load_contract(path)
    assert (c.spans.semconv.enabled, c.spans.semconv.reason) == (False, "the seed keeps http.status_code")
    assert (c.metrics_semconv.enabled, c.metrics_semconv.reason) == (False, "legacy names")
    assert c.metrics_semconv.loc == "c.yaml:21 metrics.semconv"
    assert c.metrics[0].name == "persist_s3_latency_seconds" and c.metrics[0].loc == "c.yaml:25 metrics.families[0]"
    no_metrics = BASE[: BASE.index("metrics:")] + BASE[BASE.index("health:"):]
    path.write_text(no_metrics, encoding="utf-8")
    assert load_contract(path).metrics_semconv is None


def test_shipped_contracts_state_semconv_and_the_schema_line() -> None:
    for path in default_contract_paths():
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=./contract.schema.json", path
        c = load_contract(path)
        if c.name == "assistant.yaml":  # the seed keeps the deprecated HTTP attribute names
            assert not c.spans.semconv.enabled and "http.status_code" in c.spans.semconv.reason
        else:
            assert c.spans.semconv.enabled, c.name
        assert c.metrics_semconv is not None and c.metrics_semconv.enabled
