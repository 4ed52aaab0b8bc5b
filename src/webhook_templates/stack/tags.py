"""Tags: the three every resource carries from parameters, and the deploy-time stack tags.

``Environment``, ``Team`` and ``CostCenter`` are in the template (their values
are parameters).  Every other tag is a CloudFormation stack tag, sent by
``deploy`` (CloudFormation propagates stack tags to every resource that
supports tags); rendering never bakes one in, so what ``render`` writes and
what ``deploy`` sends cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping

from troposphere import Ref, Tags

from ..config import EnvironmentConfig, validate_tag


def resource_tags() -> Tags:
    """``Environment``, ``Team`` and ``CostCenter``, from the parameters of the same names."""
    return Tags(
        Environment=Ref("Environment"),
        Team=Ref("Team"),
        CostCenter=Ref("CostCenter"),
    )


def stack_tags(environment: EnvironmentConfig, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The stack tags of one deploy: the environment's ``tags``, then ``extra`` (``--tags``), which wins.

    Sorted by key, so two deploys of the same inputs send the same list.
    """
    merged = {**environment.tags, **(extra or {})}
    for key, value in merged.items():
        validate_tag(key, value)
    return dict(sorted(merged.items()))


def as_cloudformation(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``[{"Key": ..., "Value": ...}]``, as ``CreateChangeSet``'s ``Tags`` takes them."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]
