"""Fixtures for the Lambda handler tests: moto-backed AWS, API Gateway v1 events, signing.

Everything runs in-process under moto's ``mock_aws`` with fake credentials; nothing
reaches the network. Requests are signed with the ``standardwebhooks`` package so the
tests prove interoperability with the reference implementation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import logging
import sys
import threading
import time
import types
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
APP_PATH = ROOT / "handler" / "app.py"
TABLE = "webhook-transactions-test"
REGION = "us-east-1"
# What the template generates: 48 alphanumeric characters (valid base64, 36 bytes),
# stored without prefix; the sender is given "whsec_" + this.
SECRET = "Zk3uQx9Lm2Rt7Vb1Nc8Hd5Jf0Gs4Ka6Pw3Ey9Tz2Xq7Ub1Ri"
PREVIOUS_SECRET = "Pq8Wn2Xv5Bz1Lk7Hj4Fd9Gs3Ma6Ct0Ry2Ue8Io5Tp1Qw7Zx"
UNKNOWN_SECRET = "Mn4Bv7Cx1Zl9Kj2Hg5Fd8Sa3Qw6Er0Ty4Ui7Op1As9Df2Gh"


def load_app(name: str = "webhook_handler_app") -> types.ModuleType:
    """Import handler/app.py by path, as the template generator and Lambda would."""
    spec = importlib.util.spec_from_file_location(name, APP_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


APP = load_app()


def webhook_for(secret: str) -> Webhook:
    return Webhook("whsec_" + secret)


def sign(secret: str, msg_id: str, ts: int, body: str | bytes) -> str:
    """A ``v1,<b64>`` signature. Text bodies go through the standardwebhooks package;
    bytes that are not UTF-8 can't (its API takes str), so they use the same HMAC."""
    if isinstance(body, str):
        return webhook_for(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
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
    ddb: Any
    sm: Any
    secret_arn: str
    calls: list[str] = field(default_factory=list)

    def items(self) -> list[dict[str, Any]]:
        deserializer = TypeDeserializer()
        out, kwargs = [], {"TableName": TABLE, "ConsistentRead": True}
        while True:
            page = self.ddb.scan(**kwargs)
            out += [{k: deserializer.deserialize(v) for k, v in i.items()} for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def transactions(self) -> list[dict[str, Any]]:
        return [i for i in self.items() if i.get("recordType") == "transaction"]

    def markers(self) -> list[dict[str, Any]]:
        return [i for i in self.items() if i.get("recordType") == "delivery"]

    def raw_items(self) -> list[dict[str, Any]]:
        return self.ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]

    def set_secret(self, value: str) -> None:
        self.sm.put_secret_value(SecretId=self.secret_arn, SecretString=value)


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no profile or config file can point at real AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "SIGNATURE_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def create_table(ddb: Any) -> None:
    """The deployed table's shape, taken from the template generator."""
    from webhook_templates.stack.storage import table_shape

    ddb.create_table(TableName=TABLE, **table_shape())


@pytest.fixture
def aws(fake_aws_env: None) -> Iterator[Aws]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        sm = boto3.client("secretsmanager", region_name=REGION)
        create_table(ddb)
        arn = sm.create_secret(Name="webhook-signing-secret", SecretString=json.dumps({"current": SECRET}))["ARN"]
        yield Aws(ddb=ddb, sm=sm, secret_arn=arn)


@pytest.fixture
def app(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """The handler module with a cold container: env set, caches empty."""
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("SIGNING_SECRET_ARN", aws.secret_arn)
    APP._reset_for_tests()
    yield APP
    APP._reset_for_tests()


@pytest.fixture
def sender() -> Sender:
    return Sender()


@pytest.fixture
def invoke(app: types.ModuleType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Call the handler and decode the JSON body, checking the invariants of every response."""

    def _invoke(event: dict[str, Any]) -> dict[str, Any]:
        resp = app.lambda_handler(event, None)
        assert resp["headers"]["Content-Type"] == "application/json"
        assert isinstance(resp["body"], str)
        resp["json"] = json.loads(resp["body"])
        if resp["statusCode"] != 200:
            assert set(resp["json"]) == {"error", "message"}
            assert resp["json"]["error"].replace("_", "").isalpha()
            assert resp["json"]["error"] == resp["json"]["error"].lower()
        if resp["statusCode"] == 503:
            assert resp["headers"]["Retry-After"].isdigit()
        return resp

    return _invoke


@pytest.fixture
def request_logs(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The per-request INFO records ("webhook request") captured so far."""
    caplog.set_level(logging.DEBUG, logger="webhook")
    return lambda: [r for r in caplog.records if r.name == "webhook" and r.getMessage() == "webhook request"]


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


@pytest.fixture
def clock(app: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(float(int(time.time())))
    monkeypatch.setattr(app, "time", fake)
    return fake


@pytest.fixture
def serial_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB serializes conflicting transactions; moto's in-process backend does not
    (it snapshots and restores whole tables), so concurrent tests make it serializable."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    original = DynamoDBBackend.transact_write_items

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", locked)


def record_calls(client: Any, service: str) -> list[str]:
    """Names of API operations the client makes from now on."""
    calls: list[str] = []
    client.meta.events.register(f"before-call.{service}", lambda model, **kw: calls.append(model.name))
    return calls


# Test modules import the helpers above as ``handler_testkit``: that works in every pytest
# import mode and can't collide with another directory's conftest.
sys.modules["handler_testkit"] = sys.modules[__name__]
