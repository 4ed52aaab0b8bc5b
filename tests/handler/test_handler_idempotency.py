"""Exactly-once storage: the delivery marker transaction, duplicates, concurrency, failures."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import botocore.session
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from support.handler_loader import DELIVERIES, RETENTION_DAYS, TABLE, payload, record_calls

REAL_CANCEL_MESSAGE = ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                       "[ConditionalCheckFailed, None]")


def _cancelled(stub: Stubber, *codes: str) -> None:
    """TransactionCanceledException exactly as real DynamoDB reports it through botocore:
    CancellationReasons is a top-level modeled field, one entry per item, and an item that
    did not fail has the literal string Code "None" and no Message."""
    reasons = [{"Code": c} if c == "None" else {"Code": c, "Message": "reason for " + c} for c in codes]
    stub.add_client_error("transact_write_items", service_error_code="TransactionCanceledException",
                          service_message=REAL_CANCEL_MESSAGE, http_status_code=400,
                          modeled_fields={"CancellationReasons": reasons} if reasons else None)


def _legacy_key(key: str) -> dict[str, dict[str, str]]:
    """Where the previous version kept a delivery's marker: in the transactions table."""
    return {"transactionId": {"S": "delivery#" + key}, "timestamp": {"N": "0"}}


def _marker_read(stub: Stubber, key: str, response: str | None, body_hash: str | None = None,
                 legacy: bool = False) -> None:
    """A marker read (``legacy``: the previous version's, in the transactions table); without
    body_hash the marker is one written before markers kept it."""
    item = {"receivedAt": {"S": "2024-01-01T00:00:00.000Z"}}
    item.update({**_legacy_key(key), "recordType": {"S": "delivery"}} if legacy else {"deliveryId": {"S": key}})
    if response is not None:
        item["response"] = {"S": response}
    if body_hash is not None:
        item["bodyHash"] = {"S": body_hash}
    where = {"TableName": TABLE, "Key": _legacy_key(key)} if legacy else {
        "TableName": DELIVERIES, "Key": {"deliveryId": {"S": key}}}
    stub.add_response("get_item", {"Item": item} if response is not None else {},
                      expected_params={**where, "ConsistentRead": True})


def _upgraded_long_ago(app):
    """The container, its deliveries table older than the retention: no earlier markers checked."""
    container = app.use_clients()
    container.legacy_until = 0
    return container


def test_duplicate_delivery_returns_the_identical_original_body(invoke, sender, account, request_logs):
    event = sender.event(payload(transactionId="dup"), msg_id="msg_dup")
    first = invoke(event)
    second = invoke(event)
    third = invoke(event)
    assert first["statusCode"] == second["statusCode"] == third["statusCode"] == 200
    assert first["body"] == second["body"] == third["body"]
    assert len(account.transactions()) == 1
    assert len(account.markers()) == 1
    assert [r.outcome for r in request_logs()] == ["processed", "duplicate", "duplicate"]


def test_retry_with_a_new_timestamp_and_signature_is_still_a_duplicate(invoke, sender, account, clock):
    doc = payload(transactionId="retry")
    first = invoke(sender.event(doc, msg_id="msg_retry", ts=int(clock.now)))
    clock.now += 30  # sender's retry schedule: re-signed later, same webhook-id
    second = invoke(sender.event(doc, msg_id="msg_retry", ts=int(clock.now)))
    assert second["body"] == first["body"]
    assert json.loads(second["body"])["timestamp"] == json.loads(first["body"])["timestamp"]
    assert len(account.transactions()) == 1


def test_same_webhook_id_with_a_different_body_is_refused_and_stores_nothing(invoke, sender, account, request_logs):
    original = payload(transactionId="orig")
    first = invoke(sender.event(original, msg_id="msg_same"))
    stored = account.items()
    reused = invoke(sender.event(payload(transactionId="other"), msg_id="msg_same"))
    assert reused["statusCode"] == 422
    assert reused["json"] == {"error": "idempotency_key_reused",
                              "message": "webhook-id was already used for a different body"}
    assert account.items() == stored  # nothing new, nothing changed
    assert [t["transactionId"] for t in account.transactions()] == ["orig"]
    assert [(r.outcome, r.reason, r.statusCode, r.deliveryId) for r in request_logs()][-1] == (
        "rejected", "idempotency_key_reused", 422, "msg_same")
    # the same body, re-signed later as a retry, still gets the original answer
    assert invoke(sender.event(original, msg_id="msg_same"))["body"] == first["body"]


