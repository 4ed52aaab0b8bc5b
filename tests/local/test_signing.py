"""Standard Webhooks signing agrees with the reference ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import datetime
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from webhook_templates.config import ConfigError
from webhook_templates.local import signing


def test_signature_matches_the_reference_implementation() -> None:
    secret = signing.generate_secret()
    body = '{"transactionId":"t1","amount":1,"currency":"USD"}'
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    ours = signing.signature(secret, "msg_1", int(moment.timestamp()), body.encode())
    assert ours == Webhook(secret).sign("msg_1", moment, body)


def test_signed_headers_verify_with_the_reference_implementation() -> None:
    secret = signing.generate_secret()
    body = json.dumps({"transactionId": "t2", "amount": 5, "currency": "EUR"})
    headers = signing.signed_headers(secret, body.encode(), signing.new_message_id())
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    Webhook(secret).verify(body, headers)  # raises on a mismatch


def test_generated_secrets_are_32_random_bytes() -> None:
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode(), ""])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(signing.SecretFormatError):
        signing.secret_key(secret)


def test_prefix_is_optional_for_the_key() -> None:
    key = base64.b64encode(b"k" * 24).decode()
    assert signing.secret_key(key) == signing.secret_key("whsec_" + key) == b"k" * 24


@pytest.mark.parametrize(("stored", "expected"), [
    ('{"current": "abc", "previous": "old"}', "whsec_abc"),
    ('{"current": "whsec_abc"}', "whsec_abc"),
    ("abc", "whsec_abc"),
    ("whsec_abc\n", "whsec_abc"),
])
def test_stored_secret_becomes_the_senders_form(stored: str, expected: str) -> None:
    assert signing.with_prefix(stored) == expected


def test_a_valid_secret_flag_is_returned_as_given() -> None:
    secret = signing.generate_secret()
    assert signing.parse_secret_flag(secret) == secret


@pytest.mark.parametrize("secret", ["bogus", "whsec_" + base64.b64encode(b"short").decode()])
def test_a_malformed_secret_flag_is_a_config_error_naming_the_flag(secret: str) -> None:
    with pytest.raises(ConfigError, match=r"^--secret is invalid \(.+\); accepted: whsec_<base64>"):
        signing.parse_secret_flag(secret)
