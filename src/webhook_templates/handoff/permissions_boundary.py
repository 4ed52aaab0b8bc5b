"""``permissions-boundary-policy.json``: the most any role of this stack can ever be allowed.

The deploy role creates a role, puts a policy on it or attaches one only while the role
carries this policy as its permissions boundary (``deploy_role.BOUNDARY_ARN``), and never
removes it.  A template deployed with the deploy role, however it is edited, then cannot
give one of the stack's roles more than this: the actions of the template's own role
policies, on this stack's resources (and the environments' existing signing secrets), the
key only through the services that encrypt with it.

What it cannot stop: whoever deploys a template controls the function's code and its role's
trust policy, and so the stack's own data; the boundary keeps that within the stack.
An account administrator creates the policy once, from this bundle (HANDOFF.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from awacs.aws import Action, Allow, Condition, PolicyDocument, Statement, StringLike

from ..config import EnvironmentConfig
from ..stack import naming
from ..stack.encryption import KEY_SERVICES

NAME = "permissions-boundary-policy.json"
#: The managed policy's name; environments name it as ``permissions_boundary``.
POLICY_NAME = naming.PERMISSIONS_BOUNDARY
#: Services whose resources no stack name covers: the key (generated IDs), used only through
#: the services in ``KEY_SERVICES`` (``CONDITIONS``), and X-Ray (no resource-level permissions).
UNNAMED_SCOPES: Mapping[str, tuple[str, ...]] = {
    "kms": ("arn:aws:kms:*:*:key/*",),
    "xray": ("*",),
}
#: Conditions a service's statement carries, whatever the role policies' own say.
CONDITIONS: Mapping[str, Any] = {
    "kms": StringLike("kms:ViaService", [f"{service}.*.amazonaws.com" for service in KEY_SERVICES]),
}


def _actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement["Action"]
    return list(actions) if isinstance(actions, list) else [actions]


def role_actions(body: Mapping[str, Any]) -> dict[str, set[str]]:
    """Service -> the actions the template's role policies allow (every ``AWS::IAM::Role``)."""
    by_service: dict[str, set[str]] = {}
    for resource in body["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow":
                    for action in _actions(statement):
                        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    return by_service


def existing_secrets(environments: Iterable[EnvironmentConfig]) -> list[str]:
    """The existing signing secrets the environments name (``signing_secret_arn``), which the function reads."""
    return sorted({config.signing_secret_arn for config in environments if config.signing_secret_arn})


def boundary_policy(body: Mapping[str, Any], stack_scopes: Mapping[str, tuple[str, ...]],
                    environments: Iterable[EnvironmentConfig]) -> PolicyDocument:
    """The boundary for ``body``'s roles: per service, their actions on ``stack_scopes`` (or ``UNNAMED_SCOPES``).

    ``stack_scopes`` are the deploy role's (``deploy_role.SCOPES``): this stack's resources in
    every environment; secrets also the ``environments``' existing ones.  A service in neither
    is an error, not a ``*``.
    """
    extra = {"secretsmanager": tuple(existing_secrets(environments))}
    statements = []
    for service, actions in sorted(role_actions(body).items()):
        scope = UNNAMED_SCOPES.get(service) or stack_scopes.get(service)
        if not scope:
            raise ValueError(f"{NAME}: no resource scope for {service}, which a role of the template uses")
        condition = {"Condition": Condition(CONDITIONS[service])} if service in CONDITIONS else {}
        statements.append(Statement(
            Sid=f"{service.title().replace('-', '')}ForStackRoles", Effect=Allow,
            Action=[Action(*action.split(":", 1)) for action in sorted(actions)],
            Resource=[*scope, *extra.get(service, ())], **condition,
        ))
    return PolicyDocument(Version="2012-10-17", Statement=statements)