def test_marker_keeps_the_sha256_of_the_signed_body(invoke, sender, account):
    body = json.dumps(payload(transactionId="hashed"))
    invoke(sender.event(body, msg_id="msg_hash"))
    [marker] = account.markers()
    assert marker["bodyHash"] == hashlib.sha256(body.encode()).hexdigest()


def test_concurrent_copy_with_another_body_is_refused(invoke, app, sender, clock):
    _upgraded_long_ago(app)
    stored = '{"message":"Transaction processed successfully","transactionId":"c","timestamp":1}'
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "TransactionConflict", "None")
        _marker_read(stub, "msg_other", stored, body_hash="0" * 64)
        resp = invoke(sender.event(payload(transactionId="c"), msg_id="msg_other", ts=int(clock.now)))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 422
    assert resp["json"]["error"] == "idempotency_key_reused"


def test_marker_from_before_body_hashes_still_answers_the_original(invoke, app, sender):
    """Markers written by older handler versions (in the transactions table) have no bodyHash:
    a retry after the deploy must still get its original response, not a 422."""
    app.use_clients()  # within the upgrade window
    stored = '{"message":"Transaction processed successfully","transactionId":"old","timestamp":1}'
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "None", "None", "ConditionalCheckFailed")
        _marker_read(stub, "msg_legacy", None)
        _marker_read(stub, "msg_legacy", stored, legacy=True)
        resp = invoke(sender.event(payload(transactionId="old"), msg_id="msg_legacy"))
        stub.assert_no_pending_responses()
    assert (resp["statusCode"], resp["body"]) == (200, stored)


def test_distinct_deliveries_with_the_same_transaction_id_store_two_items(invoke, sender, account):
    doc = payload(transactionId="same-tx")
    first = invoke(sender.event(doc, msg_id="msg_1"))
    second = invoke(sender.event(doc, msg_id="msg_2"))
    assert first["statusCode"] == second["statusCode"] == 200
    items = account.transactions()
    assert sorted(i["deliveryId"] for i in items) == ["msg_1", "msg_2"]
    assert len({i["timestamp"] for i in items}) == 2
    assert len(account.markers()) == 2


def test_same_transaction_id_in_the_same_millisecond_moves_to_the_next(invoke, sender, account, clock):
    doc = payload(transactionId="same-ms")
    first = invoke(sender.event(doc, msg_id="msg_a", ts=int(clock.now)))
    second = invoke(sender.event(doc, msg_id="msg_b", ts=int(clock.now)))
    t1, t2 = json.loads(first["body"])["timestamp"], json.loads(second["body"])["timestamp"]
    assert t2 == t1 + 1
    assert sorted(int(i["timestamp"]) for i in account.transactions()) == [t1, t2]


def test_persistent_key_collisions_give_503(invoke, app, sender, account, clock):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        for _ in range(3):
            _cancelled(stub, "None", "ConditionalCheckFailed")
        resp = invoke(sender.event(payload()))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 503


def test_concurrent_duplicates_store_exactly_once(app, sender, account, request_logs, serial_moto_transactions):
    assert app.lambda_handler(sender.event(payload()), None)["statusCode"] == 200  # warm container
    ddb_calls = record_calls(app.use_clients().ddb, "dynamodb")
    # hold every thread just before its TransactWriteItems until all 8 are there, so the
    # copies really are in flight together (none can see another's marker beforehand)
    barrier = threading.Barrier(8, timeout=30)

    def wait_for_all(**_: object) -> None:  # must return None, or botocore takes it as the response
        barrier.wait()

    app.use_clients().ddb.meta.events.register("before-call.dynamodb.TransactWriteItems", wait_for_all)
    event = sender.event(payload(transactionId="race"), msg_id="msg_race")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: app.lambda_handler(json.loads(json.dumps(event)), None), range(8)))

    assert {r["statusCode"] for r in responses} == {200}
    assert len({r["body"] for r in responses}) == 1
    assert [t["transactionId"] for t in account.transactions()].count("race") == 1
    assert len([m for m in account.markers() if m["deliveryId"] == "msg_race"]) == 1
    outcomes = sorted(r.outcome for r in request_logs()[1:])
    # the conditional path really ran: one writer, seven cancelled then read back the marker
    assert outcomes == ["duplicate"] * 7 + ["processed"]
    assert ddb_calls.count("TransactWriteItems") == 8
    assert ddb_calls.count("GetItem") >= 7


