"""A malformed contract stops the suite with one clear usage error naming file, line and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.suite_run import CONTRACTS, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def test_malformed_contract_is_a_usage_error(tmp_path: Path) -> None:
    text = (CONTRACTS / "persist.yaml").read_text()
    assert "        size_bytes: integer\n" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("        size_bytes: integer\n", "        size_bytes: int\n", 1))
    line = text[: text.index("        size_bytes: integer\n")].count("\n") + 1
    run = run_suite(["conformance", "--obsconf-stack=process", "--obsconf-contract", str(bad)],
                    report_dir=tmp_path / "report", timeout=60)
    assert run.returncode == 4, run.describe()
    assert (f"invalid contract: {bad}:{line}: at spans.operations[0].attributes.size_bytes: 'int' is not allowed "
            f"here; use one of: string, integer") in run.output, run.output
    assert "Traceback" not in run.output and "conftest.py:" not in run.output, run.output
    assert "starting jaeger" not in run.output, "nothing may start before the contract is valid"
