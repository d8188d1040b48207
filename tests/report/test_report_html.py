"""The run summary page, rendered from the JSON document alone: failures first with every finding's expected,
actual, query and link; every case; opt-outs with reasons; traceability and overhead when present."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from obsconf.cli import main
from obsconf.errors import UsageError
from obsconf.report.html import Image, render_html, write_html
from obsconf.report.summary import CheckResult, render_json, render_markdown
from tests.report.sample import FAILED_IDS, PNG, broken_run_document


class _Tags(HTMLParser):
    """Collects start tags with their attributes (well-formedness of what a browser parses)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_failures_come_first_with_expected_actual_query_and_link() -> None:
    page = render_html(broken_run_document())
    assert "<title>obsconf conformance: 3 of 7 cases failed</title>" in page
    failures = page.index('id="failures"')
    assert failures < page.index('id="contract-persist"')  # the failure cards before the full case lists
    for case_id in FAILED_IDS:
        assert f'id="case-{case_id}"' in page
        assert page.index(f'id="case-{case_id}"') > failures
    card = page[page.index('id="case-persist-spans-s3_upload"'):]
    card = card[: card.index("</article>")]
    assert "spans.parent" in card and "persist.yaml:42 spans.operations[3]" in card
    assert "Checks: span &#x27;s3_upload&#x27; arrives in Jaeger" in card
    assert '<dd class="value-expected"><code>save_snapshot</code>' in card
    assert '<dd class="value-actual"><code>[&quot;POST /snapshots&quot;]</code>' in card
    assert "GET http://127.0.0.1:16686/api/traces?service=persist" in card
    assert '<a href="http://127.0.0.1:16686/trace/' in card and "Open in Jaeger" in card
    prom = page[page.index('id="case-persist-metrics-persist_s3_errors_total_in_prometheus"'):]
    assert "Open in Prometheus" in prom[: prom.index("</article>")]
    logs = page[page.index('id="case-persist-logs-redaction"'):]
    assert "Open in the log store" in logs[: logs.index("</article>")]


def test_every_case_is_listed_with_verdict_and_description() -> None:
    doc = broken_run_document()
    page = render_html(doc)
    table = page[page.index('id="contract-persist"'):]
    for check in doc["contracts"]["persist"]["checks"]:
        assert f"<code>{check['case_id']}</code>" in table
    # a failed row links to its card; a passing row does not link anywhere
    assert '<a href="#case-persist-spans-s3_upload"><code>persist-spans-s3_upload</code></a>' in table
    assert '<a href="#case-persist-spans-save_snapshot">' not in table
    assert "not run" in page and "spans.semconv" in page and "the seed keeps http.status_code" in page


def test_untrusted_text_is_escaped_and_only_http_links_are_links() -> None:
    doc = broken_run_document()
    finding = doc["contracts"]["persist"]["checks"][1]["findings"][0]
    finding["message"] = "<script>alert(1)</script>"
    finding["link"] = "javascript:alert(1)"
    page = render_html(doc)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not [a for t, a in tags(page) if t == "a" and str(a.get("href", "")).startswith("javascript")]


def test_self_contained_no_script_no_external_resource() -> None:
    page = render_html(broken_run_document(), images=[Image("overhead_latency.png", PNG, "Latency")])
    found = tags(page)
    assert not [t for t, _ in found if t in ("script", "link", "iframe", "object", "embed")]
    for tag, attrs in found:
        for key in ("src", "href"):
            value = str(attrs.get(key) or "")
            assert not value or value.startswith(("#", "data:", "http://127.0.0.1")), (tag, key, value)
    assert "<style>" in page and "@import" not in page and "url(" not in page


def test_overhead_plots_embedded_as_data_uris_with_the_headline() -> None:
    overhead = {"created_utc": "2026-01-01T00:00:00Z", "config": {"profile": "persist", "rounds": 6},
                "comparison": {"cpu_us_per_request": {"diff_median": 88.4, "diff_ci_low": 80.1, "diff_ci_high": 97.0,
                                                      "pct_median": 31.2, "b_median": 283.0, "pairs": 6}}}
    page = render_html(broken_run_document(), images=[Image("overhead_latency.png", PNG, "Latency A vs B")],
                       overhead=overhead)
    section = page[page.index('id="overhead"'):]
    assert 'src="data:image/png;base64,' in section and "Latency A vs B" in section
    assert "88.4 µs CPU per request" in section and "95% CI 80.1 to 97.0" in section
    assert 'id="overhead"' not in render_html(broken_run_document())