def test_real_dynamodb_cancellation_shape_returns_the_stored_response(invoke, app, sender, account, request_logs):
    _upgraded_long_ago(app)
    stored = '{"message":"Transaction processed successfully","transactionId":"orig","timestamp":1700000000000}'
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "ConditionalCheckFailed", "None")
        _marker_read(stub, "msg_real", stored)
        resp = invoke(sender.event(payload(transactionId="orig"), msg_id="msg_real"))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 200
    assert resp["body"] == stored
    assert request_logs()[-1].outcome == "duplicate"


def test_moto_reports_cancellation_in_the_same_shape(app, sender, account):
    """If moto's shape drifted from the real one, the moto-backed duplicate tests would
    silently exercise a different path; pin what moto sends, across both tables."""
    app.lambda_handler(sender.event(payload(), msg_id="msg_shape"), None)
    now = {":now": {"N": "0"}}
    other = {"transactionId": {"S": "other"}, "timestamp": {"N": "1"}}
    cond = "attribute_not_exists(transactionId)"
    with pytest.raises(app.use_clients().ddb.exceptions.TransactionCanceledException) as info:
        app.use_clients().ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": DELIVERIES, "Item": {"deliveryId": {"S": "msg_shape"}},
                     "ConditionExpression": "attribute_not_exists(deliveryId) OR expiresAt < :now",
                     "ExpressionAttributeValues": now}},
            {"Put": {"TableName": TABLE, "Item": other, "ConditionExpression": cond}},
            {"ConditionCheck": {"TableName": TABLE, "Key": _legacy_key("msg_shape"), "ConditionExpression": cond}},
        ])
    reasons = info.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None", "None"]


def test_transaction_conflict_then_marker_appears(invoke, app, sender, clock):
    _upgraded_long_ago(app)
    stored = '{"message":"Transaction processed successfully","transactionId":"c","timestamp":1}'
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "TransactionConflict", "None")
        _marker_read(stub, "msg_conf", None)
        _marker_read(stub, "msg_conf", stored)
        resp = invoke(sender.event(payload(transactionId="c"), msg_id="msg_conf", ts=int(clock.now)))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 200
    assert resp["body"] == stored
    assert clock.slept == [0.05]  # one brief pause before reading again


def test_transaction_conflict_on_the_transaction_item_is_also_resolved(invoke, app, sender, clock):
    _upgraded_long_ago(app)
    stored = '{"message":"Transaction processed successfully","transactionId":"c","timestamp":1}'
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "None", "TransactionConflict")
        _marker_read(stub, "msg_conf2", stored)
        resp = invoke(sender.event(payload(transactionId="c"), msg_id="msg_conf2", ts=int(clock.now)))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 200
    assert resp["body"] == stored
    assert clock.slept == []  # the marker was there at the first read


def test_an_expired_marker_answers_no_redelivery_even_before_ttl_deletes_it(invoke, app, sender, account, clock):
    """The write treats a marker past expiresAt as gone, so the read must too: a copy that lost a
    conflict to another copy of a redelivery after the retention must not answer 200 from the old marker
    (the other copy may yet fail); it answers 503 and the sender retries."""
    _upgraded_long_ago(app)
    expired = {"deliveryId": {"S": "msg_old"}, "expiresAt": {"N": str(int(clock.now) - 1)},
               "response": {"S": '{"message":"Transaction processed successfully","transactionId":"o","timestamp":1}'},
               "receivedAt": {"S": "2024-01-01T00:00:00.000Z"}}
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "TransactionConflict", "None")
        for _ in range(3):
            stub.add_response("get_item", {"Item": expired})
        resp = invoke(sender.event(payload(transactionId="o"), msg_id="msg_old", ts=int(clock.now)))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 503
    assert resp["json"]["error"] == "service_unavailable"


