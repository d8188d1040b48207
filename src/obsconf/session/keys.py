"""The pytest stash keys shared by the plugin and the collection nodes (a module of its own, so that
neither imports the other)."""

from __future__ import annotations

from typing import Any

import pytest

#: the session's :class:`obsconf.session.runtime.SessionRuntime`
RUNTIME = pytest.StashKey[Any]()
