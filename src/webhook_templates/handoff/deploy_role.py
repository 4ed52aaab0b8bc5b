"""``deploy-role-policy.json``: what a CloudFormation service role needs for this stack, and no more.

The actions are not chosen by hand: they are the
``handlers.{create,read,update,delete}.permissions`` of the CloudFormation
registry schema of every resource type the template uses (cfn-lint ships those
schemas), so a new resource type brings its permissions with it; less the
create/update permissions of properties the template does not set
(``FEATURE_PERMISSIONS``) and the item reads and writes no handler may have
(``NEVER_GRANTED``).  Each
service's actions are then scoped to the stack's own names
(``transactions-*``, ``webhook-processor-*``, ...) wherever the service has
resource-level permissions; the few actions that take no resource (creating a
key, listing, VPC lookups) get ``*`` as their resource, never as their action.
An action of a service with no scope here is an error, so a new service forces
a decision rather than a silent ``*``.

IAM and KMS actions get conditions on top (``iam_statements``,
``kms_statements``): an IAM or KMS grant on every resource of a kind (``*``,
``key/*``) would let the role pass, attach or use far more than this stack.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)

from ..config import EnvironmentConfig
from ..stack import naming
from ..stack.tags import required_tags
from . import permissions_boundary, templating

NAME = "deploy-role-policy.json"
#: The role name HANDOFF's commands create.
ROLE_NAME = naming.DEPLOY_ROLE
#: The name of the role's inline policy, which holds ``NAME``.
INLINE_POLICY_NAME = "webhook-stack"
#: The shell that creates the role.
CREATE_TEMPLATE = "create_deploy_role.sh.j2"
_REGION = "us-east-1"  # the registry schemas are the same in every commercial region for these types
#: ``read`` too: drift detection and resource import call it with the same role.
_HANDLERS = ("create", "read", "update", "delete")
_CHANGING, _KEEPING = ("create", "update"), ("read", "delete")
#: ``service:Action``; the schemas also list a few strings that are not IAM actions (``s3:REST.PUT.OBJECT``).
_IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


def _arn(service: str, resource: str, region: str = "*", account: str = "*") -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


#: Service -> the ARNs of this stack's resources of that service (every environment: ``<name>-*``).
SCOPES: Mapping[str, tuple[str, ...]] = {
    # ``/*``: the tables' streams, indexes and backups.
    "dynamodb": tuple(_arn("dynamodb", f"table/{table}-*{sub}")
                      for table in (naming.TABLE, naming.DELIVERIES_TABLE) for sub in ("", "/*")),
    "lambda": (_arn("lambda", f"function:{naming.FUNCTION}-*"),),
    "logs": (_arn("logs", f"log-group:{naming.FUNCTION_LOG_GROUP}-*"),
             _arn("logs", f"log-group:{naming.ACCESS_LOG_GROUP}-*")),
    "secretsmanager": (_arn("secretsmanager", f"secret:{naming.SIGNING_SECRET}-*"),),
    "cloudwatch": (_arn("cloudwatch", f"alarm:{naming.STACK}-*"),),  # alarms are named <stack>-<what>
    # The application is named like the function; its one deployment group is the alias's.
    "codedeploy": (_arn("codedeploy", f"application:{naming.FUNCTION}-*"),
                   _arn("codedeploy", f"deploymentgroup:{naming.FUNCTION}-*/*"),
                   _arn("codedeploy", "deploymentconfig:*")),
    "apigateway": tuple(f"arn:aws:apigateway:*::{path}" for path in (
        "/restapis", "/restapis/*", "/account", "/usageplans", "/usageplans/*", "/tags/*")),
    # Only for code or templates in S3: the bucket `webhook-templates deploy` uploads to.
    "s3": ("arn:aws:s3:::cfn-templates-*", "arn:aws:s3:::cfn-templates-*/*"),
    "kinesis": (_arn("kinesis", f"stream/{naming.TABLE}-*"),),
    "firehose": (_arn("firehose", f"deliverystream/{naming.STACK}-*"),),
}

#: Actions that take no resource ARN (or only ``*``), per the Service Authorization Reference.
UNSCOPED: frozenset[str] = frozenset({
    "kms:CreateKey", "kms:ListAliases", "codedeploy:StopDeployment",
    "logs:CreateLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy", "logs:DeleteResourcePolicy", "logs:DescribeIndexPolicies",
    "secretsmanager:GetRandomPassword",
    "cloudwatch:DescribeAlarms",
    "lambda:GetLayerVersion", "lambda:GetCodeSigningConfig", "lambda:PassCapacityProvider",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
    "elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets",
})


#: (resource type, property path) -> the create/update permissions its handler lists only for that
#: property.  They are granted only when some resource of the type sets the property: the handlers'
#: lists are the union over every property, and this template uses few (no VPC, file system, layer,
#: code signing, S3 code, table import, Kinesis stream, TTL, log group resource policy, ...).
FEATURE_PERMISSIONS: Mapping[tuple[str, str], frozenset[str]] = {
    ("AWS::Lambda::Function", "VpcConfig"): frozenset({
        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"}),
    ("AWS::Lambda::Function", "FileSystemConfigs"): frozenset({
        "elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"}),
    ("AWS::Lambda::Function", "Layers"): frozenset({"lambda:GetLayerVersion"}),
    ("AWS::Lambda::Function", "CodeSigningConfigArn"): frozenset({
        "lambda:GetCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig",
        "lambda:DeleteFunctionCodeSigningConfig"}),
    ("AWS::Lambda::Function", "CapacityProviderConfig"): frozenset({"lambda:PassCapacityProvider"}),
    ("AWS::Lambda::Function", "Code.S3Bucket"): frozenset({"s3:GetObject", "s3:GetObjectVersion"}),
    ("AWS::DynamoDB::Table", "ImportSourceSpecification"): frozenset({
        "dynamodb:ImportTable", "dynamodb:DescribeImport", "s3:GetObject", "s3:GetObjectMetadata", "s3:ListBucket",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
        "logs:PutLogEvents", "logs:PutRetentionPolicy"}),
    ("AWS::DynamoDB::Table", "KinesisStreamSpecification"): frozenset({
        "kinesis:DescribeStream", "kinesis:PutRecords", "dynamodb:EnableKinesisStreamingDestination",
        "dynamodb:DisableKinesisStreamingDestination", "dynamodb:UpdateKinesisStreamingDestination"}),
    ("AWS::DynamoDB::Table", "ResourcePolicy"): frozenset({
        "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"}),
    ("AWS::DynamoDB::Table", "ContributorInsightsSpecification"): frozenset({"dynamodb:UpdateContributorInsights"}),
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): frozenset({"dynamodb:UpdateTimeToLive"}),
    ("AWS::Logs::LogGroup", "ResourcePolicyDocument"): frozenset({
        "logs:PutResourcePolicy", "logs:DeleteResourcePolicy"}),
    ("AWS::Logs::LogGroup", "DataProtectionPolicy"): frozenset({"logs:PutDataProtectionPolicy"}),
    ("AWS::Logs::LogGroup", "FieldIndexPolicies"): frozenset({"logs:PutIndexPolicy", "logs:DeleteIndexPolicy"}),
    ("AWS::Logs::LogGroup", "BearerTokenAuthenticationEnabled"): frozenset({"logs:PutBearerTokenAuthentication"}),
    ("AWS::Logs::LogGroup", "DeletionProtectionEnabled"): frozenset({"logs:PutLogGroupDeletionProtection"}),
    ("AWS::SecretsManager::Secret", "ReplicaRegions"): frozenset({"secretsmanager:ReplicateSecretToRegions"}),
    ("AWS::CodeDeploy::DeploymentGroup", "OnPremisesTagSet"): frozenset({"codedeploy:RegisterOnPremisesInstance"}),
}
#: Listed by a handler, granted never.  Item reads and writes: CloudFormation manages a table's
#: definition, not its items, and whoever holds the role must not read or delete payment data (a
#: handler that ever needs one fails with AccessDenied naming it, rather than the role reading
#: transactions).  Replica management: only a global table has replicas.  And the actions the
#: Service Authorization Reference does not list (a grant of them would never match).
NEVER_GRANTED: frozenset[str] = frozenset({
    "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:AssociateTableReplica", "dynamodb:CreateTableReplica",
    "lambda:AssociateRuntimeAlias",
    # The boundary stays on the stack's roles once it is there (``iam_statements``).
    "iam:DeleteRolePermissionsBoundary",
})


def _sets(properties: Mapping[str, Any], path: str) -> bool:
    """Whether ``properties`` has the dotted property ``path``."""
    value: Any = properties
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return False
        value = value[name]
    return True


def unused_feature_permissions(body: Mapping[str, Any], resource_type: str) -> set[str]:
    """``FEATURE_PERMISSIONS`` of ``resource_type`` for the properties none of its resources in ``body`` sets."""
    properties = [resource.get("Properties", {}) for resource in body["Resources"].values()
                  if resource["Type"] == resource_type]
    features = {path: actions for (feature_type, path), actions in FEATURE_PERMISSIONS.items()
                if feature_type == resource_type}
    used = {action for path, actions in features.items() if any(_sets(p, path) for p in properties)
            for action in actions}
    return {action for actions in features.values() for action in actions} - used


def needed_permissions(body: Mapping[str, Any]) -> set[str]:
    """The actions the role gets for ``body``: each type's handler permissions less its unused features'.

    Only the create and update handlers' lists are trimmed: reading (drift, import) and deleting
    must work whatever a resource was once created with.
    """
    needed: set[str] = set()
    for resource_type in resource_types(body):
        changing = handler_permissions([resource_type], _CHANGING) - unused_feature_permissions(body, resource_type)
        needed |= changing | handler_permissions([resource_type], _KEEPING)
    return needed - NEVER_GRANTED


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


def handler_permissions(types: Iterable[str], handlers: Iterable[str] = _HANDLERS) -> set[str]:
    """The IAM actions CloudFormation's ``handlers`` (all by default) list for these types."""
    names = tuple(handlers)
    actions: set[str] = set()
    for resource_type in types:
        schema = handler_schema(resource_type).get("handlers", {})
        actions |= {action for name in names for action in schema.get(name, {}).get("permissions", [])}
    return {action for action in actions if _IAM_ACTION.match(action)}


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str], condition: Any = None) -> Statement:
    return Statement(
        Sid=sid, Effect=Allow,
        Action=[Action(*action.split(":", 1)) for action in sorted(actions)],
        Resource=list(resources),
        **({"Condition": Condition(condition)} if condition is not None else {}),
    )


