"""The capabilities CloudFormation demands before it creates a template's stack.

One derivation, from the template itself: HANDOFF.md states it to the team
that deploys by hand, and ``webhook-templates deploy`` passes it to
``CreateChangeSet``, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: IAM resource properties that give a custom name, which needs CAPABILITY_NAMED_IAM.
IAM_NAME_PROPERTIES = ("RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName")


def required_capabilities(body: Mapping[str, Any]) -> list[str]:
    """The ``--capabilities`` CloudFormation will demand for the template ``body`` (plain data)."""
    iam = [r for r in body.get("Resources", {}).values() if str(r.get("Type", "")).startswith("AWS::IAM::")]
    capabilities = []
    if any(name in (r.get("Properties") or {}) for r in iam for name in IAM_NAME_PROPERTIES):
        capabilities.append("CAPABILITY_NAMED_IAM")
    elif iam:
        capabilities.append("CAPABILITY_IAM")
    if "Transform" in body:
        capabilities.append("CAPABILITY_AUTO_EXPAND")
    return capabilities
