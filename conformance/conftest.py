"""This repository's conformance suite: the shipped contracts (``fixtures/contracts``), checked by the plugin.

Another repository needs none of this: the obsconf plugin collects any contract named with
``--obsconf-contract`` (or any ``*.obsconf.yaml`` file). This file only makes ``pytest conformance/`` mean
"every shipped contract" (``OBSCONF_CONTRACTS_DIR`` points it at another directory).
"""

from __future__ import annotations

import pytest

from obsconf.contract.loader import default_contract_paths
from obsconf.errors import ContractError


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--obsconf-contract") or config.getini("obsconf_contracts"):
        return
    try:
        config.option.obsconf_contract = [str(p) for p in default_contract_paths()]
    except ContractError as exc:
        raise pytest.UsageError(str(exc)) from None
