"""The one loopback guard: is a host (or a URL's host) on this machine? No name is resolved (DNS could leave
the machine), so a name other than ``localhost`` is simply not loopback.

Imports nothing heavy: the reference service, load generators and launchers all call it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from obsconf.errors import UsageError


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and any loopback address: 127.0.0.0/8, ``::1`` (brackets allowed) and
    IPv4-mapped loopback (``::ffff:127.0.0.1``)."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def ensure_loopback(base_url: str) -> None:
    """Refuse any target that is not on this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(base_url).hostname
    if host is None:
        raise UsageError(f"target URL {base_url!r} has no host; use e.g. http://127.0.0.1:8000")
    if not is_loopback(host):
        raise UsageError(f"target URL {base_url!r} is not a loopback address; obsconf only drives 127.0.0.1 or ::1")
