"""Pure parts of the obsconf load tests: the loopback guard and profile selection.

Kept apart from Locust on purpose: importing Locust monkey-patches the whole process with gevent, so unit
tests import this module alone.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

ALLOW_REMOTE_ENV = "OBSCONF_ALLOW_REMOTE_HOST"
PROFILE_ENV = "OBSCONF_PROFILE"
DEFAULT_PROFILE = "common"
PROFILES = ("common", "persist", "syncd", "aurum", "prethrift", "assistant")


class RemoteHostRefused(Exception):  # noqa: N818 - reads as a sentence in the error
    """The target host is not on this machine and remote hosts were not allowed explicitly."""


def is_loopback_host(url: str) -> bool:
    """True when ``url``'s host is 127.0.0.0/8, ``localhost`` or ``::1``. No name is resolved (DNS could
    leave the machine); a name other than ``localhost`` is simply not loopback."""
    host = urlsplit(url if "://" in url else f"http://{url}").hostname
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(url: str, env: Mapping[str, str] = os.environ) -> None:
    """Raise :class:`RemoteHostRefused` unless ``url`` is loopback or remote hosts are allowed."""
    if is_loopback_host(url) or env.get(ALLOW_REMOTE_ENV) == "1":
        return
    raise RemoteHostRefused(
        f"refusing to send load to {url!r}: it is not a loopback address (127.0.0.1, localhost, [::1]). "
        f"If you own that host and mean it, set {ALLOW_REMOTE_ENV}=1."
    )


def select_profile(user_classes: list[Any], profile: str) -> list[Any]:
    """The user classes of ``profile`` among ``user_classes`` (by their ``profile`` attribute)."""
    return [u for u in user_classes if getattr(u, "profile", None) == profile]


