"""Fixtures of the examples' smoke tests: one process stack per module, the Go example built once."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from obsconf.settings import Settings
from obsconf.stack import Stack
from tests.examples.harness import EXAMPLES, Readers


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    from obsconf.stack import start_stack

    with start_stack(Settings.from_env(stack="process"), progress=lambda _: None) as started:
        yield started


@pytest.fixture(scope="module")
def readers(stack: Stack) -> Readers:
    return Readers(stack)


@pytest.fixture(scope="session")
def go_orders_built() -> str:
    """The go_orders binary (built, or taken from the cache keyed by its sources' hash)."""
    if shutil.which("go") is None:
        pytest.fail("examples/go_orders needs the Go toolchain (go 1.26, see go.mod) on PATH to build; install "
                    "it, or deselect with -k 'not go_orders'")
    done = subprocess.run(["bash", str(EXAMPLES / "go_orders" / "build.sh")], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"examples/go_orders/build.sh failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]
