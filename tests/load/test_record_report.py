"""The load's recording (a traceparent on every request, one record per Locust request event) and its
reports, without importing Locust into this process (it would patch it with gevent): the clients and
events here are stand-ins with Locust's call signatures; real Locust runs are in tests/e2e/test_load.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from obsconf.checks.accounting import ANY, RouteKey, account
from obsconf.checks.load_slos import SloMeasure
from obsconf.contract.loader import load_contract
from obsconf.load.record import TRACE_KEY, Recorder, as_exchange, trace_client, trace_id_of
from obsconf.load.report import render_markdown, write_reports
from obsconf.load.runner import LoadOptions, LoadPlan, LoadRun, worker_argv

REPO = Path(__file__).resolve().parents[2]


class FakeClient:
    """Locust's ``client.request(method, url, ..., headers=, context=)`` and a ``get`` that calls it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append({"method": method, "url": url, "args": args, **kwargs})

    def get(self, url: str, **kwargs: Any) -> None:
        self.request("GET", url, **kwargs)


def test_every_request_gets_a_fresh_traceparent_and_hands_its_trace_id_on() -> None:
    client = FakeClient()
    trace_client(client, propagate=True)
    client.get("/a", name="/a", context={"mine": 1})
    client.get("/a")
    first, second = client.calls
    tid = trace_id_of(first["headers"]["traceparent"])
    assert len(tid) == 32 and first["context"] == {"mine": 1, TRACE_KEY: tid} and first["name"] == "/a"
    assert trace_id_of(second["headers"]["traceparent"]) not in ("", tid)


def test_a_traceparent_the_user_set_is_kept_and_recorded() -> None:
    client = FakeClient()
    trace_client(client, propagate=True)
    given = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    client.request("POST", "/b", headers={"TraceParent": given})
    (call,) = client.calls
    assert call["headers"] == {"TraceParent": given} and call["context"][TRACE_KEY] == "ab" * 16


def test_below_rate_one_no_header_is_added() -> None:
    client = FakeClient()
    trace_client(client, propagate=False)
    client.get("/c")
    assert "traceparent" not in client.calls[0]["headers"] and client.calls[0]["context"][TRACE_KEY] == ""


class FakeResponse:
    status_code = 503
    headers = {"X-Trace-Id": "t" * 32}


def test_the_recorder_keeps_what_the_checks_read() -> None:
    rec = Recorder()
    rec.on_request("GET", "/x", 12.5, 10, response=FakeResponse(), context={TRACE_KEY: "a" * 32},
                   exception=RuntimeError("HTTP 503"), start_time=1.5, url="http://127.0.0.1:9/x?y=1")
    rec.on_request("GET", "/x", 3.0, 0, response=None, context={}, exception=ConnectionError("refused"))
    x = as_exchange(rec.records[0])
    assert (x.method, x.url, x.status, x.elapsed_ms, x.sent_at_ns, x.trace_id) == (
        "GET", "http://127.0.0.1:9/x?y=1", 503, 12.5, 1_500_000_000, "a" * 32)
    assert x.headers == {"x-trace-id": "t" * 32} and "RuntimeError: HTTP 503" in x.body
    assert as_exchange(rec.records[1]).status == 0
    assert len(rec.drain()) == 2 and rec.records == []
    json.dumps(rec.records)  # records travel from workers to the master as plain data


def test_a_missing_user_class_names_the_classes_there_are() -> None:
    # in a child: importing Locust patches the process it is imported in
    code = ("from obsconf.load import prepare; prepare()\n"
            "from pathlib import Path\n"
            "from obsconf.errors import UsageError\n"
            "from obsconf.load.record import load_user_class\n"
            "try:\n    load_user_class(Path('loadtests/persist.py'), 'Nope')\n"
            "except UsageError as exc:\n    print(exc)\n"
            "print(load_user_class(Path('loadtests/persist.py'), 'PersistUser').__name__)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "has no user class 'Nope' (load.user_class); it defines: PersistUser" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "PersistUser"


def test_options_override_the_contract_and_refuse_a_remote_host() -> None:
    import pytest

    from obsconf.errors import UsageError

    spec = load_contract(REPO / "fixtures" / "contracts" / "persist.yaml").load
    plan = LoadOptions(seconds=5, workers=2).plan(spec, "http://127.0.0.1:8000", propagate=True)
    assert (plan.users, plan.seconds, plan.worker_count, plan.user_class) == (20, 5, 2, "PersistUser")
    assert worker_argv(plan, "127.0.0.1", 5557)[1:3] == ["-m", "obsconf.load.worker"]
    with pytest.raises(UsageError, match="not a loopback address"):
        LoadOptions().plan(spec, "http://10.0.0.1:8000", propagate=True)


def test_reports(tmp_path: Path) -> None:
    from obsconf.load.collect import LoadResult

    contract = load_contract(REPO / "fixtures" / "contracts" / "prethrift.yaml")
    plan = LoadPlan(contract.load.locustfile, "PrethriftUser", "http://127.0.0.1:9", seconds=10)
    stats = {"entries": [{"method": "GET", "name": "/api/ok", "num_requests": 3, "num_failures": 0,
                          "median_response_time": 2, "p95_ms": 4, "total_rps": 0.3}],
             "total": {"method": "", "name": "Aggregated", "num_requests": 3, "num_failures": 0,
                       "median_response_time": 2, "p95_ms": 4, "total_rps": 0.3}, "errors": []}
    run = LoadRun(plan, 0, 10_000_000_000, [{}] * 3, stats, html="<html></html>")
    ok, bad = RouteKey("GET", "/api/ok", "2xx"), RouteKey("GET", "/api/fail", "5xx")
    rows = account(Counter({ok: 3, bad: 2}), Counter({ok: 3}), Counter({ok: 3, bad: 2}), Counter({ok: 3, bad: 2}))
    hist = (Counter({RouteKey("GET", "/api/ok", ANY): 3}), Counter({RouteKey("GET", "/api/ok", ANY): 3}))
    slo = SloMeasure("p95_ms", 500, "<=", 4.0, 3.0, 0.0, 10.0, 3, 3, "bucket")
    result = LoadResult(contract, run, rows, hist, [slo], 1.0, False, 5, html_path="load-prethrift.html")
    json_path, md_path = write_reports([result], tmp_path, "pytest prethrift.yaml --obsconf-load locust")
    data = json.loads(json_path.read_text())["contracts"]["prethrift.yaml"]
    assert not data["accounting"]["exact"]
    assert [r["agree"] for r in data["accounting"]["rows"]] == [False, True]
    md = md_path.read_text()
    assert "Command: `pytest prethrift.yaml --obsconf-load locust`" in md
    assert "| GET | /api/fail | 5xx | 2 | 0 | 2 | 2 | **no** |" in md
    assert "| p95_ms | <= 500 | 4.0 ms | 3.0 ms | [0.0 ms, 10.0 ms] | yes | yes | yes |" in md
    assert render_markdown([], "x").startswith("# Conformance under load")
