"""IAM and KMS policy documents, composed from statements named for their intent.

Every statement grants the narrowest action set on the narrowest resource the
workload allows.  The only ``*`` resource is X-Ray's, which has no resource-level
permissions.  ARNs are built with ``${AWS::Partition}`` so the template works in
GovCloud and China regions unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awacs.awslambda as awslambda
import awacs.cloudwatch as cloudwatch
import awacs.dynamodb as dynamodb
import awacs.kms as kms
import awacs.logs as logs
import awacs.secretsmanager as secretsmanager
import awacs.sts as sts
import awacs.xray as xray
from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Bool,
    Condition,
    Deny,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import GetAtt, If, Ref, Sub

from . import naming
from .parameters import HAS_DEPLOY_ROLE, HAS_PERMISSIONS_BOUNDARY

VERSION = "2012-10-17"
#: The account as a key policy principal: IAM reads an account ID as its ``:root`` ARN.
ACCOUNT_ID = Ref("AWS::AccountId")
#: The deploy role's ARN, from its name; ``arn:...:role/`` (no principal) when the name is empty.
DEPLOY_ROLE_ARN = naming.iam_arn("role", naming.DEPLOY_ROLE_PARAMETER)
#: ``aws:CalledViaLast`` of a request CloudFormation's resource handlers make (its forward
#: access session), with a service role or without.
CLOUDFORMATION = "cloudformation.amazonaws.com"


def document(*statements: Statement) -> PolicyDocument:
    """A policy document of ``statements``."""
    return PolicyDocument(Version=VERSION, Statement=list(statements))


def permissions_boundary() -> If:
    """Every role's ``PermissionsBoundary``: the managed policy ``PermissionsBoundary`` names, or none.

    The bundle's deploy role creates and changes roles only with the bundle's boundary on them, so a
    template it deploys cannot give a role more than the boundary allows.
    """
    return If(HAS_PERMISSIONS_BOUNDARY, naming.iam_arn("policy", naming.PERMISSIONS_BOUNDARY_PARAMETER),
              Ref("AWS::NoValue"))


# --- the function's role ---------------------------------------------------

def assumable_by(service: str) -> Policy:
    """Trust policy letting one AWS service assume the role, on behalf of this account only.

    ``aws:SourceAccount`` closes the cross-service confused deputy: the service
    cannot be made to assume this role for a resource in another account.
    ``aws:SourceArn`` is left out because neither Lambda (execution roles) nor
    API Gateway (the account's CloudWatch role) documents sending it there, and
    a condition on a key that is never sent would lock the service out.
    """
    return document(
        Statement(
            Sid="AssumedBy" + service.split(".")[0].capitalize(),
            Effect=Allow,
            Principal=Principal("Service", service),
            Action=[sts.AssumeRole],
            Condition=Condition(StringEquals("aws:SourceAccount", ACCOUNT_ID)),
        )
    )


def write_deliveries(transactions_arn: Any, deliveries_arn: Any) -> Statement:
    """Store a transaction and its delivery marker, each in its table (one ``TransactWriteItems``
    of two ``Put``s, ``PutItem`` on each table)."""
    return Statement(Sid="WriteDeliveries", Effect=Allow, Action=[dynamodb.PutItem],
                     Resource=[transactions_arn, deliveries_arn])


def read_delivery_markers(deliveries_arn: Any) -> Statement:
    """Read back a delivery marker to answer a retried delivery with its original response, and
    the table's creation time (``DescribeTable``), which ends the reading of older markers."""
    return Statement(Sid="ReadDeliveryMarkers", Effect=Allow, Action=[dynamodb.GetItem, dynamodb.DescribeTable],
                     Resource=[deliveries_arn])


def read_legacy_markers(transactions_arn: Any) -> Statement:
    """Check for, and read, a marker an earlier version left in the transactions table, so a
    redelivery straddling the upgrade is still a duplicate (``ConditionCheckItem``, ``GetItem``)."""
    return Statement(Sid="ReadLegacyMarkers", Effect=Allow, Action=[dynamodb.ConditionCheckItem, dynamodb.GetItem],
                     Resource=[transactions_arn])


def read_transaction_stream(stream_arn: Any, key_arn: Any) -> PolicyDocument:
    """What a consumer of the transaction stream needs (HANDOFF.md gives it): read the stream,
    and decrypt it with the stack's key, only through DynamoDB."""
    return document(
        Statement(Sid="ReadTransactionStream", Effect=Allow,
                  Action=[dynamodb.DescribeStream, dynamodb.GetRecords, dynamodb.GetShardIterator],
                  Resource=[stream_arn]),
        # Lambda's event source mapping lists streams too; IAM takes no resource for that.
        Statement(Sid="ListStreams", Effect=Allow, Action=[dynamodb.ListStreams], Resource=["*"]),
        Statement(Sid="DecryptTransactionStream", Effect=Allow, Action=[kms.Decrypt], Resource=[key_arn],
                  Condition=Condition(StringEquals("kms:ViaService", "dynamodb.<region>.amazonaws.com"))),
    )


def write_own_logs(log_group_arn: Any) -> Statement:
    """Write log events into the function's own (pre-created) log group only.

    ``log_group_arn`` is the group's ARN without the ``:*`` suffix that
    ``GetAtt LogGroup.Arn`` carries.
    """
    return Statement(
        Sid="WriteOwnLogs",
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents],
        Resource=[Sub("${Arn}:log-stream:*", Arn=log_group_arn)],
    )


