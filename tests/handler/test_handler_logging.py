"""One structured INFO line per request; nothing sensitive in any log record."""
from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from botocore.stub import Stubber

from support.handler_loader import SECRET, Sender, load_app, make_event, payload

FIELDS = ("outcome", "statusCode", "transactionId", "deliveryId", "latencyMs", "reason", "environment",
          "deliveries", "_aws")


def _all_log_text(records: list[logging.LogRecord]) -> str:
    """Everything a JSON log formatter could emit for these records, extras included."""
    out = []
    for r in records:
        out.append(r.getMessage())
        out.extend(repr(v) for k, v in vars(r).items() if k not in ("msg", "args"))
        if r.exc_info:
            out.append(logging.Formatter().formatException(r.exc_info))
    return "\n".join(out)


def test_success_line(invoke, sender, request_logs):
    resp = invoke(sender.event(payload(transactionId="log-ok"), msg_id="msg_log"))
    [line] = request_logs()
    assert line.levelno == logging.INFO
    assert line.getMessage() == "webhook request"
    assert {f: getattr(line, f) for f in FIELDS[:4]} == {
        "outcome": "processed", "statusCode": 200, "transactionId": "log-ok", "deliveryId": "msg_log"}
    assert isinstance(line.latencyMs, float) and line.latencyMs >= 0
    assert resp["statusCode"] == 200


@pytest.mark.parametrize(("mutate", "status", "reason"), [
    (lambda e: e["headers"].clear() or e["multiValueHeaders"].clear(), 401, "missing_signature_headers"),
    (lambda e: e.update(body='{"transactionId": 1}'), 401, "signature_mismatch"),
    (lambda e: e.update(httpMethod="GET"), 405, "method_not_allowed"),
    (lambda e: e.update(body="x" * 70000), 413, "payload_too_large"),
])
def test_rejection_lines(invoke, sender, request_logs, mutate, status, reason):
    event = sender.event(payload())
    mutate(event)
    invoke(event)
    [line] = request_logs()
    assert (line.statusCode, line.outcome, line.reason) == (status, "rejected", reason)
    assert line.transactionId is None and line.deliveryId is None  # unverified ids are not logged


def test_validation_failure_line_names_the_delivery(invoke, sender, request_logs):
    invoke(sender.event(payload(amount=-1), msg_id="msg_bad"))
    [line] = request_logs()
    assert (line.statusCode, line.outcome, line.reason, line.deliveryId, line.transactionId) == (
        400, "rejected", "validation_failed", "msg_bad", None)


def test_duplicate_line(invoke, sender, request_logs):
    event = sender.event(payload(transactionId="d"), msg_id="msg_d")
    invoke(event)
    invoke(event)
    assert [(r.outcome, r.transactionId, r.deliveryId) for r in request_logs()] == [
        ("processed", "d", "msg_d"), ("duplicate", "d", "msg_d")]


def test_exactly_one_info_line_per_request_across_outcomes(invoke, app, sender, caplog, request_logs):
    caplog.set_level(logging.DEBUG)
    events = [sender.event(payload()), sender.event("[]"), make_event("{}", {}), sender.event(payload())]
    for event in events:
        invoke(event)
    with Stubber(app.use_clients().ddb) as stub:
        stub.add_client_error("transact_write_items", service_error_code="ThrottlingException")
        invoke(sender.event(payload()))
    with mock.patch.object(app, "_parse", side_effect=ValueError("x")):
        invoke(sender.event(payload()))
    infos = [r for r in caplog.records if r.name == "webhook" and r.levelno == logging.INFO]
    assert len(infos) == len(request_logs()) == 6
    assert [r.statusCode for r in infos] == [200, 400, 401, 200, 503, 500]


