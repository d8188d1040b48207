"""Each fault scenario fails against a reference service broken on purpose (``tests.faults.broken``).

Real runs on a process stack of their own (about 80 s in all): the scenario, the proxies, the fault and the
readers are the conformance suite's own code; only the service process is the patched one. The unbroken
reference passing the same scenarios is ``conformance/test_faults.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from obsconf.faults import run_scenario, scenario

pytestmark = [pytest.mark.slow, pytest.mark.stack, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]

# (scenario, broken variant, what the verdict must say). Outages are shortened to 3 s: enough to open a
# breaker, overflow a 150-line buffer and show a burst of retries.
PROOFS = [
    ("syncd-loki-outage", "no-backoff", "retries without exponential backoff"),
    ("syncd-pocketbase-outage", "no-backoff", "retries without exponential backoff"),
    ("syncd-pocketbase-overflow", "silent-drop", "lost silently"),
    ("syncd-otlp-outage", "hanging-shutdown", "did not exit and was killed"),
    ("persist-s3-slow", "blocking-io", "leaks into request handling"),
    ("syncd-logs-slow", "sync-shipping", "leaks into request handling"),
    ("syncd-loki-hang", "uncounted-resend", "without being counted"),
]


@pytest.fixture(scope="module")
def process_stack() -> Iterator[object]:
    from obsconf.settings import Settings
    from obsconf.stack import start_stack

    stack = start_stack(Settings.from_env(stack="process"), progress=lambda line: None)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.parametrize(("scenario_id", "variant", "expected"), PROOFS,
                         ids=[f"{s}-{v}" for s, v, _ in PROOFS])
def test_broken_variant_is_caught(scenario_id: str, variant: str, expected: str, process_stack: object,
                                  tmp_path: Path) -> None:
    sc = scenario(scenario_id)
    if sc.fault == "down" and sc.dependency != "otlp":
        sc = replace(sc, fault_s=3.0)
    env = {"OBSCONF_BROKEN": variant,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    result = run_scenario(sc, process_stack, log_dir=tmp_path, module="tests.faults.broken", env=env)
    assert any(expected in p for p in result.problems), (
        f"{scenario_id} with {variant!r} should report {expected!r}; verdict: {result.problems}\n{result.notes}")
