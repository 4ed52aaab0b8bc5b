"""The request/response contract: success shape, stored item, validation, limits."""
from __future__ import annotations

import base64
import json
import re
from datetime import UTC
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from support.handler_loader import APP, MISSING, RETENTION_DAYS, Sender, make_event, payload

SUCCESS_MESSAGE = "Transaction processed successfully"


def test_valid_delivery_returns_the_old_service_response(invoke, sender, account):
    doc = payload(transactionId="txn_001", amount=12.5, currency="USD")
    resp = invoke(sender.event(doc))
    assert resp["statusCode"] == 200
    body = resp["json"]
    assert list(body) == ["message", "transactionId", "timestamp"]
    assert body["message"] == SUCCESS_MESSAGE
    assert body["transactionId"] == "txn_001"
    assert isinstance(body["timestamp"], int) and body["timestamp"] > 1_600_000_000_000
    [item] = account.transactions()
    assert item["timestamp"] == body["timestamp"]


def test_stored_transaction_item(invoke, sender, account):
    doc = payload(transactionId="txn_002", amount=0.10, currency="EUR", status="completed",
                  metadata={"orderId": "o-1", "qty": 3, "ratio": 1.5, "nested": {"a": [1, "b", None, True]}})
    event = sender.event(doc, msg_id="msg_stored")
    resp = invoke(event)
    assert resp["statusCode"] == 200
    [item] = account.transactions()
    assert item == {
        "transactionId": "txn_002",
        "timestamp": Decimal(resp["json"]["timestamp"]),
        "recordType": "transaction",
        "amount": Decimal("0.10"),
        "currency": "EUR",
        "status": "completed",
        "metadata": '{"orderId":"o-1","qty":3,"ratio":1.5,"nested":{"a":[1,"b",null,true]}}',
        "receivedAt": item["receivedAt"],
        "deliveryId": "msg_stored",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["receivedAt"])
    ms = resp["json"]["timestamp"]
    assert item["receivedAt"].endswith(f".{ms % 1000:03d}Z")


def test_marker_item_holds_the_exact_response(invoke, sender, account):
    resp = invoke(sender.event(payload(), msg_id="msg_marker"))
    [marker] = account.markers()
    assert marker["deliveryId"] == "msg_marker"
    assert marker["response"] == resp["body"]
    [item] = account.transactions()
    assert marker["receivedAt"] == item["receivedAt"]
    # DynamoDB's TTL deletes it once the retention has passed (epoch seconds)
    assert marker["expiresAt"] == resp["json"]["timestamp"] // 1000 + RETENTION_DAYS * 86400
    assert account.items() == [item]  # the transactions table holds the transaction only


def test_defaults_status_pending_and_metadata_empty_object(invoke, sender, account):
    assert invoke(sender.event(payload()))["statusCode"] == 200
    assert invoke(sender.event(payload(metadata=None)))["statusCode"] == 200
    for item in account.transactions():
        assert item["status"] == "pending"
        assert item["metadata"] == "{}"


def test_amount_is_stored_as_an_exact_number_never_a_float(invoke, sender, account):
    body = '{"transactionId": "big", "amount": 999999999999999.99, "currency": "USD"}'
    assert invoke(sender.event(body))["statusCode"] == 200
    [raw] = [i for i in account.raw_items() if i["transactionId"]["S"] == "big"]
    assert raw["amount"] == {"N": "999999999999999.99"}  # a float would give ...1000000000000000
    assert account.transactions()[0]["amount"] == Decimal("999999999999999.99")


@pytest.mark.parametrize(
    ("literal", "currency", "stored"),
    [
        ("0.10", "USD", "0.10"),
        ("0.1", "USD", "0.10"),
        ("12.345", "BHD", "12.345"),
        ("12.345", "KWD", "12.345"),
        ("100", "JPY", "100"),
        ("100.0", "JPY", "100"),
        ("1.500", "USD", "1.50"),
        ("1E+2", "USD", "100.00"),
        ("0.0001", "CLF", "0.0001"),
        ("1", "USD", "1.00"),
        ("1000000000000000", "USD", "1000000000000000.00"),
        ("1e15", "JPY", "1000000000000000"),
        ("0.01", "USD", "0.01"),
    ],
)
def test_valid_amounts_are_stored_exactly(invoke, sender, account, literal, currency, stored):
    body = f'{{"transactionId": "t1", "amount": {literal}, "currency": "{currency}"}}'
    resp = invoke(sender.event(body))
    assert resp["statusCode"] == 200, resp["body"]
    [raw] = [i for i in account.raw_items() if i["transactionId"]["S"] == "t1"]
    assert raw["amount"] == {"N": stored}


