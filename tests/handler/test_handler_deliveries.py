"""Delivery markers in their own table: expiry, atomicity across the two tables, and the markers
earlier versions left in the transactions table (read during the upgrade window, then not)."""
from __future__ import annotations

import json
import logging
from unittest import mock

from botocore.exceptions import ClientError

from support.handler_loader import DELIVERIES, RETENTION_DAYS, TABLE, payload

DAY = 86400


def _legacy_marker(account, delivery_id: str, response: str, body_hash: str | None = None) -> None:
    """A marker as the previous version wrote it: in the transactions table, never expiring."""
    item = {"transactionId": {"S": "delivery#" + delivery_id}, "timestamp": {"N": "0"},
            "recordType": {"S": "delivery"}, "response": {"S": response},
            "receivedAt": {"S": "2024-01-01T00:00:00.000Z"}}
    if body_hash:
        item["bodyHash"] = {"S": body_hash}
    account.ddb.put_item(TableName=TABLE, Item=item)


def _stored_before_upgrade(account, invoke, sender, doc, msg_id):
    """Deliver, then move the marker where the previous version kept it, as if it had stored it."""
    first = invoke(sender.event(doc, msg_id=msg_id))
    [marker] = account.raw_items(DELIVERIES)
    account.ddb.delete_item(TableName=DELIVERIES, Key={"deliveryId": marker["deliveryId"]})
    _legacy_marker(account, msg_id, marker["response"]["S"], marker["bodyHash"]["S"])
    return first


def test_redelivery_of_a_delivery_stored_before_the_upgrade_is_a_duplicate(invoke, sender, account, request_logs):
    doc = payload(transactionId="before")
    first = _stored_before_upgrade(account, invoke, sender, doc, "msg_before")

    again = invoke(sender.event(doc, msg_id="msg_before"))

    assert (again["statusCode"], again["body"]) == (200, first["body"])
    assert [t["transactionId"] for t in account.transactions()] == ["before"]
    assert account.markers() == []  # nothing written: the transaction was cancelled whole
    assert request_logs()[-1].outcome == "duplicate"


def test_an_earlier_marker_for_another_body_is_refused(invoke, sender, account):
    _stored_before_upgrade(account, invoke, sender, payload(transactionId="first"), "msg_reused")

    reused = invoke(sender.event(payload(transactionId="second"), msg_id="msg_reused"))

    assert (reused["statusCode"], reused["json"]["error"]) == (422, "idempotency_key_reused")
    assert [t["transactionId"] for t in account.transactions()] == ["first"]


def test_an_earlier_marker_without_a_body_hash_answers_as_before(invoke, sender, account):
    stored = '{"message":"Transaction processed successfully","transactionId":"old","timestamp":1}'
    _legacy_marker(account, "msg_oldest", stored)

    again = invoke(sender.event(payload(transactionId="old"), msg_id="msg_oldest"))

    assert (again["statusCode"], again["body"]) == (200, stored)
    assert account.transactions() == []


def test_after_the_upgrade_window_earlier_markers_are_not_read(invoke, app, sender, account, clock):
    """A retention (and a day) after the deliveries table was created, a redelivery that only an
    earlier marker knew is past the retention: stored again, like any expired delivery."""
    doc = payload(transactionId="late")
    _stored_before_upgrade(account, invoke, sender, doc, "msg_late")
    clock.now = app.use_clients().legacy_until

    again = invoke(sender.event(doc, msg_id="msg_late", ts=int(clock.now)))

    assert again["statusCode"] == 200
    assert [t["transactionId"] for t in account.transactions()] == ["late", "late"]
    assert [m["deliveryId"] for m in account.markers()] == ["msg_late"]


def test_the_window_is_the_deliveries_tables_age_plus_the_retention_and_a_day(app, account):
    created = account.ddb.describe_table(TableName=DELIVERIES)["Table"]["CreationDateTime"].timestamp()
    assert app.use_clients().legacy_until == created + RETENTION_DAYS * DAY + DAY


def test_unknown_table_age_keeps_earlier_markers_checked(app, account, monkeypatch, caplog):
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeTable")
    with mock.patch("botocore.client.BaseClient._make_api_call", side_effect=denied):
        container = app.use_clients()
    assert container.legacy_until == float("inf")
    assert any("DescribeTable AccessDeniedException" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_a_redelivery_after_the_retention_is_stored_again_once(invoke, sender, account, clock):
    doc = payload(transactionId="expired")
    first = invoke(sender.event(doc, msg_id="msg_expired", ts=int(clock.now)))
    clock.now += RETENTION_DAYS * DAY + 1  # past expiresAt; DynamoDB's TTL may not have deleted it yet

    second = invoke(sender.event(doc, msg_id="msg_expired", ts=int(clock.now)))
    third = invoke(sender.event(doc, msg_id="msg_expired", ts=int(clock.now)))

    assert first["body"] != second["body"] == third["body"]  # stored again, then a duplicate of that
    assert len(account.transactions()) == 2
    [marker] = account.markers()
    assert marker["response"] == second["body"]
    assert marker["expiresAt"] == json.loads(second["body"])["timestamp"] // 1000 + RETENTION_DAYS * DAY


def test_within_the_retention_a_redelivery_is_a_duplicate(invoke, sender, account, clock):
    doc = payload(transactionId="kept")
    first = invoke(sender.event(doc, msg_id="msg_kept", ts=int(clock.now)))
    clock.now += RETENTION_DAYS * DAY - 1

    again = invoke(sender.event(doc, msg_id="msg_kept", ts=int(clock.now)))

    assert again["body"] == first["body"]
    assert len(account.transactions()) == 1


def test_the_marker_and_the_transaction_commit_together_or_not_at_all(invoke, sender, account, clock):
    """Every try's transaction key is taken: the marker, whose own condition passes, is not written."""
    ms = int(clock.now * 1000)
    for taken in range(ms, ms + 3):
        account.ddb.put_item(TableName=TABLE, Item={"transactionId": {"S": "busy"}, "timestamp": {"N": str(taken)},
                                                "recordType": {"S": "transaction"}})

    resp = invoke(sender.event(payload(transactionId="busy"), msg_id="msg_busy", ts=int(clock.now)))

    assert resp["statusCode"] == 503
    assert account.markers() == []
    assert len(account.transactions()) == 3
