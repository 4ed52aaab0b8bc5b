"""Resource names and logical IDs, kept in one place because users depend on them.

Physical names keep the old stack's promises (``transactions-<env>``,
``webhook-processor-<env>``); logical IDs are what the deploy guard and the
stack policy refer to.
"""

from __future__ import annotations

from troposphere import Sub

from ..metrics import API_5XX_ALARM_ID as API_5XX_ALARM_ID
from ..metrics import FUNCTION_ERRORS_ALARM_ID as FUNCTION_ERRORS_ALARM_ID

#: Stacks are named ``<STACK>-<env>``; their alarms and generated role names start with it too.
STACK = "webhook"
TABLE = "transactions"
#: Delivery markers: one per webhook-id, expiring after the retention (TTL).
DELIVERIES_TABLE = "webhook-deliveries"
FUNCTION = "webhook-processor"
ROLE = "webhook-lambda-role"
API = "webhook-api"
KEY_ALIAS = "alias/webhook-lambda"
SIGNING_SECRET = "webhook-signing-secret"
FUNCTION_LOG_GROUP = "/aws/lambda/webhook-processor"
ACCESS_LOG_GROUP = "/aws/apigateway/webhook-api"
#: The alias API Gateway invokes; CodeDeploy shifts it from version to version.
LIVE_ALIAS = "live"


def per_environment(prefix: str) -> Sub:
    """``<prefix>-<Environment>`` as a CloudFormation ``Fn::Sub``."""
    return Sub(f"{prefix}-${{Environment}}")


def log_group_arn(prefix: str) -> Sub:
    """ARN of the per-environment log group named ``<prefix>-<Environment>``."""
    return Sub(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}-${{Environment}}"
    )


#: The bundle's CloudFormation service role, and the permissions boundary it requires on every
#: role it creates (HANDOFF: The deploy role); environments name them as ``deploy_role`` and
#: ``permissions_boundary``.
DEPLOY_ROLE = "webhook-cloudformation-deploy"
PERMISSIONS_BOUNDARY = "webhook-permissions-boundary"

# Parameters that name IAM things of the account, turned into ARNs by ``iam_arn``.
DEPLOY_ROLE_PARAMETER = "DeployRole"
PERMISSIONS_BOUNDARY_PARAMETER = "PermissionsBoundary"


def iam_arn(kind: str, parameter: str) -> Sub:
    """The ARN of the IAM ``kind`` (``role``, ``policy``) of this account that ``parameter`` names."""
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/${{{parameter}}}")


# Logical IDs.
KEY_ID = "EncryptionKey"
KEY_ALIAS_ID = "EncryptionKeyAlias"
TABLE_ID = "TransactionsTable"
DELIVERIES_TABLE_ID = "DeliveriesTable"
SECRET_ID = "SigningSecret"
SECRET_POLICY_ID = "SigningSecretPolicy"
FUNCTION_LOG_GROUP_ID = "FunctionLogGroup"
ACCESS_LOG_GROUP_ID = "ApiAccessLogGroup"
ROLE_ID = "FunctionRole"
FUNCTION_ID = "WebhookFunction"
API_ID = "WebhookApi"
STAGE_ID = "ApiStage"
#: Prefix of the published version's logical ID; a hash of the function follows.
VERSION_PREFIX = "FunctionVersion"
ALIAS_ID = "LiveAlias"
CODEDEPLOY_APPLICATION_ID = "CodeDeployApplication"
DEPLOYMENT_GROUP_ID = "DeploymentGroup"
CODEDEPLOY_ROLE_ID = "CodeDeployRole"

#: The bundle's template of what is one per account and region, not one per environment: API
#: Gateway's CloudWatch Logs role and the account setting that points at it.  An administrator
#: deploys it once, as its own stack.
ACCOUNT_SETUP_TEMPLATE = "account-setup.json"
ACCOUNT_SETUP_STACK = f"{STACK}-account-setup"
LOGGING_ROLE_ID = "ApiGatewayLoggingRole"
API_ACCOUNT_ID = "ApiGatewayAccount"
#: What webhook stacks created when ``CreateApiGatewayAccountRole`` was ``true``, before it moved to
#: ``ACCOUNT_SETUP_TEMPLATE``.  Removing them from such a stack would leave every API of the account
#: without a logging role, so the deploy guard refuses it and the stack policy denies it until the
#: account setup is deployed.
MOVED_TO_ACCOUNT_SETUP: tuple[str, ...] = (LOGGING_ROLE_ID, API_ACCOUNT_ID)

#: Alarms that mean "this release is failing": CodeDeploy rolls a traffic shift
#: back on them, and deploy passes them to CloudFormation as rollback triggers.
#: Throttles and latency are load, not a faulty release, so they only notify.
ROLLBACK_ALARMS: tuple[str, ...] = (FUNCTION_ERRORS_ALARM_ID, API_5XX_ALARM_ID)

#: Resources that hold data or protect it: the deploy guard refuses to replace
#: or remove them, the stack policy denies it, and deleting the stack keeps them.
DATA_RESOURCES: tuple[str, ...] = (
    KEY_ID, TABLE_ID, DELIVERIES_TABLE_ID, SECRET_ID, FUNCTION_LOG_GROUP_ID, ACCESS_LOG_GROUP_ID,
)

#: Resource types that hold data (or the key that decrypts it): the deploy guard
#: refuses to lose a resource of these types under any logical ID, and the stack
#: policy denies it, so an edited copy of the template (another table, a bucket,
#: a global table instead of the table) is covered too.  Beyond what the template
#: has today, the types it could gain for the same data: a global table, replica
#: keys, buckets (exports, archives), queues and streams (buffered deliveries),
#: databases, file systems and backup vaults.  Every type the template retains on
#: deletion must be here (tests/test_data_guard.py checks it).
DATA_TYPES: tuple[str, ...] = (
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::KMS::Key",
    "AWS::KMS::ReplicaKey",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
    # Not data, but what keeps the secret's value from every other reader:
    # retained with it, and never to be dropped or swapped by an update.
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::Kinesis::Stream",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::EFS::FileSystem",
    "AWS::Backup::BackupVault",
)

#: Attributes that keep a data resource when the stack is deleted or the
#: resource replaced.
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