@pytest.mark.parametrize(
    ("literal", "currency", "message"),
    [
        ("1.5", "JPY", "amount: JPY allows at most 0 decimal places"),
        ("1.005", "USD", "amount: USD allows at most 2 decimal places"),
        ("12.3456", "BHD", "amount: BHD allows at most 3 decimal places"),
        ("0.00001", "CLF", "amount: CLF allows at most 4 decimal places"),
        ("1e-999", "USD", "amount: USD allows at most 2 decimal places"),
        ("0", "USD", "amount: must be greater than 0"),
        ("0.00", "USD", "amount: must be greater than 0"),
        ("-0", "USD", "amount: must be greater than 0"),
        ("-5", "USD", "amount: must be greater than 0"),
        ("1000000000000000.01", "USD", "amount: must be at most 1000000000000000"),
        ("1e16", "USD", "amount: must be at most 1000000000000000"),
        ("true", "USD", "amount: must be a number"),
        ("false", "USD", "amount: must be a number"),
        ('"12.50"', "USD", "amount: must be a number"),
        ("null", "USD", "amount: must be a number"),
        ("[1]", "USD", "amount: must be a number"),
        ("{}", "USD", "amount: must be a number"),
    ],
)
def test_invalid_amounts_are_rejected_naming_the_field(invoke, sender, account, literal, currency, message):
    body = f'{{"transactionId": "t1", "amount": {literal}, "currency": "{currency}"}}'
    resp = invoke(sender.event(body))
    assert resp["statusCode"] == 400
    assert resp["json"] == {"error": "validation_failed", "message": message}
    assert account.items() == []


def test_amount_with_many_trailing_zeros_beyond_the_decimal_context(invoke, sender, account):
    literal = "1." + "0" * 90  # 91 significant digits: more than any decimal context here
    body = f'{{"transactionId": "t1", "amount": {literal}, "currency": "USD"}}'
    assert invoke(sender.event(body))["statusCode"] == 200
    [raw] = [i for i in account.raw_items() if i["transactionId"]["S"] == "t1"]
    assert raw["amount"] == {"N": "1.00"}


@pytest.mark.parametrize("currency", ["usd", "Usd", "XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR",
                                      "ABC", "US", "USDT", "", 840, None, ["USD"], True])
def test_currency_must_be_an_active_upper_case_iso_code(invoke, sender, account, currency):
    resp = invoke(sender.event(payload(currency=currency)))
    assert resp["statusCode"] == 400
    assert resp["json"]["error"] == "validation_failed"
    assert resp["json"]["message"].startswith("currency: ")


def test_missing_currency_is_a_validation_error(invoke, sender):
    resp = invoke(sender.event(payload(currency=MISSING)))
    assert resp["json"]["error"] == "validation_failed"
    assert resp["json"]["message"].startswith("currency: ")


def test_missing_amount_is_a_validation_error(invoke, sender):
    resp = invoke(sender.event(payload(amount=MISSING)))
    assert resp["json"] == {"error": "validation_failed", "message": "amount: must be a number"}


def test_every_listed_currency_accepts_an_amount_with_its_minor_units(invoke, sender, account):
    for currency, digits in APP.CURRENCY_MINOR_UNITS.items():
        literal = "7" if digits == 0 else "7." + "1" * digits
        body = f'{{"transactionId": "t-{currency}", "amount": {literal}, "currency": "{currency}"}}'
        assert invoke(sender.event(body))["statusCode"] == 200, currency
        stored = {i["transactionId"]["S"]: i["amount"]["N"] for i in account.raw_items() if "amount" in i}
        assert stored == {"t-" + currency: literal}
        account.clear_table()  # moto copies the whole table on every write: one currency at a time stays linear


@pytest.mark.parametrize("tx", [
    "a", "A", "0", "txn_123", "ord-2024.01:abc_DEF", "x" * 128, "9" + "-" * 127,
])
def test_valid_transaction_ids(invoke, sender, account, tx):
    resp = invoke(sender.event(payload(transactionId=tx)))
    assert resp["statusCode"] == 200
    assert resp["json"]["transactionId"] == tx
    assert [i["transactionId"] for i in account.transactions()] == [tx]


@pytest.mark.parametrize("tx", [
    "", "x" * 129, "-abc", "_abc", ".abc", ":abc", "a b", "a#b", "delivery#x", "a/b", "tx\n", "\ntx",
    "caf\u00e9", "\u0661\u0662", "a\u0000", 123, 1.5, None, True, ["a"], {"a": 1},
])
def test_invalid_transaction_ids(invoke, sender, account, tx):
    resp = invoke(sender.event(payload(transactionId=tx)))
    assert resp["statusCode"] == 400
    assert resp["json"]["error"] == "validation_failed"
    assert resp["json"]["message"].startswith("transactionId: ")
    assert account.items() == []


