"""Pure check of the seeds' overhead budgets against measurements (micro-benchmarks, A/B reports).

A budget with no measurement is a finding that says why it could not be measured: never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from obsconf.contract.kinds import BUDGET_KEYS
from obsconf.model import Finding


@dataclass(frozen=True)
class Measurement:
    """One budget's measured value, in the budget's unit, with its spread (``low``..``high``: IQR or CI)."""

    value: float
    low: float
    high: float
    how: str  # what was measured, and how often
    samples: int = 0


@dataclass(frozen=True)
class Unmeasurable:
    """Why a budget could not be measured for this target, and how to measure it."""

    reason: str


def _unit(key: str) -> str:
    return key.rsplit("_", 1)[-1].replace("percent", "%")


def check_budget(key: str, limit: float, got: Measurement | Unmeasurable | None, *, where: str = "budgets"
                 ) -> list[Finding]:
    """The median measurement of budget ``key`` is at most ``limit``."""
    if key not in BUDGET_KEYS:
        return [Finding("budgets", where, f"unknown budget {key!r}; known: {', '.join(BUDGET_KEYS)}")]
    unit = _unit(key)
    if got is None:
        return [Finding("budgets", where, f"budget {key} was not measured: no measurement was made for it",
                        expected=f"<= {limit:g} {unit}", actual="not measured")]
    if isinstance(got, Unmeasurable):
        return [Finding("budgets", where, f"budget {key} ({BUDGET_KEYS[key]}) cannot be measured for this target: "
                        f"{got.reason}", expected=f"<= {limit:g} {unit}", actual="not measured")]
    if got.value > limit:
        return [Finding("budgets", where, f"{key}: {got.value:.4g} {unit} (spread {got.low:.4g}..{got.high:.4g}) is "
                        f"over the seed's budget of {limit:g} {unit}; measured: {got.how}",
                        expected=f"<= {limit:g} {unit}", actual=f"{got.value:.4g} {unit}")]
    return []


def check_budgets(budgets: Mapping[str, float], measured: Mapping[str, Measurement | Unmeasurable], *,
                  where: str = "budgets") -> list[Finding]:
    """Every stated budget against its measurement; no budget stated is a finding (nothing was checked)."""
    if not budgets:
        return [Finding("budgets", where, "the contract states no budget, so none was checked",
                        expected="budgets", actual="none")]
    out: list[Finding] = []
    for key, limit in budgets.items():
        out += check_budget(key, limit, measured.get(key), where=where)
    return out
