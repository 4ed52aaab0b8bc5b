"""Tags are deploy-time stack tags: the template itself carries none.

CloudFormation propagates a stack's tags to every resource that supports tags,
so ``Environment``, ``Team`` and ``CostCenter`` (from the environment's name,
``team`` and ``cost_center``) and every other tag of the environment are sent
with the change set by ``deploy`` and by every handoff format, never baked
into the template: what ``render`` writes and what ``deploy`` sends cannot
disagree, and the template does not repeat the same three tags on every
resource (they cost more of CloudFormation's template-body limit than any
resource but the function).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..config import EnvironmentConfig, validate_tag


def required_tags(environment: EnvironmentConfig) -> dict[str, str]:
    """``Environment``, ``Team`` and ``CostCenter``: the tags every deploy of ``environment`` carries."""
    return {"Environment": environment.name, "Team": environment.team, "CostCenter": environment.cost_center}


def stack_tags(environment: EnvironmentConfig, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The stack tags of one deploy: the required three, the environment's ``tags``, then ``extra`` (``--tags``).

    The required three are reserved (neither ``tags`` nor ``--tags`` may set
    them).  Sorted by key, so two deploys of the same inputs send the same list.
    """
    merged = {**environment.tags, **(extra or {})}
    for key, value in merged.items():
        validate_tag(key, value)
    return dict(sorted({**merged, **required_tags(environment)}.items()))


def as_cloudformation(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``[{"Key": ..., "Value": ...}]``, as ``CreateChangeSet``'s ``Tags`` takes them."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]
