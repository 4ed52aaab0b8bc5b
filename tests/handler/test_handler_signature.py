"""Standard Webhooks authentication, secret handling and signature modes."""
from __future__ import annotations

import base64
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import botocore.session
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from standardwebhooks.webhooks import Webhook

from support.handler_loader import (
    PREVIOUS_SECRET,
    SECRET,
    TABLE,
    UNKNOWN_SECRET,
    Sender,
    load_app,
    make_event,
    payload,
    record_calls,
    sign,
)


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in event["headers"].items()}


def _with_headers(body: str, headers: dict[str, str]) -> dict[str, Any]:
    return make_event(body, headers)


def test_request_signed_by_standardwebhooks_is_accepted(invoke, account):
    body = json.dumps(payload(transactionId="interop"))
    msg_id, now = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", datetime.now(tz=UTC)
    signature = Webhook("whsec_" + SECRET).sign(msg_id, now, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    # the reference verifier agrees with the request we are about to send
    assert Webhook("whsec_" + SECRET).verify(body, headers) == json.loads(body)
    resp = invoke(_with_headers(body, headers))
    assert resp["statusCode"] == 200
    assert account.transactions()[0]["deliveryId"] == msg_id


@pytest.mark.parametrize("case", [str.upper, str.title, lambda s: s[:1].upper() + s[1:], lambda s: "wEbHoOk" + s[7:]])
def test_header_names_are_case_insensitive(invoke, sender, case):
    assert invoke(sender.event(payload(), case=case))["statusCode"] == 200


def test_headers_only_in_multi_value_headers(invoke, sender):
    event = sender.event(payload())
    event["headers"] = None
    assert invoke(event)["statusCode"] == 200


def test_headers_only_in_single_value_headers(invoke, sender):
    event = sender.event(payload())
    event["multiValueHeaders"] = None
    assert invoke(event)["statusCode"] == 200


def test_repeated_signature_headers_any_may_match(invoke):
    body, ts = json.dumps(payload()), str(int(datetime.now(tz=UTC).timestamp()))
    good = sign(SECRET, "msg_rep", int(ts), body)
    bogus = sign(UNKNOWN_SECRET, "msg_rep", int(ts), body)
    event = make_event(body, {"webhook-id": "msg_rep", "webhook-timestamp": ts},
                       multi={"webhook-signature": [bogus, good]})
    assert invoke(event)["statusCode"] == 200


@pytest.mark.parametrize("template", [
    "{bogus} {good}", "{good} {bogus}", "v1a,c2lnbmF0dXJl {good}", "{good} v2,abc", "  {good}  ",
    "{bogus}  {good} v1,AAAA",
])
def test_signature_header_with_several_entries(invoke, template):
    body, ts = json.dumps(payload()), int(datetime.now(tz=UTC).timestamp())
    good, bogus = sign(SECRET, "msg_multi", ts, body), sign(UNKNOWN_SECRET, "msg_multi", ts, body)
    sig = template.format(good=good, bogus=bogus)
    event = _with_headers(body, {"webhook-id": "msg_multi", "webhook-timestamp": str(ts), "webhook-signature": sig})
    assert invoke(event)["statusCode"] == 200


def test_only_other_signature_versions_is_a_mismatch(invoke):
    body, ts = json.dumps(payload()), int(datetime.now(tz=UTC).timestamp())
    good = sign(SECRET, "msg_v", ts, body)
    sig = "v1a," + good.split(",")[1] + " v2," + good.split(",")[1]
    event = _with_headers(body, {"webhook-id": "msg_v", "webhook-timestamp": str(ts), "webhook-signature": sig})
    assert invoke(event)["json"]["error"] == "signature_mismatch"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_header(invoke, sender, account, missing):
    event = sender.event(payload())
    for key in list(event["headers"]):
        if key.lower() == missing:
            del event["headers"][key]
            del event["multiValueHeaders"][key]
    resp = invoke(event)
    assert resp["statusCode"] == 401
    assert resp["json"]["error"] == "missing_signature_headers"
    assert account.items() == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_signature_header_counts_as_missing(invoke, sender, missing):
    event = sender.event(payload())
    event["headers"][missing] = ""
    event["multiValueHeaders"][missing] = [""]
    assert invoke(event)["json"]["error"] == "missing_signature_headers"


def test_no_headers_at_all(invoke):
    event = make_event(json.dumps(payload()), {})
    event["headers"] = event["multiValueHeaders"] = None
    assert invoke(event)["json"]["error"] == "missing_signature_headers"


@pytest.mark.parametrize(("header", "value"), [
    ("webhook-timestamp", "abc"),
    ("webhook-timestamp", "1.7e9"),
    ("webhook-timestamp", "-1"),
    ("webhook-timestamp", "+1700000000"),
    ("webhook-timestamp", "1700000000.5"),
    ("webhook-timestamp", "\u0661\u0667\u0660\u0660"),  # Arabic-Indic digits: int() would accept them
    ("webhook-timestamp", "9" * 13),
    ("webhook-signature", "v1"),
    ("webhook-signature", "v1,not base64!"),
    ("webhook-signature", "v1,abc"),
    ("webhook-signature", "nocomma v1,AAAA"),
    ("webhook-id", "msg with space"),
    ("webhook-id", "msg_\u00e9"),
    ("webhook-id", "m" * 257),
    ("webhook-id", "msg\x00"),
])
def test_malformed_signature_headers(invoke, sender, account, header, value):
    event = sender.event(payload())
    event["headers"][header] = value
    event["multiValueHeaders"][header] = [value]
    resp = invoke(event)
    assert resp["statusCode"] == 401
    assert resp["json"]["error"] == "invalid_signature_headers"
    assert account.items() == []


def test_conflicting_repeated_webhook_id_is_malformed(invoke, sender):
    event = sender.event(payload(), msg_id="msg_a")
    event["multiValueHeaders"]["webhook-id"] = ["msg_a", "msg_b"]
    assert invoke(event)["json"]["error"] == "invalid_signature_headers"


def test_same_webhook_id_repeated_is_fine(invoke, sender):
    event = sender.event(payload(), msg_id="msg_a")
    event["multiValueHeaders"]["webhook-id"] = ["msg_a", "msg_a"]
    assert invoke(event)["statusCode"] == 200


def test_longest_allowed_webhook_id(invoke, sender, account):
    msg_id = "m" * 256
    assert invoke(sender.event(payload(), msg_id=msg_id))["statusCode"] == 200
    assert account.markers()[0]["deliveryId"] == msg_id


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_signature_mismatch(invoke, account, tamper):
    body, ts, msg_id = json.dumps(payload()), int(datetime.now(tz=UTC).timestamp()), "msg_t"
    signature = sign(UNKNOWN_SECRET if tamper == "secret" else SECRET, msg_id, ts, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}
    if tamper == "body":
        body = body.replace("USD", "EUR")
    elif tamper == "id":
        headers["webhook-id"] = "msg_u"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(ts - 1)
    resp = invoke(_with_headers(body, headers))
    assert resp["statusCode"] == 401
    assert resp["json"] == {"error": "signature_mismatch", "message": "No matching signature"}
    assert account.items() == []


def test_signature_covers_the_raw_bytes_not_reparsed_json(invoke):
    body, ts = '{"transactionId": "raw",  "amount": 1, "currency": "USD"}', int(datetime.now(tz=UTC).timestamp())
    signature = sign(SECRET, "msg_raw", ts, json.dumps(json.loads(body)))  # whitespace differs
    event = _with_headers(body, {"webhook-id": "msg_raw", "webhook-timestamp": str(ts), "webhook-signature": signature})
    assert invoke(event)["json"]["error"] == "signature_mismatch"


@pytest.mark.parametrize(("offset", "status"), [
    (0, 200), (-300, 200), (300, 200), (-301, 401), (301, 401), (-86400, 401), (86400 * 365, 401),
])
def test_timestamp_tolerance_is_five_minutes_both_ways(invoke, sender, clock, offset, status):
    resp = invoke(sender.event(payload(), ts=int(clock.now) + offset))
    assert resp["statusCode"] == status
    if status == 401:
        assert resp["json"]["error"] == "timestamp_out_of_tolerance"


def test_zero_timestamp_is_out_of_tolerance(invoke, sender):
    assert invoke(sender.event(payload(), ts=0))["json"]["error"] == "timestamp_out_of_tolerance"


# --- secret formats and rotation -------------------------------------------------------

@pytest.mark.parametrize("stored", [
    json.dumps({"current": SECRET}),
    json.dumps({"current": "whsec_" + SECRET}),
    json.dumps({"current": SECRET, "previous": None}),
    json.dumps({"current": SECRET, "previous": ""}),
    SECRET,
    "whsec_" + SECRET,
    "  whsec_" + SECRET + "\n",
    json.dumps({"current": base64.b64encode(base64.b64decode(SECRET)[:24]).decode().rstrip("=")}),
])
def test_accepted_secret_formats(invoke, account, stored):
    account.set_secret(stored)
    secret = stored
    if stored.lstrip().startswith("{"):
        secret = json.loads(stored)["current"]
    secret = secret.strip().removeprefix("whsec_")
    secret += "=" * (-len(secret) % 4)
    assert invoke(Sender(secret).event(payload()))["statusCode"] == 200


def test_rotation_accepts_current_and_previous_rejects_unknown(invoke, account):
    account.set_secret(json.dumps({"current": SECRET, "previous": PREVIOUS_SECRET}))
    assert invoke(Sender(SECRET).event(payload()))["statusCode"] == 200
    assert invoke(Sender(PREVIOUS_SECRET).event(payload()))["statusCode"] == 200
    resp = invoke(Sender(UNKNOWN_SECRET).event(payload()))
    assert resp["json"]["error"] == "signature_mismatch"
    assert len(account.transactions()) == 2


def test_rotation_with_prefixed_secrets_and_standardwebhooks_sender(invoke, account):
    account.set_secret(json.dumps({"current": "whsec_" + SECRET, "previous": "whsec_" + PREVIOUS_SECRET}))
    body = json.dumps(payload())
    now = datetime.now(tz=UTC)
    sig = Webhook("whsec_" + PREVIOUS_SECRET).sign("msg_prev", now, body)
    event = _with_headers(body, {"webhook-id": "msg_prev", "webhook-timestamp": str(int(now.timestamp())),
                                 "webhook-signature": sig})
    assert invoke(event)["statusCode"] == 200


def test_secret_is_fetched_once_per_container(invoke, app, account):
    sm_calls = None
    for _ in range(5):
        assert invoke(Sender().event(payload()))["statusCode"] == 200
        if sm_calls is None:
            sm_calls = record_calls(app.use_clients().sm, "secrets-manager")
    assert sm_calls == []
    new_container = load_app()  # a new container: a new client, which fetches the secret again, once
    real_create, recorded = botocore.session.Session.create_client, []

    def create_client(session: Any, service: str, **kwargs: Any) -> Any:
        made = real_create(session, service, **kwargs)
        if service == "secretsmanager":  # recorded from its creation: init-time calls count too
            recorded.append(record_calls(made, "secrets-manager"))
        return made

    with mock.patch.object(botocore.session.Session, "create_client", autospec=True, side_effect=create_client):
        for _ in range(2):
            assert invoke(Sender().event(payload()), container=new_container)["statusCode"] == 200
    assert recorded == [["GetSecretValue"]]


def test_clients_are_created_once_per_container(invoke, app):
    real_create = botocore.session.Session.create_client
    with mock.patch.object(botocore.session.Session, "create_client", autospec=True,
                           side_effect=real_create) as factory:
        for _ in range(4):
            assert invoke(Sender().event(payload()))["statusCode"] == 200
    assert sorted(c.args[1] for c in factory.call_args_list) == ["dynamodb", "secretsmanager"]
    # one botocore session for both: they share its credentials and loaded endpoint data
    assert len({id(c.args[0]) for c in factory.call_args_list}) == 1


def test_use_clients_makes_the_handler_call_the_clients_given_and_keeps_its_own_for_the_rest(invoke, app, account):
    own = app.use_clients()  # cold-starts the container: the clients it made
    secrets = own.sm
    injected = botocore.session.get_session().create_client("dynamodb", region_name="us-east-1")
    with Stubber(injected) as stub:
        stub.add_response("transact_write_items", {})
        container = app.use_clients(dynamodb=injected)
        assert invoke(Sender().event(payload()))["statusCode"] == 200
        stub.assert_no_pending_responses()
    assert container is own and container.ddb is injected
    assert container.sm is secrets  # not given: the container's own, which read the secret from moto
    assert account.items() == []  # the write went to the injected client, not to the account


class _NoEnvironment(Mapping):
    """Stands in for os.environ: every read is recorded and fails."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def _read(self, what: str) -> Any:
        self.reads.append(what)
        raise AssertionError(f"os.environ read at import: {what}")

    def __getitem__(self, key: str) -> str:
        return self._read(repr(key))

    def __iter__(self) -> Iterator[str]:
        return self._read("iteration")

    def __len__(self) -> int:
        return self._read("len()")


def test_import_creates_no_clients_and_reads_no_env():
    name, environment = "webhook_handler_import_check", _NoEnvironment()
    no_client = AssertionError("client at import")
    try:
        with mock.patch.object(botocore.session.Session, "create_client", side_effect=no_client) as create, \
                mock.patch.object(botocore.session, "get_session", side_effect=no_client) as get_session, \
                mock.patch.object(os, "environ", environment):
            module = load_app(name)
    finally:
        sys.modules.pop(name, None)
    # also catches a read or a client whose error the module swallowed
    assert environment.reads == []
    assert create.call_count == get_session.call_count == 0
    assert module.MAX_BODY_BYTES == 65536


def test_rotated_secret_is_picked_up_on_mismatch_once_the_cache_is_old(invoke, app, account, clock):
    old, new = Sender(SECRET), Sender(UNKNOWN_SECRET)
    assert invoke(old.event(payload(), ts=int(clock.now)))["statusCode"] == 200
    account.set_secret(json.dumps({"current": UNKNOWN_SECRET, "previous": SECRET}))
    sm_calls = record_calls(app.use_clients().sm, "secrets-manager")
    # a fresh cache is not re-read: a flood of bad signatures can't hammer Secrets Manager
    clock.now += app.SECRET_REFRESH_SECONDS - 1
    assert invoke(new.event(payload(), ts=int(clock.now)))["json"]["error"] == "signature_mismatch"
    assert sm_calls == []
    clock.now += 1
    assert invoke(new.event(payload(), ts=int(clock.now)))["statusCode"] == 200
    assert sm_calls == ["GetSecretValue"]
    assert invoke(old.event(payload(), ts=int(clock.now)))["statusCode"] == 200  # previous still valid
    assert invoke(Sender(PREVIOUS_SECRET).event(payload(), ts=int(clock.now)))["statusCode"] == 401
    assert sm_calls == ["GetSecretValue"]


@pytest.mark.parametrize("stored", [
    "not base64!!",
    "whsec_",
    "c2hvcnQ=",  # 5 bytes: too short to be a real key
    json.dumps({"previous": SECRET}),
    json.dumps({"current": 5}),
    json.dumps({"current": None}),
    json.dumps({"current": ""}),
    json.dumps({"current": SECRET, "previous": "%%%"}),
    json.dumps({"current": [SECRET]}),
    json.dumps({"current": {"a": 1}}),
    json.dumps([SECRET]),
    "{not json",
    "{}",
])
def test_malformed_secret_is_a_configuration_error_not_401(invoke, account, caplog, stored):
    account.set_secret(stored)
    resp = invoke(Sender().event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"]["error"] == "configuration_error"
    assert account.items() == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "configuration_error" in errors[0].getMessage()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged and (len(stored) < 8 or stored not in logged)


def test_binary_secret_is_a_configuration_error(invoke, account):
    account.sm.update_secret(SecretId=account.secret_arn, SecretBinary=b"\x00" * 32)
    assert invoke(Sender().event(payload()))["json"]["error"] == "configuration_error"


def test_configuration_error_from_secret_is_cached_only_briefly(invoke, app, account, clock):
    account.set_secret("garbage!")
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["statusCode"] == 500
    account.set_secret(json.dumps({"current": SECRET}))
    clock.now += app.SECRET_RETRY_SECONDS - 1  # still the cached failure
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["json"]["error"] == "configuration_error"
    clock.now += 1  # fixed secret, retry interval over: read again
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["statusCode"] == 200


def test_malformed_secret_is_read_once_per_retry_interval_not_per_request(invoke, app, account, clock):
    account.set_secret("garbage!")
    sm_calls = record_calls(app.use_clients().sm, "secrets-manager")
    for _ in range(50):
        assert invoke(Sender().event(payload(), ts=int(clock.now)))["json"]["error"] == "configuration_error"
        clock.now += 0.05  # 50 requests in 2.5 s
    assert sm_calls == ["GetSecretValue"]
    clock.now += app.SECRET_RETRY_SECONDS
    for _ in range(10):
        invoke(Sender().event(payload(), ts=int(clock.now)))
    assert sm_calls == ["GetSecretValue"] * 2
    assert account.items() == []


def test_revoked_key_is_refused_once_the_cached_keys_expire(invoke, app, account, clock):
    """Matching signatures never re-read the secret, so only the keys' TTL ends an old key."""
    old = Sender(SECRET)
    assert invoke(old.event(payload(), ts=int(clock.now)))["statusCode"] == 200
    sm_calls = record_calls(app.use_clients().sm, "secrets-manager")
    account.set_secret(json.dumps({"current": UNKNOWN_SECRET}))  # SECRET revoked: no "previous"
    assert app.KEY_TTL_SECONDS <= 300  # the bound: revocation within 5 minutes
    clock.now += app.KEY_TTL_SECONDS - 1
    assert invoke(old.event(payload(), ts=int(clock.now)))["statusCode"] == 200  # still cached
    assert sm_calls == []
    clock.now += 1
    resp = invoke(old.event(payload(), ts=int(clock.now)))
    assert resp["json"] == {"error": "signature_mismatch", "message": "No matching signature"}
    assert sm_calls == ["GetSecretValue"]  # one read, not one more for the mismatch
    assert invoke(Sender(UNKNOWN_SECRET).event(payload(), ts=int(clock.now)))["statusCode"] == 200
    assert sm_calls == ["GetSecretValue"]
    assert len(account.transactions()) == 3


def test_a_forged_request_whose_refresh_fails_does_not_turn_valid_deliveries_away(invoke, app, account, clock):
    """The mismatch-triggered re-read fails: the still-valid cached keys stay in use."""
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["statusCode"] == 200
    clock.now += app.SECRET_REFRESH_SECONDS  # old enough for a mismatch to trigger a re-read
    with Stubber(app.use_clients().sm) as stub:
        stub.add_client_error("get_secret_value", service_error_code="ThrottlingException", http_status_code=400)
        forged = invoke(Sender(UNKNOWN_SECRET).event(payload(), ts=int(clock.now)))
        assert forged["statusCode"] == 503  # the re-read failed: the sender may retry
        # No further read is made (the stub has no answer left), and the valid sender is served.
        valid = invoke(Sender().event(payload(), ts=int(clock.now)))
    assert valid["statusCode"] == 200
    assert len(account.transactions()) == 2
    clock.now += app.KEY_TTL_SECONDS  # but past the TTL the keys are read again, whatever happened
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["statusCode"] == 200


def test_rotation_keeps_working_across_the_key_ttl(invoke, app, account, clock):
    account.set_secret(json.dumps({"current": UNKNOWN_SECRET, "previous": SECRET}))
    for _ in range(3):
        for secret in (SECRET, UNKNOWN_SECRET):
            assert invoke(Sender(secret).event(payload(), ts=int(clock.now)))["statusCode"] == 200
        clock.now += app.KEY_TTL_SECONDS


@pytest.mark.parametrize("code", ["InternalServiceError", "ThrottlingException", "ServiceUnavailable"])
def test_secrets_manager_unavailable_is_503(invoke, app, account, clock, code):
    with Stubber(app.use_clients().sm) as stub:
        stub.add_client_error("get_secret_value", service_error_code=code, http_status_code=500)
        resp = invoke(Sender().event(payload(), ts=int(clock.now)))
        # cached briefly: a throttled Secrets Manager is not asked again at once (the stub
        # would fail the call, having no second answer)
        again = invoke(Sender().event(payload(), ts=int(clock.now)))
    assert resp["statusCode"] == again["statusCode"] == 503
    assert resp["json"]["error"] == "service_unavailable"
    assert resp["headers"]["Retry-After"] == again["headers"]["Retry-After"] == "5"
    assert account.items() == []
    # then the next request fetches again and succeeds
    clock.now += app.SECRET_RETRY_SECONDS
    assert invoke(Sender().event(payload(), ts=int(clock.now)))["statusCode"] == 200


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
])
def test_secrets_manager_network_failure_is_503(invoke, app, account, exc):
    with mock.patch.object(app.use_clients().sm, "get_secret_value", side_effect=exc):
        resp = invoke(Sender().event(payload()))
    assert resp["statusCode"] == 503
    assert resp["json"]["error"] == "service_unavailable"
    assert resp["headers"]["Retry-After"] == "5"
    assert account.items() == []


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"])
def test_secret_not_readable_is_a_configuration_error(invoke, app, code):
    with Stubber(app.use_clients().sm) as stub:
        stub.add_client_error("get_secret_value", service_error_code=code, http_status_code=400)
        resp = invoke(Sender().event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"]["error"] == "configuration_error"


def test_deleted_secret_in_moto_is_a_configuration_error(invoke, account):
    account.sm.delete_secret(SecretId=account.secret_arn, ForceDeleteWithoutRecovery=True)
    assert invoke(Sender().event(payload()))["json"]["error"] == "configuration_error"


# --- SIGNATURE_MODE ----------------------------------------------------------------------

def _none_mode(monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    monkeypatch.setenv("SIGNATURE_MODE", "none")
    monkeypatch.delenv("SIGNING_SECRET_ARN")  # read at the first request


def test_signature_mode_none_accepts_unsigned_and_warns_at_every_cold_start(invoke, app, account, caplog, monkeypatch):
    _none_mode(monkeypatch, app)
    caplog.set_level(logging.INFO, logger="webhook")
    body = json.dumps(payload())
    assert invoke(make_event(body, {}))["statusCode"] == 200
    assert invoke(make_event(json.dumps(payload()), {}))["statusCode"] == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "SIGNATURE_MODE=none" in warnings[0].getMessage()
    # the next cold start warns again
    assert invoke(make_event(json.dumps(payload()), {}), container=load_app())["statusCode"] == 200
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_signature_mode_none_ignores_bad_signatures_and_uses_the_webhook_id(invoke, app, account, monkeypatch):
    _none_mode(monkeypatch, app)
    body = json.dumps(payload())
    event = make_event(body, {"webhook-id": "msg_dev", "webhook-signature": "v1,garbage"})
    first = invoke(event)
    assert first["statusCode"] == 200
    assert account.transactions()[0]["deliveryId"] == "msg_dev"
    second = invoke(make_event(body, {"Webhook-Id": "msg_dev"}))
    assert second["body"] == first["body"]
    # the id is bound to its body here too
    assert invoke(make_event(json.dumps(payload()), {"webhook-id": "msg_dev"}))["statusCode"] == 422
    assert len(account.transactions()) == 1


def test_signature_mode_none_without_webhook_id_is_idempotent_on_the_body_hash(invoke, app, account, monkeypatch):
    import hashlib

    _none_mode(monkeypatch, app)
    body = json.dumps(payload(transactionId="same"))
    first, second = invoke(make_event(body, {})), invoke(make_event(body, {}))
    assert first["statusCode"] == second["statusCode"] == 200
    assert first["body"] == second["body"]
    [item] = account.transactions()
    assert item["deliveryId"] == "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    invalid_id = make_event(body, {"webhook-id": "has space"})
    assert invoke(invalid_id)["body"] == first["body"]  # falls back to the same body hash


def test_signature_mode_standard_webhooks_explicit(invoke, app, monkeypatch):
    monkeypatch.setenv("SIGNATURE_MODE", "standard-webhooks")
    assert invoke(make_event(json.dumps(payload()), {}))["json"]["error"] == "missing_signature_headers"
    assert invoke(Sender().event(payload()))["statusCode"] == 200


@pytest.mark.parametrize("mode", ["None", "NONE", "off", "false", "Standard-Webhooks", "standard_webhooks", " none"])
def test_unknown_signature_mode_fails_closed(invoke, app, account, caplog, monkeypatch, mode):
    monkeypatch.setenv("SIGNATURE_MODE", mode)
    for event in (Sender().event(payload()), make_event(json.dumps(payload()), {})):
        resp = invoke(event)
        assert resp["statusCode"] == 500
        assert resp["json"]["error"] == "configuration_error"
    assert account.items() == []
    reasons = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(reasons) == 2 and all("SIGNATURE_MODE" in m for m in reasons)


@pytest.mark.parametrize("missing", ["TABLE_NAME", "SIGNING_SECRET_ARN", "DELIVERIES_TABLE_NAME",
                                     "DELIVERY_RETENTION_DAYS"])
def test_missing_environment_is_a_configuration_error(invoke, app, account, monkeypatch, missing):
    monkeypatch.delenv(missing)
    assert invoke(Sender().event(payload()))["json"]["error"] == "configuration_error"
    assert account.items() == []


@pytest.mark.parametrize("days", ["0", "-1", "1.5", "", "10000", "\u0661"])
def test_retention_not_a_whole_number_of_days_is_a_configuration_error(invoke, app, account, monkeypatch, days):
    monkeypatch.setenv("DELIVERY_RETENTION_DAYS", days)
    assert invoke(Sender().event(payload()))["json"]["error"] == "configuration_error"
    assert account.items() == [] and account.markers() == []


def test_wrong_table_is_an_internal_error_without_details(invoke, app, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    resp = invoke(Sender().event(payload()))
    assert resp["statusCode"] == 500
    assert resp["json"] == {"error": "internal_error", "message": "Internal error"}
    assert TABLE not in resp["body"] and "no-such-table" not in resp["body"]
