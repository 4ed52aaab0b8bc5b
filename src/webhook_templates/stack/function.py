"""The Lambda function ``webhook-processor-<env>``, its role, published version and ``live`` alias.

API Gateway invokes the alias, never ``$LATEST``: what serves traffic is always
an immutable published version, and CodeDeploy moves the alias from one
version to the next (``rollout.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from troposphere import GetAtt, If, NoValue, Ref, Sub, awslambda, encode_to_dict, iam
from troposphere.policies import CodeDeployLambdaAliasUpdate, UpdatePolicy

from . import naming, parameters, policies, skips
from .encryption import KEY_SERVICES, key_arn
from .handler_artifact import HANDLER, HandlerArtifact
from .secrets import signing_secret_arn
from .skips import checkov_skips
from .storage import deliveries_table_arn, deliveries_table_name, table_arn, table_name


class LoggingConfig(awslambda.LoggingConfig):  # type: ignore[misc]  # troposphere is untyped
    """troposphere 4.x omits ``LogFormat``, which CloudFormation supports; JSON needs it."""

    props = {**awslambda.LoggingConfig.props, "LogFormat": (str, False)}


def function_role() -> iam.Role:
    """``webhook-lambda-role-<env>``: exactly what the handler does, nothing AWS-managed."""
    return iam.Role(
        naming.ROLE_ID,
        RoleName=naming.per_environment(naming.ROLE),
        AssumeRolePolicyDocument=policies.assumable_by("lambda.amazonaws.com"),
        PermissionsBoundary=policies.permissions_boundary(),
        Policies=[
            iam.Policy(
                PolicyName="webhook-processor",
                PolicyDocument=policies.document(
                    policies.write_deliveries(table_arn(), deliveries_table_arn()),
                    policies.read_delivery_markers(deliveries_table_arn()),
                    policies.read_legacy_markers(table_arn()),
                    policies.read_signing_secret(signing_secret_arn()),
                    policies.use_encryption_key(key_arn(), *KEY_SERVICES),
                    policies.write_own_logs(naming.log_group_arn(naming.FUNCTION_LOG_GROUP)),
                    policies.write_traces(),
                ),
            )
        ],
    )


def webhook_function(handler: HandlerArtifact) -> awslambda.Function:
    """The webhook processor, its code inlined from ``handler`` (``handler/app.py``).

    arm64 because it is cheaper per GB-second and the handler is pure Python.
    The environment holds names and ARNs only; the signing secret is fetched at
    cold start from Secrets Manager, never placed in the environment.
    """
    return awslambda.Function(
        naming.FUNCTION_ID,
        Metadata=checkov_skips(skips.DEAD_LETTER_QUEUE, skips.VPC),
        FunctionName=naming.per_environment(naming.FUNCTION),
        Description="Transaction webhooks",
        Runtime=Ref("LambdaRuntime"),
        Architectures=["arm64"],
        Handler=HANDLER,
        Code=awslambda.Code(ZipFile=handler.inline_code()),
        MemorySize=Ref("LambdaMemorySize"),
        Timeout=Ref("LambdaTimeout"),
        ReservedConcurrentExecutions=If(
            parameters.HAS_RESERVED_CONCURRENCY, Ref("ReservedConcurrency"), NoValue
        ),
        Role=GetAtt(naming.ROLE_ID, "Arn"),
        KmsKeyArn=key_arn(),
        Environment=awslambda.Environment(
            Variables={
                "TABLE_NAME": table_name(),
                "DELIVERIES_TABLE_NAME": deliveries_table_name(),
                "DELIVERY_RETENTION_DAYS": Ref("DeliveryRetentionDays"),
                "SIGNING_SECRET_ARN": signing_secret_arn(),
                "ENVIRONMENT": Ref("Environment"),  # the delivery metrics' dimension
            }
        ),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        SnapStart=If(parameters.USE_SNAP_START, awslambda.SnapStart(ApplyOn="PublishedVersions"), NoValue),
        LoggingConfig=LoggingConfig(
            LogFormat="JSON",
            LogGroup=Ref(naming.FUNCTION_LOG_GROUP_ID),
            ApplicationLogLevel="INFO",
            SystemLogLevel="WARN",
        ),
    )


#: Parameters the function reads that a published version does not capture:
#: reserved concurrency belongs to the function, and the environment name is
#: fixed for a stack's life.
_NOT_VERSIONED = frozenset({"ReservedConcurrency", "Environment"})
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def _parameters_read(node: Any, names: frozenset[str], conditions: dict[str, Any]) -> list[str]:
    """The parameters in ``names`` that ``node`` (template data) reads, in order of appearance.

    An ``Fn::If`` reads what its condition reads, too (SnapStart's ``UseSnapStart``).
    """
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("Ref"), str):
            found.append(node["Ref"])
        sub = node.get("Fn::Sub")
        if isinstance(sub, (str, list)):
            found += _SUB_VARIABLE.findall(sub if isinstance(sub, str) else sub[0])
        if isinstance(node.get("Fn::If"), list):
            found += _parameters_read(conditions[node["Fn::If"][0]], names, conditions)
        for value in node.values():
            found += _parameters_read(value, names, conditions)
    elif isinstance(node, list):
        for value in node:
            found += _parameters_read(value, names, conditions)
    return [name for name in dict.fromkeys(found) if name in names]


def function_version(function: awslambda.Function) -> awslambda.Version:
    """A published version of ``function``; a new one for every new code or configuration.

    The logical ID carries a hash of the function's whole definition (code and
    every property), so a template change publishes a new version under a new
    ID.  Configuration that arrives as parameter values (runtime, memory,
    timeout, SnapStart, the secret's ARN) cannot change the template, so the
    description carries those values: a changed value changes the description,
    and CloudFormation replaces a version whose description changes.  Nothing
    else creates one, so an unrelated change (throttling, alarms) keeps it.
    """
    # Tags and checkov's metadata are not part of a version: changing them must
    # not start a canary.
    definition = {key: value for key, value in function.to_dict()["Properties"].items() if key != "Tags"}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:10]
    names = frozenset(spec.key for spec in parameters.SPECS) - _NOT_VERSIONED
    conditions = encode_to_dict(parameters.conditions())
    values = " ".join(f"${{{name}}}" for name in _parameters_read(definition, names, conditions))
    return awslambda.Version(
        naming.VERSION_PREFIX + digest,
        FunctionName=Ref(function),
        Description=Sub(f"{digest} {values}"),
    )


def live_alias(version: awslambda.Version) -> awslambda.Alias:
    """``live``: what API Gateway invokes; CodeDeploy shifts it to each new version.

    ``CodeDeployLambdaAliasUpdate`` makes CloudFormation hand a change of the
    alias's version to the deployment group instead of switching it at once;
    the group shifts traffic by the environment's deployment preference and
    rolls back when a rollback alarm fires.  Provisioned concurrency, when
    the environment sets it, is the alias's (it follows the alias to each new
    version), so it changes neither the function nor its version.

    A pre-traffic check is an extension point: add a function that tests the
    new version and reports with
    ``codedeploy:PutLifecycleEventHookExecutionStatus``, name it in the update
    policy's ``BeforeAllowTrafficHook``, and grant the CodeDeploy role
    ``lambda:InvokeFunction`` on that function alone.
    """
    return awslambda.Alias(
        naming.ALIAS_ID,
        Name=naming.LIVE_ALIAS,
        FunctionName=Ref(naming.FUNCTION_ID),
        FunctionVersion=GetAtt(version, "Version"),
        ProvisionedConcurrencyConfig=If(
            parameters.HAS_PROVISIONED_CONCURRENCY,
            awslambda.ProvisionedConcurrencyConfiguration(ProvisionedConcurrentExecutions=Ref("ProvisionedConcurrency")),
            NoValue,
        ),
        UpdatePolicy=UpdatePolicy(
            CodeDeployLambdaAliasUpdate=CodeDeployLambdaAliasUpdate(
                ApplicationName=Ref(naming.CODEDEPLOY_APPLICATION_ID),
                DeploymentGroupName=Ref(naming.DEPLOYMENT_GROUP_ID),
            )
        ),
    )


def live_alias_arn() -> Ref:
    """The ``live`` alias's ARN, for the API integration and the invoke permission."""
    return Ref(naming.ALIAS_ID)
