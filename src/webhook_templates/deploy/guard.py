"""The data guard, as the deploy command uses it: the verdict and the stack policy.

The rules live one layer down, in ``handoff/guard_check.py``, because the handoff
bundle ships that module's source as its standalone ``guard-check.py``: a
pipeline deploying the bundle without this repository gets the same verdicts
and messages as ``webhook-templates deploy``.
"""

from __future__ import annotations

from ..handoff.guard_check import (
    DATA_RESOURCES,
    DATA_TYPES,
    LOSING_ACTIONS,
    REFUSED_HEADLINE,
    Danger,
    ResourceChange,
    allow_flags,
    dangers,
    is_data_resource,
    keeps_resource,
    refused,
    stack_policy,
    verdict,
)

__all__ = ["DATA_RESOURCES", "DATA_TYPES", "LOSING_ACTIONS", "REFUSED_HEADLINE", "Danger", "ResourceChange",
           "allow_flags", "dangers", "is_data_resource", "keeps_resource", "refused", "stack_policy", "verdict"]
