"""The emulated AWS account behind the local server: moto's DynamoDB table and Secrets Manager secret.

Shaped like the stack's (``storage.table_shape()``, the secret as the stack
stores it).  moto is not thread-safe, so each emulated AWS call is made
atomic, as DynamoDB's are.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

from ..config import EnvironmentConfig
from ..stack import naming, storage
from . import signing

REGION = "us-east-1"
STAGE = "local"
TABLE_NAME = f"{naming.TABLE}-{STAGE}"
DELIVERIES_TABLE_NAME = f"{naming.DELIVERIES_TABLE}-{STAGE}"
#: The retention a deployed stack gets by default.
RETENTION_DAYS = EnvironmentConfig(name=STAGE).delivery_retention_days
SECRET_NAME = f"{naming.SIGNING_SECRET}-{STAGE}"


@dataclass(frozen=True)
class LocalAws:
    """The emulated account: the tables and signing secret the handler is configured with."""

    dynamodb: Any
    table_name: str
    secret_arn: str
    secret: str  # the sender-facing whsec_ form
    deliveries_table_name: str = DELIVERIES_TABLE_NAME

    def counts(self) -> dict[str, int]:
        """Stored transactions and delivery markers (each table's items), and both together."""
        transactions = self._count(self.table_name)
        deliveries = self._count(self.deliveries_table_name)
        return {"transactions": transactions, "deliveries": deliveries, "items": transactions + deliveries}

    def _count(self, table: str) -> int:
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True, "Select": "COUNT"}
        count = 0
        while True:
            page = self.dynamodb.scan(**kwargs)
            count += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return count
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@contextlib.contextmanager
def _atomic_aws_calls() -> Iterator[None]:
    """Serialise moto's handling of each AWS request.

    Real DynamoDB applies a ``TransactWriteItems`` atomically; moto's backend
    does not guard against threads, so two concurrent copies of one delivery
    could both pass its condition checks.  One lock around each emulated call
    restores per-request atomicity without serialising the handlers themselves.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def process_request(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    with mock.patch.object(BotocoreStubber, "process_request", process_request):
        yield


@contextlib.contextmanager
def local_aws(secret: str) -> Iterator[LocalAws]:
    """moto-emulated DynamoDB and Secrets Manager holding the stack's tables and secret."""
    import boto3
    from moto import mock_aws

    with mock_aws(), _atomic_aws_calls():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName=TABLE_NAME, **storage.table_shape())
        create_deliveries_table(dynamodb, DELIVERIES_TABLE_NAME)
        # Stored as the stack stores it: {"current": "<base64>"}, no prefix.
        stored = json.dumps({"current": secret.removeprefix(signing.PREFIX)})
        arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_NAME, SecretString=stored)["ARN"]
        yield LocalAws(dynamodb, TABLE_NAME, arn, secret)


def create_deliveries_table(dynamodb: Any, name: str) -> None:
    """The deliveries table as the stack creates it, its TTL on (``CreateTable`` cannot set it)."""
    dynamodb.create_table(TableName=name, **storage.deliveries_table_shape())
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "AttributeName": storage.EXPIRY_ATTRIBUTE, "Enabled": True})
