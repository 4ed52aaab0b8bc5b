"""``deploy-role-policy.json``: what a CloudFormation service role needs for this stack, and no more.

The actions are not chosen by hand: they are the union of the
``handlers.{create,update,delete}.permissions`` of the CloudFormation registry
schema of every resource type the template uses (cfn-lint ships those
schemas), so a new resource type brings its permissions with it.  Each
service's actions are then scoped to the stack's own names
(``transactions-*``, ``webhook-processor-*``, ...) wherever the service has
resource-level permissions; the few actions that take no resource (creating a
key, listing, VPC lookups) get ``*`` as their resource, never as their action.
An action of a service with no scope here is an error, so a new service forces
a decision rather than a silent ``*``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from awacs.aws import Action, Allow, Policy, PolicyDocument, Principal, Statement

from ..stack import naming

NAME = "deploy-role-policy.json"
#: The role name HANDOFF's commands create.
ROLE_NAME = "webhook-cloudformation-deploy"
_REGION = "us-east-1"  # the registry schemas are the same in every commercial region for these types
_HANDLERS = ("create", "update", "delete")
#: ``service:Action``; the schemas also list a few strings that are not IAM actions (``s3:REST.PUT.OBJECT``).
_IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def _arn(service: str, resource: str, region: str = "*", account: str = "*") -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


#: Service -> the ARNs of this stack's resources of that service (every environment: ``<name>-*``).
SCOPES: Mapping[str, tuple[str, ...]] = {
    "dynamodb": (_arn("dynamodb", f"table/{naming.TABLE}-*"), _arn("dynamodb", f"table/{naming.TABLE}-*/*")),
    "lambda": (_arn("lambda", f"function:{naming.FUNCTION}-*"),),
    "iam": (
        f"arn:aws:iam::*:role/{naming.ROLE}-*",
        # The optional API Gateway logging role has a generated name: <stack>-ApiGatewayLoggingRole-<id>.
        "arn:aws:iam::*:role/webhook-*-ApiGatewayLoggingRole-*",
        f"arn:aws:iam::*:role/webhook-*-{naming.CODEDEPLOY_ROLE_ID}-*",  # generated too, for CodeDeploy
        "arn:aws:iam::*:role/aws-service-role/*",  # service-linked roles DynamoDB/Lambda may create
    ),
    "logs": (_arn("logs", f"log-group:{naming.FUNCTION_LOG_GROUP}-*"),
             _arn("logs", f"log-group:{naming.ACCESS_LOG_GROUP}-*")),
    "secretsmanager": (_arn("secretsmanager", f"secret:{naming.SIGNING_SECRET}-*"),),
    # Key IDs are generated, so keys cannot be told apart by name; the alias can.
    "kms": (_arn("kms", "key/*"), _arn("kms", f"{naming.KEY_ALIAS}-*")),
    "cloudwatch": (_arn("cloudwatch", "alarm:webhook-*"),),  # alarms are named <stack>-<what>
    # The application is named like the function; its one deployment group is the alias's.
    "codedeploy": (_arn("codedeploy", f"application:{naming.FUNCTION}-*"),
                   _arn("codedeploy", f"deploymentgroup:{naming.FUNCTION}-*/*"),
                   _arn("codedeploy", "deploymentconfig:*")),
    "apigateway": tuple(f"arn:aws:apigateway:*::{path}" for path in (
        "/restapis", "/restapis/*", "/account", "/usageplans", "/usageplans/*", "/tags/*")),
    # Only for code or templates in S3: the bucket `webhook-templates deploy` uploads to.
    "s3": ("arn:aws:s3:::cfn-templates-*", "arn:aws:s3:::cfn-templates-*/*"),
    "kinesis": (_arn("kinesis", f"stream/{naming.TABLE}-*"),),
    "firehose": (_arn("firehose", "deliverystream/webhook-*"),),
}

#: Actions that take no resource ARN (or only ``*``), per the Service Authorization Reference.
UNSCOPED: frozenset[str] = frozenset({
    "kms:CreateKey", "kms:ListAliases",
    "logs:CreateLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy", "logs:DeleteResourcePolicy", "logs:DescribeIndexPolicies",
    "secretsmanager:GetRandomPassword",
    "cloudwatch:DescribeAlarms",
    "lambda:GetLayerVersion", "lambda:GetCodeSigningConfig", "lambda:PassCapacityProvider",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets",
})


def resource_types(body: Mapping[str, Any]) -> list[str]:
    """Every resource type the template uses, sorted."""
    return sorted({resource["Type"] for resource in body["Resources"].values()})


def _registry_schemas() -> Path:
    """cfn-lint's shipped registry schemas, found without importing cfn-lint (about 1 s of imports)."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{NAME}: cfn-lint is not installed; its registry schemas are the source of the actions")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "schemas"


