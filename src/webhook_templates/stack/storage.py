"""The DynamoDB table that stores transactions (and the markers that make deliveries idempotent)."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, If, Ref, dynamodb

from . import naming, parameters
from .encryption import key_arn


def transactions_table() -> dynamodb.Table:
    """``transactions-<env>``, with the old stack's key schema (``transactionId`` + ``timestamp``).

    Retained on stack deletion and on replacement: no stack operation can drop
    the data.  Production also gets DynamoDB's own deletion protection.
    """
    return dynamodb.Table(
        naming.TABLE_ID,
        **naming.RETAIN,
        TableName=naming.per_environment(naming.TABLE),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            dynamodb.AttributeDefinition(AttributeName="transactionId", AttributeType="S"),
            dynamodb.AttributeDefinition(AttributeName="timestamp", AttributeType="N"),
        ],
        KeySchema=[
            dynamodb.KeySchema(AttributeName="transactionId", KeyType="HASH"),
            dynamodb.KeySchema(AttributeName="timestamp", KeyType="RANGE"),
        ],
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        SSESpecification=dynamodb.SSESpecification(
            SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=key_arn()
        ),
        DeletionProtectionEnabled=If(parameters.IS_PRODUCTION, True, False),
    )


def table_arn() -> GetAtt:
    """The table's ARN, for the function's policy."""
    return GetAtt(naming.TABLE_ID, "Arn")


def table_name() -> Ref:
    """The table's name, for the function's environment and the outputs."""
    return Ref(naming.TABLE_ID)


def table_shape() -> dict[str, Any]:
    """Key schema, attributes and billing mode of the template's table, as ``CreateTable`` takes them.

    The local server, the handler tests and the benchmark create their emulated
    table from this, so they cannot drift from the deployed one.
    """
    properties = transactions_table().to_dict()["Properties"]
    return {key: properties[key] for key in ("KeySchema", "AttributeDefinitions", "BillingMode")}