def test_logs_never_contain_body_headers_signature_or_secret(invoke, app, account, caplog):
    # Lambda's default application log level is INFO (botocore's DEBUG output, which does
    # echo requests, is off); everything of the handler's own is captured down to DEBUG
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="webhook")
    marker = "PII-4111111111111111"
    sender = Sender()
    doc = payload(transactionId="pii", metadata={"card": marker, "email": "someone@example.com"})
    event = sender.event(doc, msg_id="msg_pii")
    signature = event["headers"]["webhook-signature"]
    invoke(event)
    invoke(event)  # duplicate
    invoke(sender.event(payload(amount=marker)))  # validation failure quoting the body
    # a wrong signature in both header maps (the handler reads both), so it really is rejected
    bad_signature = "v1,AAAA" + signature[7:]
    rejected = invoke(sender.event(doc, extra={"webhook-signature": bad_signature}))
    assert rejected["json"]["error"] == "signature_mismatch"
    account.set_secret(json.dumps({"current": "not base64 " + SECRET}))
    invoke(sender.event(doc), container=load_app())  # a new container: a configuration error reading the secret
    text = _all_log_text(caplog.records)
    for needle in (marker, "someone@example.com", signature, signature.split(",")[1], bad_signature,
                   bad_signature.split(",")[1], SECRET, event["body"], '"card"'):
        assert needle not in text


def test_debug_level_logs_carry_no_request_data_or_secret(invoke, app, account, caplog, clock):
    """At DEBUG on the root logger, botocore would log every request and response: the
    amount, the metadata, the signature's inputs and the secret's value. The handler pins
    botocore and urllib3 at WARNING, so nothing of them reaches any log record."""
    caplog.set_level(logging.DEBUG)
    amount, card, email = "987654.32", "PII-4111111111111111", "someone@example.com"
    doc = payload(transactionId="debug-pii", amount=float(amount), metadata={"card": card, "email": email})
    sender = Sender()
    event = sender.event(doc, msg_id="msg_debug", ts=int(clock.now))
    signature = event["headers"]["webhook-signature"]
    assert invoke(event)["statusCode"] == 200  # secret read, transaction written
    assert invoke(event)["statusCode"] == 200  # duplicate: the marker read back
    reused = sender.event(payload(amount=float(amount), metadata={"card": card}), msg_id="msg_debug")
    assert invoke(reused)["statusCode"] == 422
    clock.now += app.KEY_TTL_SECONDS  # the keys expire: the secret is read again
    assert invoke(sender.event(doc, ts=int(clock.now)))["statusCode"] == 200
    # moto stands in for AWS (it is not in the function) and logs what it receives: left out
    records = [r for r in caplog.records if not r.name.startswith("moto")]
    assert any(r.name == "webhook" for r in records)  # the capture works at all
    text = _all_log_text(records)
    for needle in (amount, card, email, signature, signature.split(",")[1], SECRET, '"card"'):
        assert needle not in text
    assert logging.getLogger("botocore").level == logging.WARNING
    assert logging.getLogger("urllib3").level == logging.WARNING


def test_without_the_pin_botocore_would_log_the_secret(app, account, caplog):
    """The control for the test above: at DEBUG, botocore really does log the secret's value,
    so the pin is what keeps it out."""
    caplog.set_level(logging.DEBUG)
    app.use_clients()  # the handler's import pinned botocore at WARNING
    botocore_logger = logging.getLogger("botocore")
    botocore_logger.setLevel(logging.DEBUG)
    try:
        app.use_clients().sm.get_secret_value(SecretId=account.secret_arn)
    finally:
        botocore_logger.setLevel(logging.WARNING)
    assert SECRET in _all_log_text([r for r in caplog.records if r.name.startswith("botocore")])


def test_none_mode_warning_has_no_request_data(invoke, app, caplog, monkeypatch):
    monkeypatch.setenv("SIGNATURE_MODE", "none")
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="webhook")
    invoke(make_event(json.dumps(payload(metadata={"x": "PII-123"})), {}))
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == "SIGNATURE_MODE=none: signatures are NOT verified (local development only)"
    assert "PII-123" not in _all_log_text(caplog.records)


def test_extra_fields_survive_a_json_formatter(invoke, sender, request_logs):
    """Lambda's JSON log format emits ``extra`` keys; make sure they are JSON-serializable."""
    invoke(sender.event(payload()))
    [line] = request_logs()
    json.dumps({f: getattr(line, f) for f in FIELDS})