def use_encryption_key(key_arn: Any, *services: str) -> Statement:
    """Decrypt the environment and the secret, and encrypt with the stack's key, only through ``services``.

    The key policy demands the same; saying it here too keeps the role's grant
    meaningful on its own, should the key policy ever be widened.
    """
    return Statement(
        Sid="UseEncryptionKey", Effect=Allow, Action=[kms.Decrypt, kms.GenerateDataKey], Resource=[key_arn],
        Condition=Condition(_through_services(services)),
    )


def read_signing_secret(secret_arn: Any) -> Statement:
    """Fetch the webhook signing secret."""
    return Statement(
        Sid="ReadSigningSecret", Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=[secret_arn]
    )


def write_traces() -> Statement:
    """Send X-Ray segments.  X-Ray has no resource-level permissions, hence ``*``."""
    return Statement(
        Sid="WriteTraces",
        Effect=Allow,
        Action=[xray.PutTraceSegments, xray.PutTelemetryRecords],
        Resource=["*"],
    )


# --- API Gateway's account-level logging role -----------------------------------

def push_api_gateway_logs(*log_group_prefixes: str) -> Statement:
    """Deliver API Gateway's logs into log groups whose names start with ``log_group_prefixes``.

    Only the writing half of the AWS-managed ``AmazonAPIGatewayPushToCloudWatchLogs``:
    its ``GetLogEvents`` and ``FilterLogEvents`` would let API Gateway read any
    log group, and ``DescribeLogGroups`` is only grantable on ``*``.  The role is
    the whole account and region's, so the prefixes are those of every API's
    execution logs and of this stack's access logs in any environment.  Each
    pattern ends in ``*``, which covers the group and its ``:log-stream:`` ARNs.
    """
    return Statement(
        Sid="PushApiGatewayLogs",
        Effect=Allow,
        Action=[logs.CreateLogGroup, logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents],
        Resource=[
            Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}*")
            for prefix in log_group_prefixes
        ],
    )


# --- the signing secret's resource policy -----------------------------------------

def _deny_reading_secret_value(sid: str, *conditions: Any) -> Statement:
    """A resource policy statement denying ``GetSecretValue`` to every principal the ``conditions`` match."""
    return Statement(Sid=sid, Effect=Deny, Principal=Principal("*"), Action=[secretsmanager.GetSecretValue],
                     Resource=["*"], Condition=Condition(list(conditions)))


