"""The Lambda function ``webhook-processor-<env>`` and its least-privilege role."""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, awslambda, iam

from ..config import TemplateConfig
from . import naming, parameters, policies, skips
from .encryption import KEY_SERVICES, key_arn
from .packaging import HANDLER, HandlerArtifact
from .secrets import signing_secret_arn
from .skips import checkov_skips
from .storage import table_arn, table_name
from .tags import resource_tags


class LoggingConfig(awslambda.LoggingConfig):  # type: ignore[misc]  # troposphere is untyped
    """troposphere 4.x omits ``LogFormat``, which CloudFormation supports; JSON needs it."""

    props = {**awslambda.LoggingConfig.props, "LogFormat": (str, False)}


def function_role(config: TemplateConfig) -> iam.Role:
    """``webhook-lambda-role-<env>``: exactly what the handler does, nothing AWS-managed."""
    return iam.Role(
        naming.ROLE_ID,
        RoleName=naming.per_environment(naming.ROLE),
        Description="Webhook processor: store transactions, read the signing secret, write logs and traces",
        AssumeRolePolicyDocument=policies.assumable_by("lambda.amazonaws.com"),
        Policies=[
            iam.Policy(
                PolicyName="webhook-processor",
                PolicyDocument=policies.document(
                    policies.write_transactions(table_arn()),
                    policies.read_delivery_markers(table_arn()),
                    policies.read_signing_secret(signing_secret_arn()),
                    policies.use_encryption_key(key_arn(), *KEY_SERVICES),
                    policies.write_own_logs(naming.log_group_arn(naming.FUNCTION_LOG_GROUP)),
                    policies.write_traces(),
                ),
            )
        ],
        Tags=resource_tags(config),
    )


def webhook_function(config: TemplateConfig, handler: HandlerArtifact) -> awslambda.Function:
    """The webhook processor, its code inlined from ``handler`` (``handler/app.py``).

    arm64 because it is cheaper per GB-second and the handler is pure Python.
    The environment holds names and ARNs only; the signing secret is fetched at
    cold start from Secrets Manager, never placed in the environment.
    """
    return awslambda.Function(
        naming.FUNCTION_ID,
        Metadata=checkov_skips(skips.DEAD_LETTER_QUEUE, skips.VPC),
        FunctionName=naming.per_environment(naming.FUNCTION),
        Description="Verifies, validates and stores transaction webhooks",
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
                "SIGNING_SECRET_ARN": signing_secret_arn(),
            }
        ),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        LoggingConfig=LoggingConfig(
            LogFormat="JSON",
            LogGroup=Ref(naming.FUNCTION_LOG_GROUP_ID),
            ApplicationLogLevel="INFO",
            SystemLogLevel="WARN",
        ),
        Tags=resource_tags(config),
    )


def function_arn() -> GetAtt:
    """The function's ARN, for the API integration and the invoke permission."""
    return GetAtt(naming.FUNCTION_ID, "Arn")