def test_transaction_conflict_without_a_marker_is_503(invoke, app, sender, account, clock):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "TransactionConflict", "None")
        for _ in range(3):
            _marker_read(stub, "msg_inflight", None)
        resp = invoke(sender.event(payload(), msg_id="msg_inflight", ts=int(clock.now)))
        stub.assert_no_pending_responses()
    assert resp["statusCode"] == 503
    assert resp["json"]["error"] == "service_unavailable"
    assert resp["headers"]["Retry-After"] == "5"
    assert account.items() == []
    assert clock.slept == [0.05, 0.2]  # bounded: three reads, pauses only between them, well under a second


@pytest.mark.parametrize("code", [
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException", "TransactionConflictException",
])
def test_dynamodb_throttled_or_unavailable_is_503_and_writes_nothing(invoke, app, sender, account, code, request_logs):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error("transact_write_items", service_error_code=code, service_message="boom",
                              http_status_code=400 if "Exceeded" in code or "Throttl" in code else 500)
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 503
    assert resp["json"] == {"error": "service_unavailable", "message": "Temporarily unavailable, retry later"}
    assert resp["headers"]["Retry-After"] == "5"
    assert account.items() == []
    assert request_logs()[-1].reason == "service_unavailable"


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_transaction_cancelled_by_throttling_is_503(invoke, app, sender, account, reason):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "None", reason)
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 503
    assert account.items() == []


@pytest.mark.parametrize("reasons", [("ValidationError", "None"), ("None", "ItemCollectionSizeLimitExceeded"), ()])
def test_transaction_cancelled_for_other_reasons_is_500(invoke, app, sender, account, reasons):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, *reasons)
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"]["error"] == "internal_error"


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
])
def test_dynamodb_network_failures_are_503(invoke, app, sender, account, exc):
    with mock.patch.object(app.use_clients().ddb, "transact_write_items", side_effect=exc):
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 503
    assert resp["headers"]["Retry-After"] == "5"
    assert account.items() == []


def test_marker_read_throttled_is_503(invoke, app, sender):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        _cancelled(stub, "ConditionalCheckFailed", "None")
        stub.add_client_error("get_item", service_error_code="ProvisionedThroughputExceededException",
                              http_status_code=400)
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 503


def test_non_transient_dynamodb_error_is_500_without_detail(invoke, app, sender, account, caplog):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error("transact_write_items", service_error_code="ValidationException",
                              service_message="One or more parameter values were invalid: SECRETDETAIL")
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"] == {"error": "internal_error", "message": "Internal error"}
    assert "SECRETDETAIL" not in caplog.text
    assert "ValidationException" in caplog.text


