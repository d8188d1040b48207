"""The run summary page in a real browser (headless Chromium): a broken run's failing cases are on screen.

Paired, never absolute: the same page with every case passing is the control for the screenshot's colours.
"""

from __future__ import annotations

import copy
from pathlib import Path

from obsconf.report.html import Image, render_html
from tests.report.browser import colour_share, dump_dom, screenshot
from tests.report.sample import FAILED_IDS, PNG, broken_run_document

FAIL_RED = (180, 35, 24)  # --fail in the page's CSS (#b42318)


def _passing(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for body in doc["contracts"].values():
        for c in body["checks"]:
            c["outcome"], c["findings"], c["message"] = "passed", [], ""
        body["passed"], body["failed"] = len(body["checks"]), 0
    return doc


def test_failing_cases_of_a_broken_run_are_visible_in_chromium(tmp_path: Path) -> None:
    doc = broken_run_document()
    page = tmp_path / "conformance.html"
    page.write_text(render_html(doc, images=[Image("overhead_latency.png", PNG, "Latency A vs B")]), encoding="utf-8")

    dom = dump_dom(page, tmp_path / "profile-dom")
    assert "<title>obsconf conformance: 3 of 7 cases failed</title>" in dom
    failures = dom.index('id="failures"')
    for case_id in FAILED_IDS:
        card = dom.index(f'id="case-{case_id}"')
        assert card > failures and card < dom.index('id="contract-')
    assert dom.count('class="finding"') == 4
    assert 'href="http://127.0.0.1:16686/trace/' in dom and "Open in Jaeger" in dom
    assert 'src="data:image/png;base64,' in dom

    broken_png = screenshot(page, tmp_path / "broken.png", tmp_path / "profile-shot")
    calm = tmp_path / "passing.html"
    calm.write_text(render_html(_passing(doc)), encoding="utf-8")
    passing_png = screenshot(calm, tmp_path / "passing.png", tmp_path / "profile-shot2")

    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(broken_png) as img:
        assert img.size == (1400, 2000)
        assert len(np.unique(np.asarray(img.convert("L")))) > 20  # not a blank page
    # The first screen (top 1000 px) of the broken run shows the failure red; the passing run's shows none.
    top = (0, 0, 1400, 1000)
    red_broken, red_passing = colour_share(broken_png, FAIL_RED, top), colour_share(passing_png, FAIL_RED, top)
    assert red_broken > 0.002 and red_broken > 20 * red_passing, (red_broken, red_passing)
