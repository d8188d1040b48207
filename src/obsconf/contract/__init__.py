"""Contracts: what a service's logs, spans, metrics, retries, health, alerts and SLOs must look like.

One YAML file per seed in ``fixtures/contracts/``; :func:`load_contract` validates it and returns frozen
dataclasses (:mod:`obsconf.contract.model`).
"""

from obsconf.contract.loader import default_contract_paths, load_contract, load_contracts
from obsconf.contract.model import Contract

__all__ = ["Contract", "default_contract_paths", "load_contract", "load_contracts"]