def test_unexpected_exception_is_500_without_leaking_its_text(invoke, app, sender, account, caplog):
    leak = "Traceback-ish secret text 8c1f"
    with mock.patch.object(app.use_clients().ddb, "transact_write_items", side_effect=RuntimeError(leak)):
        resp = invoke(sender.event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"] == {"error": "internal_error", "message": "Internal error"}
    assert leak not in resp["body"]
    assert leak not in caplog.text
    assert "RuntimeError" in caplog.text


def test_unexpected_exception_in_parsing_is_500(invoke, app, sender):
    with mock.patch.object(app, "_validate", side_effect=KeyError("boom")):
        resp = invoke(sender.event(payload()))
    assert resp["json"]["error"] == "internal_error"


def test_client_creation_failure_is_500_and_retried_next_request(invoke, app, sender):
    with mock.patch.object(botocore.session.Session, "create_client", side_effect=RuntimeError("no region")):
        assert invoke(sender.event(payload()))["statusCode"] == 500
    assert invoke(sender.event(payload()))["statusCode"] == 200


def test_only_transact_write_items_and_get_item_are_called(invoke, app, sender, account, clock):
    """The template's IAM policy grants dynamodb:PutItem and dynamodb:GetItem only."""
    calls = record_calls(app.use_clients().ddb, "dynamodb")
    doc = payload(transactionId="iam")
    invoke(sender.event(doc, msg_id="m1", ts=int(clock.now)))   # processed
    invoke(sender.event(doc, msg_id="m1", ts=int(clock.now)))   # duplicate
    invoke(sender.event(doc, msg_id="m2", ts=int(clock.now)))   # same ms: collision then next ms
    invoke(sender.event({"bad": 1}, ts=int(clock.now)))         # rejected before DynamoDB
    assert set(calls) == {"TransactWriteItems", "GetItem"}
    assert calls == ["TransactWriteItems", "TransactWriteItems", "GetItem", "TransactWriteItems", "TransactWriteItems"]


def _request_shape(body: str, now: int, *legacy: dict) -> dict:
    cond = "attribute_not_exists(transactionId)"
    return {"TransactItems": [
        {"Put": {"TableName": DELIVERIES, "ConditionExpression": "attribute_not_exists(deliveryId) OR expiresAt < :now",
                 "ExpressionAttributeValues": {":now": {"N": str(now)}}, "Item": {
                     "deliveryId": {"S": "msg_shape"}, "response": {"S": ANY}, "receivedAt": {"S": ANY},
                     "bodyHash": {"S": hashlib.sha256(body.encode()).hexdigest()},
                     "expiresAt": {"N": str(now + RETENTION_DAYS * 86400)}}}},
        {"Put": {"TableName": TABLE, "ConditionExpression": cond, "Item": {
            "transactionId": {"S": "t-shape"}, "timestamp": {"N": ANY}, "recordType": {"S": "transaction"},
            "amount": {"N": "0.10"}, "currency": {"S": "USD"}, "status": {"S": "pending"},
            "metadata": {"S": "{}"}, "receivedAt": {"S": ANY}, "deliveryId": {"S": "msg_shape"}}}},
        *legacy,
    ]}


def test_transaction_request_shape(invoke, app, sender, clock):
    _upgraded_long_ago(app)
    body = '{"transactionId": "t-shape", "amount": 0.10, "currency": "USD"}'
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_response("transact_write_items", {}, expected_params=_request_shape(body, int(clock.now)))
        assert invoke(sender.event(body, msg_id="msg_shape", ts=int(clock.now)))["statusCode"] == 200
        stub.assert_no_pending_responses()


def test_within_the_upgrade_window_the_write_also_checks_the_earlier_marker(invoke, app, sender, clock):
    """One transaction: the marker, the transaction and the absence of the previous version's marker."""
    assert app.use_clients().legacy_until > clock.now  # the deliveries table was just created
    body = '{"transactionId": "t-shape", "amount": 0.10, "currency": "USD"}'
    check = {"ConditionCheck": {"TableName": TABLE, "Key": _legacy_key("msg_shape"),
                                "ConditionExpression": "attribute_not_exists(transactionId)"}}
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_response("transact_write_items", {}, expected_params=_request_shape(body, int(clock.now), check))
        assert invoke(sender.event(body, msg_id="msg_shape", ts=int(clock.now)))["statusCode"] == 200
        stub.assert_no_pending_responses()


def test_each_accepted_delivery_writes_two_small_items(invoke, sender, account):
    """Cost model in docs/handler.md: two items under 1 KB each = 4 write units."""
    doc = payload(metadata={"orderId": "o-123", "customer": "c-456"})
    invoke(sender.event(doc))
    raw = account.raw_items() + account.raw_items(DELIVERIES)
    assert len(raw) == 2
    for item in raw:
        size = sum(len(k.encode()) + len(next(iter(v.values())).encode()) for k, v in item.items())
        assert size < 1024


def test_failed_write_logs_one_request_line(invoke, app, sender, request_logs):
    _upgraded_long_ago(app)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error("transact_write_items", service_error_code="ThrottlingException")
        invoke(sender.event(payload()))
    [line] = request_logs()
    assert line.levelno == logging.INFO and line.statusCode == 503
