"""Fixtures for the Lambda handler tests: moto-backed AWS, a cold handler container per test.

Everything runs in-process under moto's ``mock_aws`` with fake credentials; nothing reaches the
network. The emulator, table and clients are shared by a test module (starting moto and creating
the table is most of a test's cost); each test gets an empty table, a new secret and a new import
of the handler. Helpers (events, signing, the clock) live in ``tests/support/handler_loader.py``.
The fixture is ``account`` (moto in process), not ``aws``: that name is the deploy tests' client
factory for moto's HTTP server. Fake credentials come from tests/conftest.py's ``fake_aws_env``.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws

from support.handler_loader import (
    DELIVERIES,
    REGION,
    RETENTION_DAYS,
    TABLE,
    Aws,
    FakeClock,
    Sender,
    create_table,
    load_app,
)

_SHARED_LOADER: list[Any] = []


@pytest.fixture(autouse=True)
def shared_botocore_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every handler container's botocore session reads the service models through one loader.

    Each test is a new container with a new botocore session, and a session parses its model
    files (endpoints.json alone is 1.2 MB) on first use: ~0.3 s a test. The files are read-only
    data, so sharing the parsed copies changes nothing the tests check (clients, calls,
    credentials and configuration stay per session)."""
    real_get_session = botocore.session.get_session

    def get_session(*args: Any, **kwargs: Any) -> botocore.session.Session:
        session = real_get_session(*args, **kwargs)
        if not _SHARED_LOADER:
            _SHARED_LOADER.append(session.get_component("data_loader"))
        session.register_component("data_loader", _SHARED_LOADER[0])
        return session

    monkeypatch.setattr(botocore.session, "get_session", get_session)


@pytest.fixture(scope="module")
def emulated_account() -> Iterator[Aws]:
    """moto for one test module: started once, with the table and the test's own clients.

    Module scope, not session: an active ``mock_aws`` intercepts every botocore client in the
    process, and other test directories talk to moto's HTTP server in the same workers."""
    with mock_aws():
        # Explicit fake credentials: this runs before the per-test environment is set.
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        ddb = session.client("dynamodb")
        create_table(ddb)
        yield Aws(ddb=ddb, sm=session.client("secretsmanager"))


@pytest.fixture
def account(emulated_account: Aws, fake_aws_env: None) -> Aws:
    """The shared account, reset: an empty table and a fresh secret holding SECRET."""
    emulated_account.reset()
    return emulated_account


@pytest.fixture
def app(account: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """A new import of the handler, i.e. a cold container, with the stack's environment."""
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("DELIVERIES_TABLE_NAME", DELIVERIES)
    monkeypatch.setenv("DELIVERY_RETENTION_DAYS", str(RETENTION_DAYS))
    monkeypatch.setenv("SIGNING_SECRET_ARN", account.secret_arn)
    monkeypatch.setenv("ENVIRONMENT", "test")
    module = load_app()
    yield module
    sys.modules.pop(module.__name__, None)


@pytest.fixture
def sender() -> Sender:
    return Sender()


@pytest.fixture
def invoke(app: types.ModuleType) -> Callable[..., dict[str, Any]]:
    """Call the handler and decode the JSON body, checking the invariants of every response.

    ``invoke(event, container=other_import)`` calls another container (a new ``load_app()``)."""

    def _invoke(event: dict[str, Any], container: types.ModuleType | None = None) -> dict[str, Any]:
        resp = (container or app).lambda_handler(event, None)
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
