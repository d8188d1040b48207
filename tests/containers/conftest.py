"""Markers of the container tests. `-m "not container"` deselects the ones that need an engine."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "container: needs a Docker-compatible engine (bash scripts/setup-podman) and the local images "
                   "(obsconf images build); fails, never skips, when the engine is missing")
