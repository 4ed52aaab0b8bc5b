"""``permissions-boundary-policy.json``: the most any role of this stack can ever be allowed.

The deploy role creates a role, puts a policy on it or attaches one only while the role
carries this policy as its permissions boundary (``deploy_role.BOUNDARY_ARN``), and never
removes it.  A template deployed with the deploy role, however it is edited, then cannot
give one of the stack's roles more than this, which is what the template's own roles need:
the actions of their policies, on this stack's resources wherever the stack names them.
An account administrator creates the policy once, from this bundle (HANDOFF.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awacs.aws import Action, Allow, PolicyDocument, Statement

NAME = "permissions-boundary-policy.json"
#: The managed policy's name; environments name it as ``permissions_boundary``.
POLICY_NAME = "webhook-permissions-boundary"
#: Services whose actions the roles take on resources no stack name covers: an existing
#: signing secret (``signing_secret_arn``, possibly another account's), the key (generated
#: IDs) and X-Ray (no resource-level permissions).
UNNAMED_SCOPES: Mapping[str, tuple[str, ...]] = {
    "secretsmanager": ("arn:aws:secretsmanager:*:*:secret:*",),
    "kms": ("arn:aws:kms:*:*:key/*",),
    "xray": ("*",),
}


def role_actions(body: Mapping[str, Any]) -> dict[str, set[str]]:
    """Service -> the actions the template's role policies allow (every ``AWS::IAM::Role``)."""
    by_service: dict[str, set[str]] = {}
    for resource in body["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                actions = statement["Action"]
                for action in actions if isinstance(actions, list) else [actions]:
                    by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    return by_service


def boundary_policy(body: Mapping[str, Any], stack_scopes: Mapping[str, tuple[str, ...]]) -> PolicyDocument:
    """The boundary for ``body``'s roles: per service, their actions on ``stack_scopes`` (or ``UNNAMED_SCOPES``).

    ``stack_scopes`` are the deploy role's (``deploy_role.SCOPES``): this stack's resources in
    every environment.  A service in neither is an error, not a ``*``.
    """
    statements = []
    for service, actions in sorted(role_actions(body).items()):
        scope = UNNAMED_SCOPES.get(service) or stack_scopes.get(service)
        if not scope:
            raise ValueError(f"{NAME}: no resource scope for {service}, which a role of the template uses")
        statements.append(Statement(
            Sid=f"{service.title().replace('-', '')}ForStackRoles", Effect=Allow,
            Action=[Action(*action.split(":", 1)) for action in sorted(actions)], Resource=list(scope),
        ))
    return PolicyDocument(Version="2012-10-17", Statement=statements)