# --- IAM: the stack's roles, each passed only to its own service -----------------------

#: The template's roles (logical ID) -> that role's ARN in any environment.
ROLE_ARNS: Mapping[str, str] = {
    naming.ROLE_ID: f"arn:aws:iam::*:role/{naming.ROLE}-*",
    # Unnamed roles get generated names, <stack>-<logical ID>-<suffix>, and the stacks are <STACK>-<env>.
    naming.CODEDEPLOY_ROLE_ID: f"arn:aws:iam::*:role/{naming.STACK}-*-{naming.CODEDEPLOY_ROLE_ID}-*",
}
#: The only managed policies the role may attach to the stack's roles: this account's own
#: ``webhook-*`` ones (the role cannot create any).  The template attaches none: its roles have
#: inline ``Policies`` and never an AWS-managed policy.  The role handler's schema lists
#: ``iam:AttachRolePolicy`` anyway, and unconditioned it would let a template attach
#: ``AdministratorAccess`` to a role that the role then passes to a function.
ATTACHABLE_POLICIES = f"arn:aws:iam::${{aws:PrincipalAccount}}:policy/{naming.STACK}-*"
#: The service-linked roles a handler may create: the DynamoDB table's schema lists
#: ``iam:CreateServiceLinkedRole`` (for features such as replicas; this table uses none), and
#: DynamoDB's service-linked roles are all for ``*.dynamodb.amazonaws.com`` principals.
SERVICE_LINKED_ROLE_SERVICES = ("*.dynamodb.amazonaws.com",)
_SERVICE_LINKED_ROLES = "arn:aws:iam::*:role/aws-service-role/*"
_PASS_ROLE, _ATTACH_POLICY, _CREATE_SERVICE_LINKED_ROLE = (
    "iam:PassRole", "iam:AttachRolePolicy", "iam:CreateServiceLinkedRole")
