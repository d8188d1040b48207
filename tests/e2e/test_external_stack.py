"""`--obsconf-stack=external` against backends obsconf did not start for that run (a stack started here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from obsconf.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.stack]


def test_stack_round_trips_through_external_backends(tmp_path: Path) -> None:
    from obsconf.stack import start_stack

    with start_stack(Settings.from_env(stack="process"), progress=lambda _: None) as stack:
        e = stack.endpoints
        # Prometheus needs one healthy target for the external variant of the scrape test
        stack.add_scrape_target("self", e.prometheus_url.removeprefix("http://"))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/foundation/test_stack_roundtrip.py", "-q", "-p", "no:cacheprovider",
             "--obsconf-stack=external", f"--obsconf-jaeger-url={e.jaeger_query_url}",
             f"--obsconf-otlp-url={e.otlp_http_url}", f"--obsconf-prometheus-url={e.prometheus_url}",
             f"--obsconf-loki-url={e.logs_query_url}", "--obsconf-loki-dialect=logsql",
             f"--obsconf-pocketbase-url={e.pocketbase_url}",
             f"--obsconf-pocketbase-admin={e.pocketbase_admin_email}:{e.pocketbase_admin_password}",
             f"--obsconf-toxiproxy-url={e.toxiproxy_url}"],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # every round trip passes against the external URLs: none skipped, none left out
    tests = len(re.findall(r"^def test_", (ROOT / "tests/foundation/test_stack_roundtrip.py").read_text(), re.M))
    assert f"{tests} passed" in result.stdout, result.stdout[-3000:]
