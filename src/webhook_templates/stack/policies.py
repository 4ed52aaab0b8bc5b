"""IAM and KMS policy documents, composed from statements named for their intent.

Every statement grants the narrowest action set on the narrowest resource the
workload allows.  The only ``*`` resource is X-Ray's, which has no resource-level
permissions.  ARNs are built with ``${AWS::Partition}`` so the template works in
GovCloud and China regions unchanged.
"""

from __future__ import annotations

from typing import Any

import awacs.dynamodb as dynamodb
import awacs.kms as kms
import awacs.logs as logs
import awacs.secretsmanager as secretsmanager
import awacs.sts as sts
import awacs.xray as xray
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    Policy,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import Sub

VERSION = "2012-10-17"
ACCOUNT_ROOT = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def document(*statements: Statement) -> PolicyDocument:
    """A policy document of ``statements``."""
    return PolicyDocument(Version=VERSION, Statement=list(statements))


# --- the function's role ---------------------------------------------------

def assumable_by(service: str) -> Policy:
    """Trust policy letting one AWS service assume the role."""
    return document(
        Statement(
            Sid="AssumedBy" + service.split(".")[0].capitalize(),
            Effect=Allow,
            Principal=Principal("Service", service),
            Action=[sts.AssumeRole],
        )
    )


def write_transactions(table_arn: Any) -> Statement:
    """Store a transaction and its delivery marker (``TransactWriteItems`` of two ``Put``s)."""
    return Statement(Sid="WriteTransactions", Effect=Allow, Action=[dynamodb.PutItem], Resource=[table_arn])


def read_delivery_markers(table_arn: Any) -> Statement:
    """Read back a delivery marker to answer a retried delivery with its original response."""
    return Statement(Sid="ReadDeliveryMarkers", Effect=Allow, Action=[dynamodb.GetItem], Resource=[table_arn])


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


def use_encryption_key(key_arn: Any) -> Statement:
    """Decrypt the environment and the secret, and encrypt with the stack's key."""
    return Statement(
        Sid="UseEncryptionKey", Effect=Allow, Action=[kms.Decrypt, kms.GenerateDataKey], Resource=[key_arn]
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

def push_api_gateway_logs() -> Statement:
    """What API Gateway needs to deliver execution and access logs in this account and region.

    The same actions as the AWS-managed ``AmazonAPIGatewayPushToCloudWatchLogs``,
    scoped to this account's log groups instead of ``*``.
    """
    return Statement(
        Sid="PushApiGatewayLogs",
        Effect=Allow,
        Action=[
            logs.CreateLogGroup,
            logs.CreateLogStream,
            logs.DescribeLogGroups,
            logs.DescribeLogStreams,
            logs.PutLogEvents,
            logs.GetLogEvents,
            logs.FilterLogEvents,
        ],
        Resource=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")],
    )


# --- the KMS key policy ---------------------------------------------------------

_KEY_USE = [kms.Encrypt, kms.Decrypt, kms.ReEncryptFrom, kms.ReEncryptTo, kms.GenerateDataKey,
            kms.GenerateDataKeyWithoutPlaintext, kms.DescribeKey]


def administer_key_by_account() -> Statement:
    """The account root administers the key, so IAM policies decide who else may use it.

    Without this statement a key can become unmanageable; it is the key policy
    AWS itself creates by default.
    """
    return Statement(
        Sid="AccountAdministersKey",
        Effect=Allow,
        Principal=Principal("AWS", ACCOUNT_ROOT),
        Action=[kms.Action("*")],
        Resource=["*"],
    )


def encrypt_log_groups(*log_group_arns: Any) -> Statement:
    """CloudWatch Logs may use the key, but only for this stack's log groups."""
    return Statement(
        Sid="CloudWatchLogsEncryptsStackLogGroups",
        Effect=Allow,
        Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
        Action=_KEY_USE,
        Resource=["*"],
        Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", list(log_group_arns))),
    )


def use_key_through_services(*services: str) -> Statement:
    """Principals of this account may use the key only through the named AWS services.

    This is how DynamoDB, Secrets Manager and Lambda encrypt at rest with a
    customer-managed key: they call KMS on the caller's behalf.
    """
    return Statement(
        Sid="AccountUsesKeyThroughServices",
        Effect=Allow,
        Principal=Principal("AWS", ACCOUNT_ROOT),
        Action=[*_KEY_USE, kms.CreateGrant],
        Resource=["*"],
        Condition=Condition(StringEquals({
            "kms:ViaService": [Sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in services],
            "kms:CallerAccount": Sub("${AWS::AccountId}"),
        })),
    )