def only_named_principals_read_secret(reader_arns: Any, deploy_role_arn: Any = None) -> Statement:
    """Deny reading the secret's value to every principal whose ARN is not in ``reader_arns``.

    ``deploy_role_arn`` (the stack's own secret) is exempt here, and held to CloudFormation's
    handlers by ``deploy_role_reads_secret_only_through_cloudformation``.

    A deny in the resource policy wins over any identity policy, so an
    administrator's ``secretsmanager:*`` on ``*`` no longer reads the secret.
    ``aws:PrincipalArn`` is the role's ARN for an assumed-role session, and
    ``ArnNotLike`` accepts ``*`` wildcards (e.g. for IAM Identity Center roles).
    """
    exempt_deploy_role = [ArnNotEquals("aws:PrincipalArn", deploy_role_arn)] if deploy_role_arn else []
    return _deny_reading_secret_value("OnlyNamedPrincipalsReadSecret", ArnNotLike("aws:PrincipalArn", reader_arns),
                                      *exempt_deploy_role)


def deploy_role_reads_secret_only_through_cloudformation(deploy_role_arn: Any) -> Statement:
    """The deploy role reads the value only in a request a CloudFormation resource handler makes.

    The secret's read and update handlers call ``GetSecretValue`` (drift detection, updates), and
    they do it in a forward access session of CloudFormation's, the last (and only) service in
    ``aws:CalledViaLast``; any other read with the role is denied.  With no ``DeployRole`` the
    ARN names no principal and this matches nobody.
    """
    return _deny_reading_secret_value("DeployRoleReadsOnlyThroughCloudFormation",
                                      ArnEquals("aws:PrincipalArn", deploy_role_arn),
                                      StringNotEquals("aws:CalledViaLast", CLOUDFORMATION))


# --- the KMS key policy ---------------------------------------------------------
#
# A key policy statement naming the account root delegates to IAM: any principal
# of the account whose IAM policy allows the action may perform it.  So no
# statement here gives the root a use action unconditionally; administration and
# use are separate statements, and use is conditioned on how the key is reached.

#: Cryptographic use of the key (``ReEncrypt*`` is the two directions).
_KEY_USE = [kms.Encrypt, kms.Decrypt, kms.ReEncryptFrom, kms.ReEncryptTo, kms.GenerateDataKey,
            kms.GenerateDataKeyWithoutPlaintext, kms.DescribeKey]

#: Managing the key without using it.  Spelled out, not ``kms:Create*``/``kms:*``:
#: those would include ``kms:CreateGrant`` and the cryptographic operations.
_KEY_ADMINISTRATION = [
    kms.DescribeKey, kms.GetKeyPolicy, kms.PutKeyPolicy, kms.ListKeyPolicies,
    kms.EnableKey, kms.DisableKey, kms.UpdateKeyDescription,
    kms.GetKeyRotationStatus, kms.EnableKeyRotation, kms.DisableKeyRotation, kms.RotateKeyOnDemand,
    kms.ListKeyRotations, kms.TagResource, kms.UntagResource, kms.ListResourceTags,
    kms.CreateAlias, kms.UpdateAlias, kms.DeleteAlias, kms.ListGrants, kms.RevokeGrant,
    kms.ScheduleKeyDeletion, kms.CancelKeyDeletion,
]


def _through_services(services: tuple[str, ...]) -> StringEquals:
    return StringEquals({
        "kms:ViaService": [Sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in services],
        "kms:CallerAccount": ACCOUNT_ID,
    })


def key_principals() -> If:
    """This account (its IAM policies decide who), and the deploy role when ``DeployRole`` names one.

    Naming the deploy role here is what lets it administer and use this key and no other: its
    IAM policy grants no action on an existing key.  KMS's lockout check at ``CreateKey`` (may
    the caller change the new key's policy?) then passes on the key policy alone, whatever the
    check makes of IAM policies for a key that does not exist yet.
    """
    return If(HAS_DEPLOY_ROLE, [ACCOUNT_ID, DEPLOY_ROLE_ARN], ACCOUNT_ID)


def _account_key_statement(sid: str, actions: Sequence[Action], *conditions: Any) -> Statement:
    """A key policy statement for this account's principals and the deploy role (``key_principals``)."""
    extra = {"Condition": Condition(list(conditions) if len(conditions) > 1 else conditions[0])} if conditions else {}
    return Statement(Sid=sid, Effect=Allow, Principal=Principal("AWS", key_principals()), Action=list(actions),
                     Resource=["*"], **extra)