def test_coverage_slot_renders_when_present() -> None:
    doc = broken_run_document()
    doc["coverage"] = {
        "persist": {"seed": "000_x.txt", "rows": [
            {"requirement": "S3 upload span under save_snapshot", "seed_lines": "l.117-124",
             "contract_path": "spans.operations[3]", "cases": ["persist-spans-s3_upload"], "status": "covered"},
            {"requirement": "local_file_write span", "seed_lines": "l.136", "cases": [], "status": "uncovered",
             "owner": "obsconf"},
        ]},
        "syncd": {"seed": "001_y.txt", "rows": [{"requirement": "x", "cases": ["syncd-logs-schema"], "status": "covered"}]},
    }
    page = render_html(doc)
    cov = page[page.index('id="coverage-persist"'):]
    cov = cov[: cov.index("</table>")]
    assert "seed requirement" in cov and "l.117-124" in cov and "owner" in cov  # extra keys become columns
    assert '<span class="badge failed">failed</span> <a href="#case-persist-spans-s3_upload">' in cov
    assert '<span class="badge failed">uncovered</span>' in cov and '<span class="badge passed">covered</span>' in cov
    assert 'id="contract-syncd"' in page and "no case ran" in page  # a seed with rows but no contract in this run


def test_all_passed_and_empty_documents() -> None:
    doc = broken_run_document()
    for body in doc["contracts"].values():
        for c in body["checks"]:
            c["outcome"], c["findings"] = "passed", []
        body["failed"] = 0
    page = render_html(doc)
    assert 'class="verdict pass"' in page and "all 7 cases passed" in page and 'id="failures"' not in page
    empty = render_html({"schema_version": 1, "contracts": {}})
    assert "no conformance case ran" in empty and 'class="verdict fail"' in empty


def test_render_json_carries_case_ids_descriptions_and_opt_outs_and_markdown_shows_them() -> None:
    results = [
        CheckResult("persist", "spans", "conformance/test_contracts.py::test_contract[persist-spans-x]", "failed", 0.1,
                    ({"check": "spans.present", "where": "w", "message": "m", "expected": "x", "actual": "absent",
                      "query": "", "link": ""},), case_id="persist-spans-x", describe="span 'x' arrives"),
    ]
    opt = {"persist": [{"check": "spans.semconv", "reason": "old names", "where": "persist.yaml:9 spans.semconv"}]}
    doc = json.loads(render_json(results, meta={"stack": "process"}, opt_outs=opt, coverage={"persist": {"rows": []}}))
    check = doc["contracts"]["persist"]["checks"][0]
    assert (check["case_id"], check["describe"]) == ("persist-spans-x", "span 'x' arrives")
    assert doc["contracts"]["persist"]["opt_outs"] == opt["persist"] and doc["coverage"] == {"persist": {"rows": []}}
    md = render_markdown(results, opt_outs=opt)
    assert "### `persist-spans-x` (spans)" in md and "Checks: span 'x' arrives" in md and "old names" in md


def test_write_html_and_the_report_command(tmp_path: Path) -> None:
    (tmp_path / "conformance.json").write_text(json.dumps(broken_run_document()))
    (tmp_path / "overhead_latency.png").write_bytes(PNG)
    (tmp_path / "overhead.json").write_text("{not json")  # a broken overhead report does not stop the page
    out = write_html(tmp_path / "conformance.json")
    assert out == tmp_path / "conformance.html" and "data:image/png;base64," in out.read_text()
    coverage = tmp_path / "coverage.json"
    coverage.write_text(json.dumps({"persist": {"rows": [{"requirement": "req-1", "cases": []}]}}))
    assert main(["report", "html", "--json", str(tmp_path / "conformance.json"), "-o", str(tmp_path / "x.html"),
                 "--coverage", str(coverage)]) == 0
    assert "req-1" in (tmp_path / "x.html").read_text()
    with pytest.raises(UsageError, match="run the conformance suite first"):
        write_html(tmp_path / "missing.json")
    assert main(["report", "html", "--json", str(tmp_path / "missing.json")]) == 2


def test_ids_in_the_page_are_unique() -> None:
    ids = re.findall(r' id="([^"]+)"', render_html(broken_run_document()))
    assert len(ids) == len(set(ids))
