"""One module per profile; each defines a :class:`~obsconf.reference.profiles.base.ProfileBase` subclass."""

from __future__ import annotations

import importlib

from obsconf.errors import UsageError
from obsconf.reference.config import PROFILES, ReferenceConfig
from obsconf.reference.profiles.base import ProfileBase

_CLASSES = {
    "persist": "PersistProfile",
    "syncd": "SyncdProfile",
    "aurum": "AurumProfile",
    "prethrift": "PrethriftProfile",
    "assistant": "AssistantProfile",
}


def build_profile(config: ReferenceConfig) -> ProfileBase:
    """Instantiate the profile named by ``config.profile`` (its module is imported on demand)."""
    if config.profile not in PROFILES:
        raise UsageError(f"unknown reference profile {config.profile!r}; choose one of {', '.join(PROFILES)}")
    module = importlib.import_module(f"obsconf.reference.profiles.{config.profile}")
    cls: type[ProfileBase] = getattr(module, _CLASSES[config.profile])
    return cls(config)