def administer_key_by_account() -> Statement:
    """The account's IAM policies decide who administers the key; nobody uses it this way.

    ``kms:PutKeyPolicy`` keeps the key manageable (and passes KMS's lockout
    check); no action here encrypts, decrypts or grants.
    """
    return _account_key_statement("AccountAdministersKey", _KEY_ADMINISTRATION)


def encrypt_log_groups(*log_group_arns: Any) -> Statement:
    """CloudWatch Logs may use the key, but only for this stack's log groups.

    The encryption context is the log group's ARN, which names this account,
    so it is also the confused-deputy guard: CloudWatch Logs does not document
    sending ``aws:SourceAccount``/``aws:SourceArn`` on its KMS calls, and a
    condition on an absent key would stop the log groups from being created.
    """
    return Statement(
        Sid="CloudWatchLogsEncryptsStackLogGroups",
        Effect=Allow,
        Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
        # Not DescribeKey: it carries no encryption context, so under this condition it never matches.
        Action=[action for action in _KEY_USE if action != kms.DescribeKey],
        Resource=["*"],
        Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", list(log_group_arns))),
    )


def use_key_through_services(*services: str) -> Statement:
    """Principals of this account may use the key only through the named AWS services.

    This is how DynamoDB, Secrets Manager and Lambda encrypt at rest with a
    customer-managed key: they call KMS on the caller's behalf.  A principal
    still needs the use in its own IAM policy (the function's role has it).
    """
    return _account_key_statement("AccountUsesKeyThroughServices", _KEY_USE, _through_services(services))


def grant_key_to_service_resources(*services: str) -> Statement:
    """Grants only for AWS resources, made through the named services (DynamoDB's table grant)."""
    return _account_key_statement("AccountGrantsKeyToServiceResources", [kms.CreateGrant],
                                  _through_services(services), Bool("kms:GrantIsForAWSResource", "true"))


def decrypt_through_service(principal_arn: Any, via_service: Any) -> Statement:
    """A key policy statement letting one principal decrypt only through one service.

    HANDOFF.md gives it to the owner of a customer-managed key that encrypts an
    existing signing secret: the function's role then decrypts that secret only
    through Secrets Manager.
    """
    return Statement(
        Sid="WebhookFunctionDecryptsSigningSecret",
        Effect=Allow,
        Principal=Principal("AWS", principal_arn),
        Action=[kms.Decrypt],
        Resource=["*"],
        Condition=Condition(StringEquals("kms:ViaService", via_service)),
    )


# --- CodeDeploy's role (traffic shifting on the live alias) ---------------------
# The actions of the AWS-managed AWSCodeDeployRoleForLambda, each scoped to this
# stack's function and alarms instead of ``*``.  Left out: its S3 reads
# (CloudFormation hands CodeDeploy the AppSpec inline), its invoke of
# ``CodeDeployHook_*`` functions (this stack has no lifecycle hooks) and
# ``sns:Publish`` (the group has no notification triggers).

def shift_alias_traffic(function_logical_id: str) -> Statement:
    """Read and re-weight the function's aliases, and see their provisioned concurrency.

    ``function_logical_id``'s unqualified ARN, and its ``:*`` form for the
    alias and versions.
    """
    return Statement(
        Sid="ShiftAliasTraffic",
        Effect=Allow,
        Action=[awslambda.GetAlias, awslambda.UpdateAlias, awslambda.GetProvisionedConcurrencyConfig],
        Resource=[GetAtt(function_logical_id, "Arn"), Sub(f"${{{function_logical_id}.Arn}}:*")],
    )


def read_rollback_alarms(*alarm_arns: Any) -> Statement:
    """Read the alarms whose firing stops the deployment and rolls it back."""
    return Statement(Sid="ReadRollbackAlarms", Effect=Allow, Action=[cloudwatch.DescribeAlarms],
                     Resource=list(alarm_arns))