def test_missing_transaction_id(invoke, sender):
    resp = invoke(sender.event(payload(transactionId=MISSING)))
    assert resp["json"]["error"] == "validation_failed"
    assert resp["json"]["message"].startswith("transactionId: ")


@pytest.mark.parametrize("status", APP.STATUSES)
def test_every_status_is_accepted(invoke, sender, account, status):
    assert invoke(sender.event(payload(status=status)))["statusCode"] == 200
    assert account.transactions()[0]["status"] == status


@pytest.mark.parametrize("status", ["PENDING", "done", "", None, 1, True, ["pending"], {"s": 1}])
def test_invalid_status(invoke, sender, status):
    resp = invoke(sender.event(payload(status=status)))
    assert resp["statusCode"] == 400
    assert resp["json"]["message"] == "status: must be one of pending, completed, failed, refunded, cancelled"


@pytest.mark.parametrize("metadata", [[], [1, 2], "x", 1, True])
def test_metadata_must_be_an_object(invoke, sender, metadata):
    resp = invoke(sender.event(payload(metadata=metadata)))
    assert resp["json"] == {"error": "validation_failed", "message": "metadata: must be an object"}


def _metadata_of_size(n: int, char: str = "x") -> dict[str, str]:
    # {"k":"..."} is 8 bytes plus the value
    value_bytes = n - 8
    width = len(char.encode())
    assert value_bytes % width == 0
    return {"k": char * (value_bytes // width)}


def test_metadata_size_limit_is_in_serialized_utf8_bytes(invoke, sender, account):
    limit = APP.METADATA_MAX_BYTES
    assert invoke(sender.event(payload(metadata=_metadata_of_size(limit))))["statusCode"] == 200
    resp = invoke(sender.event(payload(metadata=_metadata_of_size(limit + 1))))
    assert resp["json"] == {"error": "validation_failed", "message": "metadata: must serialize to at most 8192 bytes"}
    # 2-byte characters: fewer characters than the limit, but too many bytes
    resp = invoke(sender.event(payload(metadata=_metadata_of_size(limit + 2, "\u00e9"))))
    assert resp["statusCode"] == 400
    [item] = account.transactions()
    assert len(item["metadata"].encode()) == limit


def test_metadata_keeps_non_ascii_text_as_is(invoke, sender, account):
    assert invoke(sender.event(payload(metadata={"name": "Zo\u00eb \u2603 \U0001f600"})))["statusCode"] == 200
    assert account.transactions()[0]["metadata"] == '{"name":"Zo\u00eb \u2603 \U0001f600"}'


def test_metadata_with_an_unpaired_surrogate_escape_is_rejected(invoke, sender, account):
    body = '{"transactionId": "t1", "amount": 1, "currency": "USD", "metadata": {"a": "\\ud800"}}'
    resp = invoke(sender.event(body))
    assert resp["json"] == {"error": "validation_failed", "message": "metadata: contains an unpaired surrogate"}
    assert account.items() == []


def test_metadata_numbers_keep_their_value(invoke, sender, account):
    body = ('{"transactionId": "t1", "amount": 1, "currency": "USD",'
            ' "metadata": {"i": 10, "f": 0.5, "e": 1e2, "neg": -3, "big": 12345678901234567890}}')
    assert invoke(sender.event(body))["statusCode"] == 200
    stored = json.loads(account.transactions()[0]["metadata"])
    assert stored == {"i": 10, "f": 0.5, "e": 100, "neg": -3, "big": 12345678901234567890}


def test_unknown_fields_are_ignored(invoke, sender, account):
    resp = invoke(sender.event(payload(description="ignored", timestamp=1, recordType="x", deliveryId="y")))
    assert resp["statusCode"] == 200
    [item] = account.transactions()
    assert "description" not in item
    assert item["recordType"] == "transaction"
    assert item["deliveryId"] != "y"


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"text"', "12", "true", "null"])
def test_a_body_that_is_not_an_object_is_invalid_body(invoke, sender, account, body):
    resp = invoke(sender.event(body))
    assert resp["statusCode"] == 400
    assert resp["json"]["error"] == "invalid_body"
    assert account.items() == []


def test_empty_and_missing_bodies_are_invalid_json(invoke, sender):
    assert invoke(sender.event(""))["json"]["error"] == "invalid_json"
    event = sender.event("")
    event["body"] = None  # API Gateway sends null for an empty body
    assert invoke(event)["json"]["error"] == "invalid_json"


def _padded_body(size: int) -> str:
    doc = json.dumps(payload(transactionId="pad"))
    return doc + " " * (size - len(doc))


def test_body_of_exactly_the_limit_is_accepted(invoke, sender):
    assert invoke(sender.event(_padded_body(APP.MAX_BODY_BYTES)))["statusCode"] == 200


def test_body_over_the_limit_is_413(invoke, sender, account):
    resp = invoke(sender.event(_padded_body(APP.MAX_BODY_BYTES + 1)))
    assert resp["statusCode"] == 413
    assert resp["json"]["error"] == "payload_too_large"
    assert account.items() == []


def test_body_over_the_limit_in_bytes_but_not_characters_is_413(invoke, sender):
    doc = json.dumps(payload(metadata={"k": ""}))[:-3]
    body = doc + '"' + "\u00e9" * ((APP.MAX_BODY_BYTES - len(doc)) // 2 + 1) + '"}}'
    assert len(body) <= APP.MAX_BODY_BYTES < len(body.encode())
    assert invoke(sender.event(body))["json"]["error"] == "payload_too_large"


def test_too_large_is_checked_before_the_signature(invoke):
    event = make_event("x" * (APP.MAX_BODY_BYTES + 1), {})
    assert invoke(event)["statusCode"] == 413


def test_base64_body_is_decoded_and_signed_as_raw_bytes(invoke, sender, account):
    doc = payload(transactionId="b64", metadata={"note": "caf\u00e9"})
    resp = invoke(sender.event(json.dumps(doc, ensure_ascii=False), b64=True))
    assert resp["statusCode"] == 200
    assert json.loads(account.transactions()[0]["metadata"]) == {"note": "caf\u00e9"}


def test_base64_body_too_long_is_rejected_before_decoding(invoke, sender):
    encoded_limit = (APP.MAX_BODY_BYTES + 2) // 3 * 4
    event = sender.event("{}", b64=True)
    event["body"] = "A" * (encoded_limit + 4)
    with mock.patch.object(APP.base64, "b64decode", side_effect=AssertionError("decoded")):
        resp = invoke(event)
    assert resp["statusCode"] == 413


def test_base64_body_decoding_to_one_byte_over_the_limit_is_413(invoke, sender):
    raw = _padded_body(APP.MAX_BODY_BYTES + 1).encode()
    event = sender.event(raw, b64=True)
    assert len(event["body"]) <= (APP.MAX_BODY_BYTES + 2) // 3 * 4
    assert invoke(event)["statusCode"] == 413


def test_base64_body_decoding_to_exactly_the_limit_is_accepted(invoke, sender):
    raw = _padded_body(APP.MAX_BODY_BYTES).encode()
    assert invoke(sender.event(raw, b64=True))["statusCode"] == 200


def test_malformed_base64_is_invalid_body(invoke, sender):
    event = sender.event("{}", b64=True)
    event["body"] = "not base64!"
    resp = invoke(event)
    assert resp["statusCode"] == 400
    assert resp["json"]["error"] == "invalid_body"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods_other_than_post_are_405(invoke, method):
    resp = invoke(make_event("{}", {}, method=method))
    assert resp["statusCode"] == 405
    assert resp["json"]["error"] == "method_not_allowed"
    assert resp["headers"]["Allow"] == "POST"


def test_error_bodies_never_carry_request_data(invoke, sender):
    secret_word = "SENSITIVE_VALUE_42"
    for body in (
        f'{{"transactionId": "{secret_word}!", "amount": 1, "currency": "USD"}}',
        f'{{"transactionId": "t", "amount": 1, "currency": "{secret_word}"}}',
        f'{{"{secret_word}": 1, "{secret_word}": 2}}',
        f'{{"transactionId": "{secret_word}"',
    ):
        resp = invoke(sender.event(body))
        assert resp["statusCode"] == 400
        assert secret_word not in resp["body"]


def test_response_is_not_affected_by_extra_event_fields(invoke, sender):
    event: dict[str, Any] = sender.event(payload())
    event["requestContext"]["authorizer"] = {"principalId": "x"}
    event["queryStringParameters"] = {"a": "b"}
    assert invoke(event)["statusCode"] == 200


def test_sender_class_signs_with_standardwebhooks(sender: Sender):
    """Guard for the helper: text bodies really go through the reference package."""
    from standardwebhooks.webhooks import Webhook

    event = sender.event('{"a": 1}', msg_id="msg_x", ts=1_700_000_000)
    headers = {k.lower(): v for k, v in event["headers"].items()}
    wh = Webhook("whsec_" + sender.secret)
    from datetime import datetime
    expected = wh.sign("msg_x", datetime.fromtimestamp(1_700_000_000, tz=UTC), '{"a": 1}')
    assert headers["webhook-signature"] == expected
    assert base64.b64decode(expected.split(",")[1])
