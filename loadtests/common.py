"""CommonUser: only the routes every reference profile serves (``--obsconf-profile common``, the default).

See ``_obsconf_common.py`` in this directory for how to run, select and scale these load tests.
"""

from __future__ import annotations

from _obsconf_common import ObsconfUser


class CommonUser(ObsconfUser):
    """``/api/ok``, ``/metrics``, ``/api/slow`` and ``/api/fail`` by weight; works against any profile."""

    profile = "common"
