"""Each contract fault scenario (and the shipper's retry case) fails against a reference service broken on
purpose (``tests.faults.broken``), run the way a user runs the suite on their own service.

Each proof is one real suite run in a subprocess: ``pytest --obsconf-contract <contract> --obsconf-target-cmd
"python -m tests.faults.broken ... --port {port}" -k <case>`` with ``OBSCONF_BROKEN=<variant>``. The scenario,
proxies, fault, readers and verdict are the suite's own; only the service process is the patched one. The
unbroken reference passing the same cases is ``pytest conformance -m faults``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.e2e.suite_run import BROKEN_ENV, CONTRACTS, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.stack, pytest.mark.faults]

# (contract, case, broken variant, what a finding must say)
PROOFS = [
    ("syncd", "syncd-retries-pocketbase_log_upload", "no-backoff", "retries without backoff"),
    ("syncd", "syncd-faults-pocketbase_overflow", "silent-drop", "lost silently"),
    ("syncd", "syncd-faults-otlp_outage_shutdown", "hanging-shutdown", "did not exit and was killed"),
    ("persist", "persist-faults-s3_slow", "blocking-io", "leaks into request handling"),
    ("syncd", "syncd-faults-logs_slow", "sync-shipping", "leaks into request handling"),
    ("syncd", "syncd-faults-loki_hang", "uncounted-resend", "stored more than once"),
]


@pytest.mark.parametrize(("contract", "case", "variant", "expected"), PROOFS, ids=[f"{c}-{v}" for _, c, v, _ in PROOFS])
def test_broken_variant_is_caught(contract: str, case: str, variant: str, expected: str, tmp_path: Path) -> None:
    command = shlex.join([sys.executable, "-m", "tests.faults.broken", "--profile", contract, "--port", "{port}"])
    run = run_suite([str(CONTRACTS / f"{contract}.yaml"), "--obsconf-stack=process",
                     "--obsconf-target-cmd", command, "-k", case], report_dir=tmp_path / "report",
                    env={**BROKEN_ENV, "OBSCONF_BROKEN": variant}, timeout=240)
    got = run.results.get(case)
    assert got is not None and got.outcome == "failed", run.describe([case])
    assert expected in got.message, f"{case} with {variant!r} should say {expected!r}:\n{got.message}"
