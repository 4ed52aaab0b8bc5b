"""The DynamoDB tables: ``transactions-<env>`` holds only transactions; ``webhook-deliveries-<env>``
holds the markers that make deliveries idempotent, each expiring after the retention (TTL)."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, If, NoValue, Ref, dynamodb

from . import naming, parameters
from .encryption import key_arn


def _data_table(logical_id: str, prefix: str, **properties: Any) -> dynamodb.Table:
    """A table ``<prefix>-<env>`` protected as data, whatever it holds.

    Retained on stack deletion and on replacement: no stack operation can drop
    the data.  On-demand, point-in-time recovery, encrypted with the stack's
    key; production also gets DynamoDB's own deletion protection.
    """
    return dynamodb.Table(
        logical_id,
        **naming.RETAIN,
        TableName=naming.per_environment(prefix),
        BillingMode="PAY_PER_REQUEST",
        **properties,
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        SSESpecification=dynamodb.SSESpecification(
            SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=key_arn()
        ),
        DeletionProtectionEnabled=If(parameters.IS_PRODUCTION, True, False),
    )


def transactions_table() -> dynamodb.Table:
    """``transactions-<env>``, with the old stack's key schema (``transactionId`` + ``timestamp``).

    Only transactions: whoever scans, exports or streams it reads nothing else.
    With ``TransactionStream=true`` it streams each new item (``NEW_IMAGE``).
    """
    return _data_table(
        naming.TABLE_ID, naming.TABLE,
        AttributeDefinitions=[
            dynamodb.AttributeDefinition(AttributeName="transactionId", AttributeType="S"),
            dynamodb.AttributeDefinition(AttributeName="timestamp", AttributeType="N"),
        ],
        KeySchema=[
            dynamodb.KeySchema(AttributeName="transactionId", KeyType="HASH"),
            dynamodb.KeySchema(AttributeName="timestamp", KeyType="RANGE"),
        ],
        StreamSpecification=If(
            parameters.HAS_STREAM, dynamodb.StreamSpecification(StreamViewType="NEW_IMAGE"), NoValue
        ),
    )


#: The deliveries table's key and its expiry attribute (epoch seconds), as the handler writes them.
DELIVERY_KEY = "deliveryId"
EXPIRY_ATTRIBUTE = "expiresAt"


def deliveries_table() -> dynamodb.Table:
    """``webhook-deliveries-<env>``: one marker per webhook-id, deleted by TTL after the retention.

    Protected like the transactions table: losing it would let a redelivery be stored twice.
    """
    return _data_table(
        naming.DELIVERIES_TABLE_ID, naming.DELIVERIES_TABLE,
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=DELIVERY_KEY, AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName=DELIVERY_KEY, KeyType="HASH")],
        TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(AttributeName=EXPIRY_ATTRIBUTE, Enabled=True),
    )


def deliveries_table_arn() -> GetAtt:
    """The deliveries table's ARN, for the function's policy."""
    return GetAtt(naming.DELIVERIES_TABLE_ID, "Arn")


def deliveries_table_name() -> Ref:
    """The deliveries table's name, for the function's environment."""
    return Ref(naming.DELIVERIES_TABLE_ID)


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
    return _shape(transactions_table())


def deliveries_table_shape() -> dict[str, Any]:
    """The deliveries table as ``CreateTable`` takes it (TTL is a separate call: ``UpdateTimeToLive``)."""
    return _shape(deliveries_table())


def _shape(table: dynamodb.Table) -> dict[str, Any]:
    properties = table.to_dict()["Properties"]
    return {key: properties[key] for key in ("KeySchema", "AttributeDefinitions", "BillingMode")}
