"""Hostile JSON: numbers that blow up, non-JSON literals, duplicate keys, depth, encodings."""
from __future__ import annotations

import json
import time

import pytest

from support.handler_loader import APP, SECRET, make_event, sign

BASE = '{"transactionId": "t1", "amount": %s, "currency": "USD"%s}'


def _invalid_json(resp):
    assert resp["statusCode"] == 400, resp["body"]
    assert resp["json"]["error"] == "invalid_json"


@pytest.mark.parametrize("number", [
    "1e999999999", "1E+999999999", "1e-999999999", "-1e999999999", "9" * 101, "0." + "0" * 99 + "1",
    "1e1000", "1" * 5000, "1e" + "9" * 90,
])
def test_numbers_that_would_blow_up_are_rejected_quickly(invoke, sender, account, number):
    _invalid_json(invoke(sender.event(BASE % (number, ""))))
    _invalid_json(invoke(sender.event(BASE % ("1", f', "metadata": {{"n": {number}}}'))))
    assert account.items() == []


@pytest.mark.parametrize("number", ["1e999", "1e-999", "-1e999"])
def test_three_digit_exponents_parse_and_are_judged_by_validation(invoke, sender, number):
    resp = invoke(sender.event(BASE % (number, "")))
    assert resp["json"]["error"] == "validation_failed"
    assert resp["json"]["message"].startswith("amount: ")


def test_big_exponent_in_metadata_is_stored_as_an_integer(invoke, sender, account):
    assert invoke(sender.event(BASE % ("1", ', "metadata": {"n": 1e300, "m": 1.5e-300}')))["statusCode"] == 200
    meta = json.loads(account.transactions()[0]["metadata"])
    assert meta == {"n": 10 ** 300, "m": 1.5e-300}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_not_json(invoke, sender, account, literal):
    _invalid_json(invoke(sender.event(BASE % (literal, ""))))
    _invalid_json(invoke(sender.event(BASE % ("1", f', "metadata": {{"x": [{literal}]}}'))))
    assert account.items() == []


@pytest.mark.parametrize("body", [
    '{"transactionId": "t1", "transactionId": "t2", "amount": 1, "currency": "USD"}',
    '{"transactionId": "t1", "amount": 1, "amount": 1, "currency": "USD"}',
    '{"transactionId": "t1", "amount": 1, "currency": "USD", "metadata": {"a": 1, "a": 2}}',
    '{"transactionId": "t1", "amount": 1, "currency": "USD", "metadata": {"l": [{"k": 1, "k": 1}]}}',
])
def test_duplicate_keys_are_rejected_at_any_level(invoke, sender, account, body):
    _invalid_json(invoke(sender.event(body)))
    assert account.items() == []


def _nested(depth: int) -> str:
    """A body whose total container depth is ``depth`` (the top-level object counts as 1)."""
    inner = "1"
    for i in range(depth - 2):
        inner = ('{"k": %s}' if i % 2 else "[%s]") % inner
    return BASE % ("1", f', "metadata": {{"m": {inner}}}')


def test_nesting_up_to_the_limit_is_accepted(invoke, sender):
    assert invoke(sender.event(_nested(APP.MAX_JSON_DEPTH)))["statusCode"] == 200


def test_nesting_beyond_the_limit_is_rejected(invoke, sender, account):
    resp = invoke(sender.event(_nested(APP.MAX_JSON_DEPTH + 1)))
    _invalid_json(resp)
    assert resp["json"]["message"] == "JSON nested deeper than 8"
    assert account.items() == []


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_pathologically_deep_nesting_within_the_size_limit(invoke, sender, opener):
    count = (APP.MAX_BODY_BYTES - 16) // len(opener)
    _invalid_json(invoke(sender.event(opener * count)))
    _invalid_json(invoke(sender.event(opener * (count // 2) + "1" + ("]" if opener == "[" else "}") * (count // 2))))


@pytest.mark.parametrize("raw", [
    b"\xff\xfe{}",
    b'{"transactionId": "t\xe9", "amount": 1, "currency": "USD"}',
    b'{"transactionId": "t1", "amount": 1, "currency": "USD", "metadata": {"a": "\xc0\xaf"}}',
    b'{"transactionId": "t1", "amount": 1, "currency": "USD", "metadata": {"a": "\xed\xa0\x80"}}',  # CESU surrogate
    b"\x00\x00\x00{",
    b"\xef\xbb\xbf{}",  # UTF-8 BOM
])
def test_non_utf8_bytes_are_invalid_json(invoke, sender, account, raw):
    _invalid_json(invoke(sender.event(raw, b64=True)))
    assert account.items() == []


def test_lone_surrogate_in_a_text_body_is_invalid_json(invoke, account):
    # an event body str can't normally carry one, but the handler must not crash if it does
    body = '{"transactionId": "t1", "amount": 1, "currency": "USD", "x": "\ud800"}'
    ts = int(time.time())
    sig = sign(SECRET, "msg_s", ts, body.encode("utf-8", "surrogatepass"))
    event = make_event(body, {"webhook-id": "msg_s", "webhook-timestamp": str(ts), "webhook-signature": sig})
    _invalid_json(invoke(event))
    assert account.items() == []


@pytest.mark.parametrize("body", ["{", "{'a': 1}", '{"a": 1,}', "{} {}", "tru", '{"a" 1}', "\x00", " "])
def test_syntax_errors_are_invalid_json(invoke, sender, body):
    _invalid_json(invoke(sender.event(body)))


def test_whitespace_around_the_document_is_fine(invoke, sender):
    assert invoke(sender.event("\n\t " + BASE % ("1", "") + " \r\n"))["statusCode"] == 200


def test_escaped_unicode_in_transaction_id_is_still_validated(invoke, sender):
    resp = invoke(sender.event(BASE.replace('"t1"', '"t\\u00e9"') % ("1", "")))
    assert resp["json"]["error"] == "validation_failed"
    ok = invoke(sender.event(BASE.replace('"t1"', '"t\\u0031"') % ("1", "")))
    assert ok["json"]["transactionId"] == "t1"
