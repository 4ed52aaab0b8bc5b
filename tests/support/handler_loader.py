"""Helpers for the Lambda handler tests: a fresh handler container, signed API Gateway events.

Each test gets its own import of ``handler/app.py`` (``load_app``): a new module is a new Lambda
container, with no client, setting or cached key carried over, so the handler itself needs no
test-only reset. Requests are signed with the ``standardwebhooks`` package, so the tests prove
interoperability with the reference implementation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import itertools
import json
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
APP_PATH = ROOT / "handler" / "app.py"
TABLE = "webhook-transactions-test"
DELIVERIES = "webhook-deliveries-test"
RETENTION_DAYS = 35
REGION = "us-east-1"
# What the template generates: 48 alphanumeric characters (valid base64, 36 bytes),
# stored without prefix; the sender is given "whsec_" + this.
SECRET = "Zk3uQx9Lm2Rt7Vb1Nc8Hd5Jf0Gs4Ka6Pw3Ey9Tz2Xq7Ub1Ri"
PREVIOUS_SECRET = "Pq8Wn2Xv5Bz1Lk7Hj4Fd9Gs3Ma6Ct0Ry2Ue8Io5Tp1Qw7Zx"
UNKNOWN_SECRET = "Mn4Bv7Cx1Zl9Kj2Hg5Fd8Sa3Qw6Er0Ty4Ui7Op1As9Df2Gh"


_IMPORTS = itertools.count()


def load_app(name: str | None = None) -> types.ModuleType:
    """A new import of handler/app.py by path, as Lambda does it: a cold container.

    Registered in ``sys.modules`` under a name of its own (``unittest.mock`` and pickling look
    modules up there), so two imports never share state."""
    name = name or f"webhook_handler_app_{next(_IMPORTS)}"
    spec = importlib.util.spec_from_file_location(name, APP_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: One import for the module constants the tests read at collection (limits, currencies).
APP = load_app("webhook_handler_constants")


def webhook_for(secret: str) -> Webhook:
    return Webhook("whsec_" + secret)


def sign(secret: str, msg_id: str, ts: int, body: str | bytes) -> str:
    """A ``v1,<b64>`` signature. Text bodies go through the standardwebhooks package;
    bytes that are not UTF-8 can't (its API takes str), so they use the same HMAC."""
    if isinstance(body, str):
        return webhook_for(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=UTC), body)
    key = base64.b64decode(secret)
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def make_event(
    body: str | bytes | None,
    headers: dict[str, str] | None = None,
    *,
    b64: bool = False,
    method: str = "POST",
    multi: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A complete API Gateway REST (v1) proxy event, shaped as API Gateway sends it."""
    base = {
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "Content-Type": "application/json",
        "User-Agent": "Svix-Webhooks/1.0",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e6a0c1",
    }
    base.update(headers or {})
    multi_headers = {k: [v] for k, v in base.items()}
    if multi:
        multi_headers.update(multi)
        for k, vs in multi.items():
            base[k] = vs[-1]  # API Gateway keeps the last value in "headers"
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if b64 else body.decode("utf-8", "surrogateescape")
    elif b64 and body is not None:
        body = base64.b64encode(body.encode()).decode()
    now_ms = int(time.time() * 1000)
    return {
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": method,
        "headers": base,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/webhook",
            "httpMethod": method,
            "extendedRequestId": "Ab1CdEfGhIjKlMn=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms // 1000)),
            "path": "/prod/webhook",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": now_ms,
            "requestId": str(uuid.uuid4()),
            "identity": {
                "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None,
                "caller": None, "sourceIp": "203.0.113.10", "principalOrgId": None,
                "accessKey": None, "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None, "userArn": None,
                "userAgent": "Svix-Webhooks/1.0", "user": None,
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
        },
        "body": body,
        "isBase64Encoded": b64,
    }


def payload(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"transactionId": "txn_" + uuid.uuid4().hex[:12], "amount": 12.5, "currency": "USD"}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not _MISSING}


_MISSING = object()
MISSING: Any = _MISSING


@dataclass
class Sender:
    """A Standard Webhooks sender holding the secret it was given."""

    secret: str = SECRET

    def event(
        self,
        body: str | bytes | dict[str, Any],
        *,
        msg_id: str | None = None,
        ts: int | None = None,
        b64: bool = False,
        case: Callable[[str], str] = str.lower,
        extra: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if isinstance(body, dict):
            body = json.dumps(body)
        msg_id = msg_id or "msg_" + uuid.uuid4().hex
        ts = int(time.time()) if ts is None else ts
        headers = {
            case("webhook-id"): msg_id,
            case("webhook-timestamp"): str(ts),
            case("webhook-signature"): sign(self.secret, msg_id, ts, body),
        }
        headers.update(extra or {})
        return make_event(body, headers, b64=b64)


@dataclass
class Aws:
    """The emulated account one test module shares: the tables, and a secret per test."""

    ddb: Any
    sm: Any
    secret_arn: str = ""
    _secrets: Iterator[int] = field(default_factory=itertools.count)

    def reset(self) -> None:
        """Back to a just-deployed stack: empty tables and a new secret holding SECRET.

        A new secret rather than a new value, because a test may delete the secret or make it
        binary; the old one is deleted, so a handler still holding its ARN finds nothing."""
        self.clear_table()
        if self.secret_arn:
            try:
                self.sm.delete_secret(SecretId=self.secret_arn, ForceDeleteWithoutRecovery=True)
            except self.sm.exceptions.ResourceNotFoundException:
                pass  # the test deleted it
        name = f"webhook-signing-secret-{next(self._secrets)}"
        self.secret_arn = self.sm.create_secret(Name=name, SecretString=json.dumps({"current": SECRET}))["ARN"]

    def clear_table(self) -> None:
        """Delete every item, so the next test or property example starts on an empty table
        (moto copies the whole table on every transaction: a growing table slows each write)."""
        for item in self.raw_items():
            self.ddb.delete_item(TableName=TABLE, Key={k: item[k] for k in ("transactionId", "timestamp")})
        for item in self.raw_items(DELIVERIES):
            self.ddb.delete_item(TableName=DELIVERIES, Key={"deliveryId": item["deliveryId"]})

    def transactions(self) -> list[dict[str, Any]]:
        return [i for i in self.items() if i.get("recordType") == "transaction"]

    def markers(self) -> list[dict[str, Any]]:
        """The delivery markers: every item of the deliveries table."""
        return self.items(DELIVERIES)

    def raw_items(self, table: str = TABLE) -> list[dict[str, Any]]:
        out, kwargs = [], {"TableName": table, "ConsistentRead": True}
        while True:
            page = self.ddb.scan(**kwargs)
            out += page["Items"]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def items(self, table: str = TABLE) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in self.raw_items(table)]

    def set_secret(self, value: str) -> None:
        self.sm.put_secret_value(SecretId=self.secret_arn, SecretString=value)


def create_table(ddb: Any) -> None:
    """The deployed tables' shapes, taken from the template generator."""
    from webhook_templates.local.emulated_aws import create_deliveries_table
    from webhook_templates.stack.storage import table_shape

    ddb.create_table(TableName=TABLE, **table_shape())
    create_deliveries_table(ddb, DELIVERIES)


class FakeClock:
    """Stands in for the handler's ``time`` module so timestamp tests don't depend on timing."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []
        self.perf_counter = time.perf_counter
        self.strftime = time.strftime
        self.gmtime = time.gmtime

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def record_calls(client: Any, service: str) -> list[str]:
    """Names of API operations the client makes from now on."""
    calls: list[str] = []
    client.meta.events.register(f"before-call.{service}", lambda model, **kw: calls.append(model.name))
    return calls
