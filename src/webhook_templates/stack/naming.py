"""Resource names and logical IDs, kept in one place because users depend on them.

Physical names keep the old stack's promises (``transactions-<env>``,
``webhook-processor-<env>``); logical IDs are what the deploy guard and the
stack policy refer to.
"""

from __future__ import annotations

from troposphere import Sub

TABLE = "transactions"
FUNCTION = "webhook-processor"
ROLE = "webhook-lambda-role"
API = "webhook-api"
KEY_ALIAS = "alias/webhook-lambda"
SIGNING_SECRET = "webhook-signing-secret"
USAGE_PLAN = "webhook-usage-plan"
FUNCTION_LOG_GROUP = "/aws/lambda/webhook-processor"
ACCESS_LOG_GROUP = "/aws/apigateway/webhook-api"


def per_environment(prefix: str) -> Sub:
    """``<prefix>-<Environment>`` as a CloudFormation ``Fn::Sub``."""
    return Sub(f"{prefix}-${{Environment}}")


def log_group_arn(prefix: str) -> Sub:
    """ARN of the per-environment log group named ``<prefix>-<Environment>``."""
    return Sub(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}-${{Environment}}"
    )


# Logical IDs.
KEY_ID = "EncryptionKey"
KEY_ALIAS_ID = "EncryptionKeyAlias"
TABLE_ID = "TransactionsTable"
SECRET_ID = "SigningSecret"
SECRET_POLICY_ID = "SigningSecretPolicy"
FUNCTION_LOG_GROUP_ID = "FunctionLogGroup"
ACCESS_LOG_GROUP_ID = "ApiAccessLogGroup"
ROLE_ID = "FunctionRole"
FUNCTION_ID = "WebhookFunction"
API_ID = "WebhookApi"
STAGE_ID = "ApiStage"

#: Resources that hold data or protect it: the deploy guard refuses to replace
#: or remove them, the stack policy denies it, and deleting the stack keeps them.
DATA_RESOURCES: tuple[str, ...] = (
    KEY_ID, TABLE_ID, SECRET_ID, FUNCTION_LOG_GROUP_ID, ACCESS_LOG_GROUP_ID,
)

#: Attributes that keep a data resource when the stack is deleted or the
#: resource replaced.
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
