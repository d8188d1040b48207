"""What a contract's workload sends, request by request (pure: the workload sends it, checks pair with it)."""

from __future__ import annotations

from collections.abc import Sequence

from obsconf.contract.model import RequestStep, Step


def expand_steps(steps: Sequence[Step]) -> list[Step]:
    """One entry per request that :func:`obsconf.workload.run.run_workload` sends (a step with ``repeat: 3``
    appears 3 times), so the n-th exchange answers the n-th entry."""
    out: list[Step] = []
    for step in steps:
        out += [step] * (step.repeat if isinstance(step, RequestStep) else 1)
    return out
