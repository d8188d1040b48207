"""Load as the workload: a contract's Locust user class drives the service (``--obsconf-load locust``).

``runner.py`` runs the user class through Locust's library API (a local runner, or a master with workers
from ``worker.py``), recording every request with the W3C trace id it carried; ``collect.py`` reads what the
load left in every backend once arrivals settle, into the same ``Collected`` snapshot the cases read, plus
the per-signal counts of the cross-signal accounting (:mod:`obsconf.checks.accounting`) and the SLOs
measured twice (:mod:`obsconf.checks.load_slos`); ``report.py`` writes ``reports/load.{json,md}``.

Importing Locust monkey-patches the process with gevent, so nothing here imports it at module level; the
plugin imports it once, early (:func:`prepare`), when a session runs a load.
"""

from __future__ import annotations

import sys


def prepare() -> None:
    """Import Locust now: importing it monkey-patches the process with gevent, which must happen before
    ``urllib3``/``requests`` are imported (else creating an SSL context recurses forever) and before any
    thread starts. The plugin calls this before conftest files load; this module imports nothing else."""
    if "locust" in sys.modules:
        return
    if "urllib3" in sys.modules:
        from obsconf.errors import UsageError

        raise UsageError("--obsconf-load locust must import Locust (which patches the process with gevent) before "
                         "urllib3/requests are imported, but something imported them first (a conftest.py or a "
                         "plugin); run the load in its own pytest session, or import obsconf.load and call "
                         "obsconf.load.prepare() first")
    import warnings

    from gevent.monkey import MonkeyPatchWarning

    with warnings.catch_warnings():
        # pytest's own plugins (anyio's) import ssl first; gevent warns about TLS streams that are left
        # unpatched, which no obsconf reader or load uses (every server is plain HTTP on loopback)
        warnings.simplefilter("ignore", MonkeyPatchWarning)
        import locust  # noqa: F401