def handler_schema(resource_type: str) -> dict[str, Any]:
    """The registry schema of ``resource_type`` as cfn-lint ships it (its region index names the file)."""
    schemas = _registry_schemas()
    index = json.loads((schemas / "providers" / f"{_REGION}.json").read_text(encoding="utf-8"))
    if resource_type not in index:
        raise ValueError(f"{NAME}: cfn-lint has no registry schema for {resource_type}")
    schema: dict[str, Any] = json.loads((schemas / "resources" / f"{index[resource_type]}.json")
                                        .read_text(encoding="utf-8"))
    return schema


def handler_permissions(types: Iterable[str]) -> set[str]:
    """The IAM actions CloudFormation's handlers need to create, update and delete these types."""
    actions: set[str] = set()
    for resource_type in types:
        handlers = handler_schema(resource_type).get("handlers", {})
        actions |= {action for name in _HANDLERS for action in handlers.get(name, {}).get("permissions", [])}
    return {action for action in actions if _IAM_ACTION.match(action)}


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str]) -> Statement:
    return Statement(
        Sid=sid, Effect=Allow,
        Action=[Action(*action.split(":", 1)) for action in sorted(actions)],
        Resource=list(resources),
    )


def deploy_role_policy(body: Mapping[str, Any]) -> PolicyDocument:
    """The service role's policy for ``body``: each service's actions on this stack's resources."""
    needed = handler_permissions(resource_types(body))
    by_service: dict[str, set[str]] = {}
    for action in needed - UNSCOPED:
        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    unknown = sorted(service for service in by_service if service not in SCOPES)
    if unknown:
        raise ValueError(f"{NAME}: no resource scope for {', '.join(unknown)}: add it to deploy_role.SCOPES "
                         "(or its resource-less actions to UNSCOPED)")
    statements = [_statement(f"{service.title().replace('-', '')}OnThisStack", actions, SCOPES[service])
                  for service, actions in sorted(by_service.items())]
    if needed & UNSCOPED:
        statements.append(_statement("ActionsWithoutResourceLevelPermissions", needed & UNSCOPED, ["*"]))
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def trust_policy() -> PolicyDocument:
    """Who may assume the deploy role: CloudFormation only."""
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", ["cloudformation.amazonaws.com"]),
        Action=[Action("sts", "AssumeRole")],
    )])


def to_json(document: Policy) -> str:
    """A policy document as the file ``aws iam put-role-policy`` reads."""
    return json.dumps(_plain(document), indent=2) + "\n"


def _plain(document: Policy) -> dict[str, Any]:
    """The document as plain data (awacs renders JSON text)."""
    return dict(json.loads(document.to_json()))


def create_commands() -> list[str]:
    """The AWS CLI commands that create the role from this bundle's files (run once per account)."""
    trust = json.dumps(_plain(trust_policy()), separators=(",", ":"))
    return [
        f"aws iam create-role --role-name {ROLE_NAME} --assume-role-policy-document '{trust}'",
        f"aws iam put-role-policy --role-name {ROLE_NAME} --policy-name webhook-stack --policy-document file://{NAME}",
    ]
