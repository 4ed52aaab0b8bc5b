"""The tags every taggable resource carries."""

from __future__ import annotations

from troposphere import Ref, Tags

from ..config import TemplateConfig


def resource_tags(config: TemplateConfig) -> Tags:
    """``Environment``, ``Team`` and ``CostCenter`` from parameters, then the config's own tags."""
    tags = Tags(
        Environment=Ref("Environment"),
        Team=Ref("Team"),
        CostCenter=Ref("CostCenter"),
    )
    return tags + Tags(**dict(config.extra_tags)) if config.extra_tags else tags

