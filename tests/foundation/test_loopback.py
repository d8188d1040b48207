"""The one loopback guard (obsconf.loopback): what counts as this machine, and the error a remote target gets."""

from __future__ import annotations

import pytest

from obsconf.errors import UsageError
from obsconf.loopback import ensure_loopback, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "localhost", "LOCALHOST", "::1", "[::1]",
                                  "::ffff:127.0.0.1"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["", None, "0.0.0.0", "::", "10.0.0.1", "example.com", "127.example.com",
                                  "localhost.example.com"])
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback(host)


def test_ensure_loopback_names_the_url() -> None:
    ensure_loopback("http://127.0.0.1:8000")
    with pytest.raises(UsageError, match="'http://10.0.0.1:80' is not a loopback address"):
        ensure_loopback("http://10.0.0.1:80")
    with pytest.raises(UsageError, match="has no host"):
        ensure_loopback("not a url")
