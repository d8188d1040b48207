"""Proof that the overhead measurement and the gate work end to end, on the real reference service, with a
paired effect in ONE run and no absolute time anywhere.

The run has four variants, interleaved block by block: A (instrumented), B (off), bare (the calibration
request) and burn (A plus an injected CPU burn of k us, two bare requests, sized in the warm-up). Then:

* the burn of k us is measured as at least k minus the detection limit the run states;
* at a limit of "A's measured overhead + k/2" (from the same run), the gate passes A and fails burn.

The limit is in microseconds, not bare-request units: a noisy neighbour inflates a small request's CPU
the most, so a ratio to the bare request is the noisier figure, and this proof must hold on a busy machine.

Every number compared comes from this run, so a slower or noisier machine moves both sides together.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.measures]

BURN_BARE = 2.0  # the injected burn, in bare requests: its half, the margin, stays clear of the run's noise
# a third of B's capacity: A + the burn stays below saturation. (At a few percent of the capacity every request
# pays for waking an idle core, busier variants pay less of it, and a known burn reads up to a fifth smaller.)
SHORT_RUN = ["--profile", "persist", "--rounds", "12", "--round-seconds", "1", "--warmup-seconds", "1",
             "--capacity-seconds", "1", "--rate-fraction", "0.35", "--burn-bare", str(BURN_BARE), "--no-micro"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    out = tmp_path_factory.mktemp("gate-proof")
    proc = subprocess.run([sys.executable, "-m", "obsconf.overhead.runner", *SHORT_RUN, "--out-dir", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"overhead run failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads((out / "overhead.json").read_text()), out / "overhead.json", proc.stdout


def _gate(report: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "obsconf.overhead.gate", str(report), *argv],
                          capture_output=True, text=True, timeout=60)


def test_the_run_is_complete_and_states_its_limits(run: tuple[dict[str, Any], Path, str]) -> None:
    doc, path, stdout = run
    assert set(doc["variants"]) == {"A", "B", "bare", "burn"}
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in doc["rounds"])
    assert "detection limit" in stdout and "bare requests" in stdout
    assert doc["config"]["burn_us"] > 0 and "--burn-bare" in doc["config"]["burn_source"]
    assert (path.parent / "overhead.md").is_file() and (path.parent / "overhead_cpu_by_round.png").is_file()


def test_an_injected_burn_is_detected_within_the_stated_detection_limit(run: tuple[dict[str, Any], Path, str]
                                                                        ) -> None:
    doc, _, _ = run
    burn_us = doc["config"]["burn_us"]
    detected = doc["figures"]["burn_detected_us"]  # burn - A, paired by block
    print(f"burn of {burn_us} us measured as {detected['diff_median']:.1f} us, 95% CI [{detected['diff_ci_low']:.1f}, "
          f"{detected['diff_ci_high']:.1f}], detection limit {detected['detection_limit_abs']:.1f} us")
    assert detected["diff_median"] >= burn_us - detected["detection_limit_abs"], detected


def test_the_gate_passes_the_unmodified_service_and_fails_the_burn_at_the_same_limit(
        run: tuple[dict[str, Any], Path, str]) -> None:
    doc, path, _ = run
    unmodified = doc["comparison"]["cpu_us_per_request"]["diff_median"]  # A - B, this run
    limit = unmodified + doc["config"]["burn_us"] / 2  # "unmodified + margin": half-way to the burned service
    print(f"limit {limit:.1f} us: A - B {unmodified:.1f} us, burn {doc['config']['burn_us']} us")
    passed = _gate(path, "--max-overhead-us", f"{limit:.1f}")
    assert passed.returncode == 0, passed.stdout
    assert passed.stdout.startswith("GATE PASS")
    failed = _gate(path, "--max-overhead-us", f"{limit:.1f}", "--variant", "burn")
    assert failed.returncode == 1, failed.stdout
    assert failed.stdout.startswith("GATE FAIL")
