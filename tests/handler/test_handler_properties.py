"""Property-based: whatever a client sends, a working backend never answers 5xx."""
from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from support.handler_loader import APP, SECRET, make_event, sign

pytestmark = pytest.mark.slow  # hypothesis: hundreds of examples a test

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=20)
amount_literals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,8})?([eE][-+]?[0-9]{1,12})?", fullmatch=True),
    st.sampled_from(["true", "false", "null", '"1.00"', "[]", "{}", "NaN", "Infinity", "-0", "1e999999999"]),
)
currencies = st.sampled_from(sorted(APP.CURRENCY_MINOR_UNITS)) | st.text(max_size=4)


def _signed(body: str | bytes, *, b64: bool = False) -> dict[str, Any]:
    msg_id, ts = "msg_" + uuid.uuid4().hex, int(time.time())
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sign(SECRET, msg_id, ts, raw)}
    return make_event(body, headers, b64=b64)


def _check(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    resp = app.lambda_handler(event, None)
    assert resp["statusCode"] < 500, resp["body"]
    assert resp["headers"]["Content-Type"] == "application/json"
    json.loads(resp["body"])
    return resp


SIGNATURE_ERRORS = {"missing_signature_headers", "invalid_signature_headers", "timestamp_out_of_tolerance",
                    "signature_mismatch"}


def _check_signed(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    """_check, for a correctly signed request: it must get past verification, so a broken
    signer or verifier (every example a 401) fails instead of passing as "not 5xx"."""
    resp = _check(app, event)
    assert json.loads(resp["body"]).get("error") not in SIGNATURE_ERRORS, resp["body"]
    return resp


@SETTINGS
@given(body=st.text(max_size=300))
def test_arbitrary_signed_text_bodies(app, body):
    _check_signed(app, _signed(body))


@SETTINGS
@given(body=st.binary(max_size=300))
def test_arbitrary_signed_binary_bodies(app, body):
    _check_signed(app, _signed(body, b64=True))


@SETTINGS
@given(headers=st.dictionaries(st.text(max_size=20) | st.sampled_from(
    ["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE"]), st.text(max_size=60), max_size=6),
    body=st.text(max_size=100) | st.none())
def test_arbitrary_header_dicts(app, headers, body):
    _check(app, make_event(body, headers))


@SETTINGS
@given(multi=st.dictionaries(st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "x"]),
                             st.lists(st.text(max_size=40), max_size=3), max_size=4))
def test_arbitrary_multi_value_headers(app, multi):
    event = make_event("{}", {})
    event["multiValueHeaders"] = multi
    event["headers"] = {k: v[-1] for k, v in multi.items() if v}
    _check(app, event)


@SETTINGS
@given(value=json_values)
def test_arbitrary_json_documents(app, value):
    _check_signed(app, _signed(json.dumps(value)))


@SETTINGS
@given(tx=st.from_regex(APP.TRANSACTION_ID_PATTERN, fullmatch=True) | json_values | st.text(max_size=140),
       amount=amount_literals, currency=currencies, status=st.sampled_from(APP.STATUSES) | json_values,
       metadata=json_values)
def test_arbitrary_field_values(app, tx, amount, currency, status, metadata):
    body = (f'{{"transactionId": {json.dumps(tx)}, "amount": {amount}, "currency": {json.dumps(currency)}, '
            f'"status": {json.dumps(status)}, "metadata": {json.dumps(metadata)}}}')
    resp = _check_signed(app, _signed(body))
    event(f"status {resp['statusCode']}")
    if resp["statusCode"] == 200:
        assert json.loads(resp["body"])["transactionId"] == tx


valid_amounts = st.decimals(min_value="0.01", max_value="1e15", places=2)


def _amount_body(amount: Any) -> tuple[str, str]:
    tx = "p" + uuid.uuid4().hex
    return tx, f'{{"transactionId": "{tx}", "amount": {amount}, "currency": "USD"}}'


@SETTINGS
@given(amount=valid_amounts)
def test_valid_amounts_are_sent_to_dynamodb_exactly(app, amount):
    """The whole property, on what the handler asks DynamoDB to store (answered in-process:
    an emulated write per example made this test 20 s)."""
    tx, body = _amount_body(amount)
    sent: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        sent.append(json.loads(params["body"]))  # the request body as it would go on the wire
        return SimpleNamespace(status_code=200), {"ResponseMetadata": {"HTTPStatusCode": 200}}

    events = app.use_clients().ddb.meta.events  # the clients the request below will use
    events.register("before-call.dynamodb.TransactWriteItems", capture)
    try:
        assert _check(app, _signed(body))["statusCode"] == 200
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", capture)
    (request,) = sent
    items = [entry["Put"]["Item"] for entry in request["TransactItems"] if "Put" in entry]
    (stored,) = [item for item in items if item.get("transactionId", {}).get("S") == tx and "amount" in item]
    assert stored["amount"]["N"] == format(amount, ".2f")  # USD: padded to its two minor-unit digits


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(amount=Decimal("0.01"))
@example(amount=Decimal("1E+15"))
@example(amount=Decimal("999999999999999.99"))
@example(amount=Decimal("0.10"))
@example(amount=Decimal("100"))
@given(amount=valid_amounts)
def test_valid_amounts_are_accepted_and_stored_exactly(app, account, amount):
    """End to end through the emulated table: the item read back holds the amount exactly."""
    account.clear_table()  # each example on an empty table: moto copies the whole table per write
    tx, body = _amount_body(amount)
    assert _check(app, _signed(body))["statusCode"] == 200
    item = account.ddb.query(TableName="webhook-transactions-test", KeyConditionExpression="transactionId = :t",
                         ExpressionAttributeValues={":t": {"S": tx}})["Items"][0]
    assert item["amount"]["N"] == format(amount, ".2f")


@SETTINGS
@given(body=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_unsigned_mode_parses_anything_without_5xx(app, monkeypatch, body):
    monkeypatch.setenv("SIGNATURE_MODE", "none")  # read at the first example's cold start
    _check(app, make_event(body, {}))


@pytest.mark.parametrize("event", [None, [], "", 0, {}, {"body": 5}, {"headers": [1]}, {"multiValueHeaders": "x"},
                                   {"isBase64Encoded": True, "body": None}, {"httpMethod": None}])
def test_malformed_events_never_5xx(app, event):
    _check(app, event)
