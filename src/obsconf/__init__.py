"""obsconf: prove in CI that a service's logs, spans, metrics, retries and overhead meet a written spec.

The public API is small: the pytest plugin (fixtures and options, see :mod:`obsconf.plugin`), the
``obsconf`` command line, and the names below.
"""

from obsconf.errors import (
    BackendMissing,
    BackendNotReady,
    ContractError,
    ObsconfError,
    PortInUse,
    TargetUnreachable,
)
from obsconf.model import Finding

__version__ = "0.1.0"

__all__ = [
    "BackendMissing",
    "BackendNotReady",
    "ContractError",
    "Finding",
    "ObsconfError",
    "PortInUse",
    "TargetUnreachable",
    "__version__",
]
