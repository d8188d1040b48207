"""The contract's ``load`` section: the shipped contracts and the example name a user class and the
accounting; every key is read, and a section that cannot be run or checked is refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsconf.cases.suite import build_cases
from obsconf.contract import default_contract_paths, load_contract
from obsconf.errors import ContractError

REPO = Path(__file__).resolve().parents[2]

BASE = """\
version: 1
service: {name: svc, command: "python app.py --port {port}", metrics_path: /metrics}
logs: {format: json, stream: {service: svc}}
spans: {operations: [{name: work}]}
load:
  locustfile: locustfile.py
  user_class: SvcUser
"""

ACCOUNTING = """\
  accounting:
    counter: {name: http_requests_total, route_label: route, status_label: code}
"""


def _contract(tmp_path: Path, text: str, *, locustfile: bool = True) -> Path:
    if locustfile:
        (tmp_path / "locustfile.py").write_text("# a user's locustfile\n")
    path = tmp_path / "svc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_contracts_name_their_load() -> None:
    for path in default_contract_paths():
        contract = load_contract(path)
        load = contract.load
        assert load is not None, path.name
        assert load.locustfile.is_file() and load.locustfile.parent == REPO / "loadtests"
        assert load.accounting is not None and load.accounting.access_log is not None
        assert load.accounting.histogram is not None and load.slos is not None
        assert load.accounting.exclude == (contract.service.metrics_path,)


def test_the_example_names_its_own_locustfile() -> None:
    contract = load_contract(REPO / "examples" / "flask_inventory" / "contract.yaml")
    assert contract.load is not None
    assert contract.load.locustfile == REPO / "examples" / "flask_inventory" / "locustfile.py"
    assert contract.load.user_class == "InventoryUser" and contract.load.accounting.access_log is None


def test_defaults_and_every_key(tmp_path: Path) -> None:
    text = BASE + """\
  users: 7
  spawn_rate: 3.5
  seconds: 12
  accounting:
    counter: {name: reqs_total, route_label: route, status_label: code, method_label: method}
    histogram: {name: req_seconds, status_label: code}
    spans: {route_attribute: [http.route, http.target], status_attribute: http.status_code, method_attribute: m}
    access_log:
      match: {field: message, pattern: "^done$"}
      route_field: fields.path
      status_field: fields.status
      method_field: fields.method
    routes: ["/items/{id}"]
    exclude: [/metrics, /healthz]
  slos: {availability: 0.99, error_rate: 0.01, p95_ms: 250, routes: ["/items/{id}"], exclude: [/boom]}
"""
    load = load_contract(_contract(tmp_path, text)).load
    assert (load.users, load.spawn_rate, load.seconds) == (7, 3.5, 12.0)
    acc = load.accounting
    assert acc.counter.method_label == "method" and acc.histogram.route_label == "route"
    assert acc.histogram.method_label == "method" and acc.histogram.status_label == "code"
    assert acc.spans.route_attribute == ("http.route", "http.target") and acc.spans.status_attribute == (
        "http.status_code",)
    assert acc.access_log.match.pattern == "^done$" and acc.access_log.route_field == "fields.path"
    assert acc.routes == ("/items/{id}",) and acc.exclude == ("/metrics", "/healthz")
    assert load.slos.p95_ms == 250 and load.slos.exclude == ("/boom",)
    minimal = load_contract(_contract(tmp_path, BASE + ACCOUNTING)).load
    assert (minimal.users, minimal.spawn_rate, minimal.seconds) == (20, 10.0, 30.0)
    assert minimal.accounting.exclude == ("/metrics",) and minimal.accounting.spans is not None


def test_load_cases(tmp_path: Path) -> None:
    text = BASE + ACCOUNTING.replace("code}", "code}\n    histogram: {name: secs}") + \
        "  slos: {availability: 0.99, p95_ms: 100}\n"
    ids = [c.id for c in build_cases(load_contract(_contract(tmp_path, text))) if c.section == "load"]
    assert ids == ["svc-load-requests", "svc-load-accounting", "svc-load-histogram_count",
                   "svc-load-slo_availability", "svc-load-slo_p95_ms"]


@pytest.mark.parametrize("extra,locustfile,problem", [
    (ACCOUNTING, False, "locustfile .*locustfile.py does not exist"),
    ("", True, "missing required key 'accounting'"),
    (ACCOUNTING + "    histogram: {name: secs_count}\n", True, "without the suffix"),
    (ACCOUNTING + "  slos: {p95_ms: 100}\n", True, "name it under load.accounting.histogram"),
    (ACCOUNTING + "  slos: {exclude: [/x]}\n", True, "name at least one objective"),
    (ACCOUNTING + "  slos: {availability: 1.5}\n", True, "load.slos.availability"),
    (ACCOUNTING + "  users: 0\n", True, "load.users"),
    (ACCOUNTING + "  user: 3\n", True, "unknown key 'user'"),
    (ACCOUNTING.replace("route_label: route, ", ""), True, "missing required key 'route_label'"),
])
def test_malformed_load_sections(tmp_path: Path, extra: str, locustfile: bool, problem: str) -> None:
    with pytest.raises(ContractError, match=problem):
        load_contract(_contract(tmp_path, BASE + extra, locustfile=locustfile))


def test_spans_and_access_log_need_their_sections(tmp_path: Path) -> None:
    no_spans = BASE.replace("spans: {operations: [{name: work}]}\n", "")
    path = _contract(tmp_path, no_spans + ACCOUNTING + "    spans: {route_attribute: r}\n")
    with pytest.raises(ContractError, match="only for a contract with a 'spans' section"):
        load_contract(path)
    assert load_contract(_contract(tmp_path, no_spans + ACCOUNTING)).load.accounting.spans is None
    no_logs = BASE.replace("logs: {format: json, stream: {service: svc}}\n", "")
    access = "    access_log: {match: {field: m}, route_field: p, status_field: s}\n"
    with pytest.raises(ContractError, match="add a 'logs' section"):
        load_contract(_contract(tmp_path, no_logs + ACCOUNTING + access))
