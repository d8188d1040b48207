"""A run summary document of a broken run, shaped as the plugin writes ``reports/conformance.json``."""

from __future__ import annotations

import base64
import json
from typing import Any

from obsconf.report.summary import CheckResult, render_json

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAFElEQVR4nGOUL9/CAANMDEgANwcAQOMBUm1wQEwAAAAASUVORK5CYII=")

FAILED_IDS = ("persist-spans-s3_upload", "persist-metrics-persist_s3_errors_total_in_prometheus",
              "persist-logs-redaction")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _finding(check: str, where: str, message: str, expected: Any, actual: Any, query: str, link: str) -> dict:
    return {"check": check, "where": where, "message": message, "expected": expected, "actual": actual,
            "query": query, "link": link}


def _result(profile: str, section: str, case_id: str, describe: str, findings: tuple[dict, ...] = (),
            message: str = "") -> CheckResult:
    return CheckResult(profile, section, f"conformance/test_contracts.py::test_contract[{case_id}]",
                       "failed" if findings or message else "passed", 0.42, findings,
                       message=message or ("; ".join(f["message"] for f in findings)), case_id=case_id,
                       describe=describe)


def broken_run_document() -> dict[str, Any]:
    """persist: three of five cases fail (span parent, metric labels, a secret in the logs); assistant passes."""
    results = [
        _result("persist", "spans", "persist-spans-save_snapshot",
                "span 'save_snapshot' arrives in Jaeger, a child of a server span, with key (string)"),
        _result("persist", "spans", "persist-spans-s3_upload",
                "span 's3_upload' arrives in Jaeger, a child of 'save_snapshot', with bucket (string)",
                (_finding("spans.parent", "persist.yaml:42 spans.operations[3]",
                          "span 's3_upload' must be a child of 'save_snapshot' (12 of 12 instances are not)",
                          "save_snapshot", ["POST /snapshots"],
                          "GET http://127.0.0.1:16686/api/traces?service=persist (+ /api/traces/<id> per X-Trace-Id)",
                          f"http://127.0.0.1:16686/trace/{TRACE}"),)),
        _result("persist", "metrics", "persist-metrics-persist_s3_errors_total_in_prometheus",
                "Prometheus scraped 'persist_s3_errors_total': its series exist with the contract's labels",
                (_finding("metrics.labels", "persist.yaml:128 metrics[1]",
                          "series of 'persist_s3_errors_total' carry the wrong label set",
                          ["error_type", "operation"], ["error_type", "instance", "job", "op"],
                          'persist_s3_errors_total{job="obsconf-persist"}',
                          "http://127.0.0.1:9090/graph?g0.expr=persist_s3_errors_total&g0.tab=1"),)),
        _result("persist", "logs", "persist-logs-redaction",
                "no secret in any line of the log store: none of the 1 canary secret the workload sends",
                (_finding("logs.redaction", "persist.yaml:61 logs.redaction",
                          "a canary secret the workload sent appears in 3 log lines", "no 'sk-o...' in any line",
                          '{"level":"INFO","message":"upload key=sk-o...","api_key":"sk-o..."}',
                          '{service_name="persist"}',
                          "http://127.0.0.1:9428/select/vmui/?query=%7Bservice_name%3D%22persist%22%7D"),
                 _finding("logs.redaction", "persist.yaml:61 logs.redaction",
                          "field 'password' is not masked in 1 log line", "[REDACTED]", "hunter2-canary",
                          '{service_name="persist"}', ""))),
        _result("persist", "workload", "persist-workload-expected_status",
                "each of the 9 workload requests answers its expected status"),
        _result("assistant", "metrics", "assistant-metrics-semconv",
                "metric names follow the OpenTelemetry semantic conventions"),
        _result("assistant", "health", "assistant-health-health",
                "GET /health answers 200 with a JSON body that fits the contract's schema"),
    ]
    opt_outs = {"assistant": [{"check": "spans.semconv", "where": "assistant.yaml:117 spans.semconv",
                               "reason": "the seed keeps http.status_code and the other older HTTP names"}]}
    meta = {"stack": "process", "target": "http://127.0.0.1:8123", "exit_status": 1}
    return json.loads(render_json(results, meta=meta, opt_outs=opt_outs))
