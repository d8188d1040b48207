"""End to end on real backends: the HTML page of a broken run shows its failures in Chromium, and the
semantic-conventions check flags the deprecated names of a service that uses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import SuiteRuns
from tests.e2e.suite_run import CONTRACTS, run_suite
from tests.e2e.test_broken_target import CASES
from tests.report.browser import dump_dom, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def _report_dir(argv: list[str]) -> Path:
    return Path(argv[argv.index("--obsconf-report-dir") + 1])


def test_broken_run_page_shows_every_expected_failure_in_chromium(suite_runs: SuiteRuns, tmp_path: Path) -> None:
    breaks, expected = CASES["persist"]
    run = suite_runs.cmd("persist", breaks)  # the same cached run test_broken_target reads
    page = _report_dir(run.argv) / "conformance.html"
    assert page.is_file(), run.describe()
    dom = dump_dom(page, tmp_path / "profile")
    failures = dom.index('id="failures"')
    first_contract = dom.index('id="contract-persist"')
    for case_id, checks in expected.items():
        card = dom.index(f'id="case-{case_id}"')
        assert failures < card < first_contract, case_id
        body = dom[card: dom.index("</article>", card)]
        for check in checks:  # each finding's check id, expected and actual are on the card
            assert f'<span class="check">{check}</span>' in body, (case_id, check)
        assert "expected</dt>" in body and "actual</dt>" in body and "Run it alone" in body
    shot = screenshot(page, tmp_path / "broken.png", tmp_path / "profile2")
    assert shot.stat().st_size > 50_000  # a rendered page of text and tables, not a blank window


def test_semconv_flags_the_deprecated_names_of_a_service_that_uses_them(tmp_path: Path) -> None:
    """The reference's assistant profile keeps the seed's old HTTP attribute names: with spans.semconv on, the
    case fails naming each with its replacement; the section the contract turns off is listed with its reason."""
    text = (CONTRACTS / "assistant.yaml").read_text(encoding="utf-8")
    start = text.index("  semconv:\n    enabled: false")
    end = text.index("\n\n", start)
    text = text[:start] + "  semconv: true" + text[end:]
    text = text.replace("\nmetrics:\n", "\nmetrics:\n  semconv: {enabled: false, reason: e2e shows an opt-out}\n"
                                        "  families:\n", 1)
    text = text[: text.index("\nload:\n")] + "\n" if "\nload:\n" in text else text  # its locustfile is relative
    contract = tmp_path / "assistant.yaml"
    contract.write_text(text, encoding="utf-8")
    report = tmp_path / "report"
    run = run_suite([str(contract), "--obsconf-stack=process", "-k", "assistant-spans-semconv"], report_dir=report, timeout=300)
    assert set(run.results) == {"assistant-spans-semconv"}, run.describe()
    got = run.results["assistant-spans-semconv"]
    assert got.outcome == "failed" and got.checks == {"spans.semconv.deprecated"}, run.describe()
    for old, new in (("http.status_code", "http.response.status_code"), ("http.method", "http.request.method"),
                     ("http.scheme", "url.scheme")):
        assert f"span attribute '{old}' is deprecated" in got.message and new in got.message, got.message
    page = (report / "conformance.html").read_text(encoding="utf-8")
    assert 'id="case-assistant-spans-semconv"' in page and "e2e shows an opt-out" in page