#: What gives a role permissions or sets its boundary: allowed only while the role carries
#: the bundle's boundary (``permissions_boundary.POLICY_NAME``), which then caps what any
#: policy put on the role can grant.
BOUNDED_ACTIONS = frozenset({"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"})
#: The boundary every role the deploy role creates or changes must carry, in the caller's account.
BOUNDARY_ARN = f"arn:aws:iam::${{aws:PrincipalAccount}}:policy/{permissions_boundary.POLICY_NAME}"


def role_services(body: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each role of ``body`` (logical ID) -> the services its trust policy lets assume it.

    Those are the services CloudFormation passes the role to (the function's role to Lambda,
    the deployment group's to CodeDeploy).  A role
    without an ARN in ``ROLE_ARNS``, or trusted by a service named through an intrinsic, is an
    error: either would leave ``iam:PassRole`` to guesswork.
    """
    services: dict[str, list[str]] = {}
    for logical_id, resource in sorted(body["Resources"].items()):
        if resource["Type"] != "AWS::IAM::Role":
            continue
        if logical_id not in ROLE_ARNS:
            raise ValueError(f"{NAME}: no ARN for the role {logical_id}: add it to deploy_role.ROLE_ARNS")
        trusted: set[str] = set()
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            principal = statement.get("Principal")
            named = principal.get("Service", []) if isinstance(principal, dict) else []
            for service in named if isinstance(named, list) else [named]:
                if not isinstance(service, str):
                    raise ValueError(f"{NAME}: the role {logical_id} trusts a service given as {service!r}; "
                                     "iam:PassedToService needs its name")
                trusted.add(service)
        services[logical_id] = sorted(trusted)
    return services


def pass_roles_to_their_services(services_by_role: Mapping[str, list[str]]) -> list[Statement]:
    """``iam:PassRole`` on each of the stack's roles (``role_services``), only to the service that role is for.

    Without ``iam:PassedToService`` the role could hand the function's role (which writes the
    transactions table and reads the signing secret) to any service that takes a role.
    """
    arns_by_service: dict[str, list[str]] = {}
    for logical_id, services in services_by_role.items():
        for service in services:
            arns_by_service.setdefault(service, []).append(ROLE_ARNS[logical_id])
    return [
        _statement(f"PassRoleTo{service.split('.')[0].title()}", [_PASS_ROLE], sorted(arns),
                   StringEquals("iam:PassedToService", service))
        for service, arns in sorted(arns_by_service.items())
    ]


def _carries_the_boundary() -> StringEquals:
    return StringEquals("iam:PermissionsBoundary", BOUNDARY_ARN)


def attach_only_account_policies(role_arns: Iterable[str]) -> Statement:
    """``iam:AttachRolePolicy`` on the stack's roles for ``ATTACHABLE_POLICIES`` only, on bounded roles."""
    return _statement("AttachOnlyAccountPoliciesToStackRoles", [_ATTACH_POLICY], role_arns,
                      [ArnLike("iam:PolicyARN", ATTACHABLE_POLICIES), _carries_the_boundary()])


def change_only_bounded_roles(actions: Iterable[str], role_arns: Iterable[str]) -> Statement:
    """Create a role, put a policy on it or set its boundary only with ``BOUNDARY_ARN`` as its boundary.

    Without it a template deployed with the role could give one of the stack's roles any
    permission and pass it to the function.  AWS's pattern for delegated role creation.
    """
    return _statement("ChangeOnlyRolesWithTheBoundary", actions, role_arns, _carries_the_boundary())


def create_service_linked_roles() -> Statement:
    """``iam:CreateServiceLinkedRole`` for ``SERVICE_LINKED_ROLE_SERVICES`` only."""
    return _statement("CreateDynamodbServiceLinkedRoles", [_CREATE_SERVICE_LINKED_ROLE], [_SERVICE_LINKED_ROLES],
                      StringLike("iam:AWSServiceName", list(SERVICE_LINKED_ROLE_SERVICES)))


def iam_statements(actions: set[str], body: Mapping[str, Any]) -> list[Statement]:
    """The IAM actions of ``actions``: managing the stack's roles, passing and attaching under conditions.

    Detaching (``iam:DetachRolePolicy``) stays unconditioned on the stack's roles: it only
    removes permissions, and deleting a role must detach whatever was attached to it.
    """
    services_by_role = role_services(body)
    role_arns = [ROLE_ARNS[logical_id] for logical_id in services_by_role]
    statements = pass_roles_to_their_services(services_by_role) if _PASS_ROLE in actions else []
    if _ATTACH_POLICY in actions:
        statements.append(attach_only_account_policies(role_arns))
    if _CREATE_SERVICE_LINKED_ROLE in actions:
        statements.append(create_service_linked_roles())
    if actions & BOUNDED_ACTIONS:
        statements.append(change_only_bounded_roles(actions & BOUNDED_ACTIONS, role_arns))
    managing = actions - {_PASS_ROLE, _ATTACH_POLICY, _CREATE_SERVICE_LINKED_ROLE} - BOUNDED_ACTIONS
    if managing:
        statements.append(_statement("IamOnThisStack", managing, role_arns))
    return statements


# --- KMS: the stack's key, through its own key policy ---------------------------
#
# Key IDs are generated, so no ARN names this stack's key before it exists.  Its key policy
# does: it names the deploy role (``DeployRole``, the environments' ``deploy_role``) beside the
# account, so administering and using the key are granted there, on this key alone, and this
# policy grants no action on an existing key.  Tagging another key with the stack's tag values
# therefore gains the role nothing, and KMS's lockout check at CreateKey passes on the key
# policy alone.
#
# Two grants cannot wait for the key policy, as the key does not exist yet: ``kms:CreateKey``,
# which takes no resource, and the ``kms:TagResource`` KMS checks for CreateKey's tags (the stack
# tags CloudFormation passes to it), on every key.  Both are conditioned on the request's tags.

#: The key tags whose values the creation grants require (the values come from the
#: environments).  Not ``Environment``: its value is an environment's name, and an
#: environment can be named at deploy time (``deploy --based-on``).
KEY_TAGS = ("Team", "CostCenter")
_KEYS = _arn("kms", "key/*")
_ALIASES = _arn("kms", f"{naming.KEY_ALIAS}-*")
_CREATE_KEY, _TAG_KEY = "kms:CreateKey", "kms:TagResource"
_ALIAS_ACTIONS = frozenset({"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"})
#: The services whose statements carry conditions: built by ``iam_statements`` and
#: ``kms_statements``, not from ``SCOPES``.
CONDITIONED_SERVICES = ("iam", "kms")
#: Resource-less actions that still get a condition, in their service's statements.
CONDITIONED_UNSCOPED = frozenset({_CREATE_KEY})
#: IAM and KMS actions left on ``*`` without a condition: read-only listings that take no
#: resource and whose one condition key (``kms:CallerAccount``) could only restate the account.
UNCONDITIONED_LISTINGS = frozenset({"kms:ListAliases"})


def key_tag_values(environments: Iterable[EnvironmentConfig]) -> dict[str, list[str]]:
    """Each of ``KEY_TAGS`` -> the values the stack's key gets in ``environments``, sorted.

    The key carries them as stack tags (``stack.tags.required_tags``), which CloudFormation
    passes to ``CreateKey``; no environment at all is an error, as the creation grants would
    then match no request and the first deploy would fail on its key.
    """
    values = {tag: sorted({required_tags(config)[tag] for config in environments}) for tag in KEY_TAGS}
    if any(not found for found in values.values()):
        raise ValueError(f"{NAME}: no environment gives the key a value for {', '.join(KEY_TAGS)}")
    return values


def _tags_are(context_key: str, tags: Mapping[str, list[str]]) -> StringEquals:
    """``<context_key>/<tag>`` is one of the tag's values, for every tag."""
    return StringEquals({f"{context_key}/{tag}": values for tag, values in tags.items()})


def create_tagged_keys(tags: Mapping[str, list[str]]) -> Statement:
    """``kms:CreateKey`` (which takes no resource) only for a key requested with these tags."""
    return _statement("CreateKeysWithStackTags", [_CREATE_KEY], ["*"], _tags_are("aws:RequestTag", tags))


def tag_keys_at_creation(tags: Mapping[str, list[str]]) -> Statement:
    """The ``kms:TagResource`` KMS checks for CreateKey's tags, only when the request carries these tags."""
    return _statement("TagKeysAtCreation", [_TAG_KEY], [_KEYS], _tags_are("aws:RequestTag", tags))


#: The key's own types: their handlers call KMS directly, not through another service, so the
#: key policy must grant their actions without a condition.
KEY_TYPES = ("AWS::KMS::Key", "AWS::KMS::Alias")


def _deploy_role_key_statements(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The template's key policy statements that allow the deploy role (their principal is ``${DeployRole}``'s)."""
    role = f"${{{naming.DEPLOY_ROLE_PARAMETER}}}"
    return [statement for resource in body["Resources"].values() if resource["Type"] in KEY_TYPES[:1]
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]
            if statement["Effect"] == "Allow" and role in json.dumps(statement["Principal"])]


def key_policy_grants(body: Mapping[str, Any], unconditioned: bool = False) -> set[str]:
    """The actions the template's key policies grant the deploy role (``unconditioned``: without a condition)."""
    granted: set[str] = set()
    for statement in _deploy_role_key_statements(body):
        if not (unconditioned and "Condition" in statement):
            actions = statement["Action"]
            granted |= set(actions if isinstance(actions, list) else [actions])
    return granted


def key_policy_sids(body: Mapping[str, Any]) -> list[str]:
    """The Sids of the key policy statements that allow the deploy role, for HANDOFF."""
    return [statement["Sid"] for statement in _deploy_role_key_statements(body)]


def kms_statements(actions: set[str], tags: Mapping[str, list[str]], body: Mapping[str, Any]) -> list[Statement]:
    """The KMS actions of ``actions`` that must be in this policy: creating a tagged key, and aliases.

    Every other one is the key policy's to grant (``key_policy_grants``), the key handlers' own
    without a condition; one it does not grant is an error, as the role would fail on it.
    """
    if any(not values for values in tags.values()):
        raise ValueError(f"{NAME}: no environment gives the key a value for {', '.join(KEY_TAGS)}")
    on_existing_keys = actions - {_CREATE_KEY}
    called_directly = on_existing_keys & handler_permissions(KEY_TYPES)
    missing = sorted((on_existing_keys - key_policy_grants(body))
                     | (called_directly - key_policy_grants(body, unconditioned=True)))
    if missing:
        raise ValueError(f"{NAME}: the key policy does not grant the deploy role {', '.join(missing)}: "
                         "add it to the key policy's statements (stack.policies), not to this policy")
    statements = []
    if _CREATE_KEY in actions:
        statements.append(create_tagged_keys(tags))
        if _TAG_KEY in actions:
            statements.append(tag_keys_at_creation(tags))
    if actions & _ALIAS_ACTIONS:  # an alias operation needs the alias (here) and the key (its key policy)
        statements.append(_statement("ManageStackAliases", actions & _ALIAS_ACTIONS, [_ALIASES]))
    return statements


def deploy_role_policy(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> PolicyDocument:
    """The service role's policy for ``body``: each service's actions on this stack's resources.

    ``environments`` (those the stack is deployed as) supply the key tag values
    (``key_tag_values``) that the KMS statements require.
    """
    needed = needed_permissions(body)
    unconditioned = needed & UNSCOPED - CONDITIONED_UNSCOPED
    by_service: dict[str, set[str]] = {}
    for action in needed - unconditioned:
        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    unknown = sorted(service for service in by_service if service not in (*SCOPES, *CONDITIONED_SERVICES))
    if unknown:
        raise ValueError(f"{NAME}: no resource scope for {', '.join(unknown)}: add it to deploy_role.SCOPES "
                         "(or its resource-less actions to UNSCOPED)")
    unchecked = sorted(action for action in unconditioned
                       if action.split(":", 1)[0] in CONDITIONED_SERVICES and action not in UNCONDITIONED_LISTINGS)
    if unchecked:
        raise ValueError(f"{NAME}: {', '.join(unchecked)} would be granted on * without a condition: "
                         "give it one (deploy_role.CONDITIONED_UNSCOPED)")
    statements: list[Statement] = []
    for service, actions in sorted(by_service.items()):
        if service == "iam":
            statements += iam_statements(actions, body)
        elif service == "kms":
            statements += kms_statements(actions, key_tag_values(environments.values()), body)
        else:
            statements.append(_statement(f"{service.title().replace('-', '')}OnThisStack", actions, SCOPES[service]))
    if unconditioned:
        statements.append(_statement("ActionsWithoutResourceLevelPermissions", unconditioned, ["*"]))
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
    """The AWS CLI commands that create the boundary and the role from this bundle's files (once per account)."""
    return templating.render(
        CREATE_TEMPLATE, role_name=ROLE_NAME, policy_name=INLINE_POLICY_NAME, policy_file=NAME,
        boundary_name=permissions_boundary.POLICY_NAME, boundary_file=permissions_boundary.NAME,
        trust_policy=json.dumps(_plain(trust_policy()), separators=(",", ":")),
    ).splitlines()
