"""Webhook receiver: Standard Webhooks check, validation, exactly-once DynamoDB write.

Inlined in the template (ZipFile), so one module, stdlib + boto3; constants feed the API model,
so importing touches neither env nor AWS. Behaviour: docs/handler.md."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import time
import traceback
from decimal import Context, Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

MAX_BODY_BYTES = 65536  # 3x Standard Webhooks' ~20 KB advice, far below DynamoDB's 400 KB
TRANSACTION_ID_MAX_LENGTH = 128
TRANSACTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
STATUSES = ("pending", "completed", "failed", "refunded", "cancelled")
METADATA_MAX_BYTES = 8192
# Inclusive, in major units: with <= 4 decimals that is <= 20 digits (DynamoDB keeps 38).
MAX_AMOUNT = Decimal("1e15")
MAX_JSON_DEPTH = 8
TOLERANCE_SECONDS = 300
SECRET_REFRESH_SECONDS = 60
# Active ISO 4217 codes with a defined minor unit. Left out: N.A. minor unit (XAU XAG
# XPT XPD XDR XSU XUA XBA-XBD XTS XXX), funds (BOV CHE CHW COU MXV USN UYI), withdrawn
# (ANG BGN CUC HRK SLL ZWL). CLF and UYW stay: units of account used for pricing.
CURRENCIES_BY_MINOR_UNIT: dict[int, str] = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP"
        " BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP"
        " GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW"
        " KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR"
        " MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR"
        " SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS"
        " UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
CURRENCY_MINOR_UNITS: dict[str, int] = {c: d for d, s in CURRENCIES_BY_MINOR_UNIT.items() for c in s.split()}

LOG = logging.getLogger("webhook")
# Set on the logger itself so the per-request line survives a stricter function log level.
LOG.setLevel(logging.INFO)

_TRANSACTION_ID = re.compile(TRANSACTION_ID_PATTERN)
_WEBHOOK_ID = re.compile(r"[!-~]{1,256}")  # printable ASCII: safe as a key and in logs
_WEBHOOK_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Error codes (less "Exception") and cancellation reasons worth a retry: 503.
_TRANSIENT_CODES = set(
    "ProvisionedThroughputExceeded Throttling ThrottlingError RequestLimitExceeded InternalServerError"
    " InternalServiceError ServiceUnavailable TransactionConflict TransactionInProgress".split())
_NETWORK_ERRORS = (BotoConnectionError, HTTPClientError)  # endpoint/connect/read timeouts, resets
_SERVER_ERRORS = {"service_unavailable": (503, "Temporarily unavailable, retry later"),
                  "configuration_error": (500, "Receiver misconfigured"), "internal_error": (500, "Internal error")}
# Worst case ~6 s a call, inside the function's 10 s timeout; the sender retries anyway.
_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})

_Item = dict[str, Any]  # a DynamoDB item or key: {"transactionId": {"S": "txn_1"}}
_State = dict[str, Any]  # per container: settings, clients, the cached signing keys
_STATE: _State = {}  # filled by _init; empty = cold


class Reject(Exception):
    """A non-200 answer; args are (status, error code, message)."""


def _server_error(code: str, reason: str) -> Reject:
    """A 5xx whose reason is logged (no secrets, no request data), never returned."""
    LOG.log(logging.WARNING if code == "service_unavailable" else logging.ERROR, "%s: %s", code, reason)
    status, message = _SERVER_ERRORS[code]
    return Reject(status, code, message)


def _dependency_error(error: Exception, service: str, otherwise: str) -> Reject:
    """503 if throttled, AWS-side or network trouble, else `otherwise`."""
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else type(error).__name__
    transient = code.removesuffix("Exception") in _TRANSIENT_CODES or isinstance(error, _NETWORK_ERRORS)
    return _server_error("service_unavailable" if transient else otherwise, service + " " + code)


def _reset_for_tests() -> None:
    _STATE.clear()


def _init() -> _State:
    """Once per container (first request = cold start): read env, create clients."""
    if _STATE:
        return _STATE
    mode, table, secret_arn = map(os.environ.get, ("SIGNATURE_MODE", "TABLE_NAME", "SIGNING_SECRET_ARN"))
    verify, problem = mode in (None, "", "standard-webhooks"), None
    if not verify and mode != "none":
        problem = "SIGNATURE_MODE must be standard-webhooks or none, not %.40r" % mode
    elif not table or not (secret_arn or mode == "none"):
        problem = "TABLE_NAME and SIGNING_SECRET_ARN must be set"
    if mode == "none":
        LOG.warning("SIGNATURE_MODE=none: signatures are NOT verified (local development only)")
    # If a client fails, _STATE stays empty: the next request tries again.
    _STATE.update(
        problem=problem, verify=verify, table=table, secret_arn=secret_arn, keys=None, keys_at=0.0,
        ddb=None if problem else boto3.client("dynamodb", config=_CLIENT_CONFIG),
        sm=None if problem or not verify else boto3.client("secretsmanager", config=_CLIENT_CONFIG))
    return _STATE


def _decode_key(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError
    if value[:6] == "whsec_":
        value = value[6:]
    return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)  # padding is optional


def _load_keys(state: _State) -> list[bytes]:
    """The secret is '[whsec_]<b64>' or {"current": "[whsec_]<b64>", "previous": ...}."""
    try:
        raw = state["sm"].get_secret_value(SecretId=state["secret_arn"]).get("SecretString") or ""
    except (ClientError, *_NETWORK_ERRORS) as error:
        raise _dependency_error(error, "secretsmanager", "configuration_error") from None
    try:
        secret = json.loads(raw) if raw.lstrip()[:1] == "{" else {"current": raw.strip()}
        values = [secret["current"]] + ([secret["previous"]] if secret.get("previous") else [])
        keys = [_decode_key(value) for value in values]
    except (ValueError, TypeError, LookupError):
        keys = []
    if not keys or min(map(len, keys)) < 16:  # our fault, not the sender's: 500, never 401
        raise _server_error("configuration_error", "secret is not [whsec_]base64 (>= 16 bytes) or JSON of it")
    return keys


def _headers(event: dict[str, Any]) -> dict[str, set[str]]:
    """Lower-cased names; values from both header maps (repeats are in multiValueHeaders)."""
    headers: dict[str, set[str]] = {}
    for source in (event.get("headers"), event.get("multiValueHeaders")):
        for name, values in (source.items() if isinstance(source, dict) else ()):
            for value in values if isinstance(values, list) else [values]:
                if isinstance(name, str) and isinstance(value, str) and value:
                    headers.setdefault(name.lower(), set()).add(value)
    return headers


def _v1_signatures(header_values: set[str]) -> list[bytes]:
    """The decoded v1 signatures; ValueError if an entry is malformed."""
    signatures = []
    for entry in " ".join(header_values).split():
        version, comma, signature = entry.partition(",")
        if not comma:
            raise ValueError
        if version == "v1":  # others (e.g. v1a) are ignored, as the spec says
            signatures.append(base64.b64decode(signature, validate=True))
    return signatures


def _any_key_matches(keys: list[bytes], signed: bytes, signatures: list[bytes]) -> bool:
    expected = (hmac.new(key, signed, hashlib.sha256).digest() for key in keys)
    return any(hmac.compare_digest(mac, signature) for mac in expected for signature in signatures)


def _check_signature(state: _State, signed: bytes, signatures: list[bytes]) -> None:
    """401 unless a signature matches a cached key. On a mismatch, keys read at least
    SECRET_REFRESH_SECONDS ago are re-read once: the secret may have been rotated."""
    if state["keys"] is None:
        state["keys"], state["keys_at"] = _load_keys(state), time.time()
    if _any_key_matches(state["keys"], signed, signatures):
        return
    if time.time() - state["keys_at"] >= SECRET_REFRESH_SECONDS:
        state["keys"], state["keys_at"] = _load_keys(state), time.time()
        if _any_key_matches(state["keys"], signed, signatures):
            return
    raise Reject(401, "signature_mismatch", "No matching signature")


def _verify(state: _State, headers: dict[str, set[str]], body: bytes) -> str:
    """Standard Webhooks check; returns the webhook-id."""
    ids, timestamps, signature_values = map(headers.get, ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (ids and timestamps and signature_values):
        raise Reject(401, "missing_signature_headers", "webhook-id, -timestamp and -signature are required")
    malformed = Reject(401, "invalid_signature_headers", "Malformed or repeated webhook-* header")
    if len(ids) > 1 or len(timestamps) > 1:  # repeated with different values: which was signed?
        raise malformed
    (webhook_id,), (timestamp,) = ids, timestamps
    if not _WEBHOOK_ID.fullmatch(webhook_id) or not _WEBHOOK_TIMESTAMP.fullmatch(timestamp):
        raise malformed
    try:
        signatures = _v1_signatures(signature_values)
    except ValueError:
        raise malformed from None
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise Reject(401, "timestamp_out_of_tolerance", "webhook-timestamp is more than 5 minutes off")
    _check_signature(state, b"%s.%s." % (webhook_id.encode(), timestamp.encode()) + body, signatures)
    return webhook_id


def _json_number(literal: str) -> Decimal:
    """Exact Decimal; ValueError for NaN/Infinity (not JSON) or for '1e999999999'-like bombs."""
    exponent = literal.lower().partition("e")[2].lstrip("+-")
    if len(literal) > 100 or len(exponent) > 3 or not (number := Decimal(literal)).is_finite():
        raise ValueError
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(obj := dict(pairs)) < len(pairs):
        raise ValueError  # a duplicate key: which value was meant?
    return obj


def _metadata_number(number: Decimal) -> int | float:
    return int(number) if number == int(number) else float(number)  # as JSON.stringify stored them


def _check_depth(document: Any) -> None:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise Reject(400, "invalid_json", "JSON nested deeper than %d" % MAX_JSON_DEPTH)
            stack += [(child, depth + 1) for child in (value.values() if isinstance(value, dict) else value)]


def _parse(body: bytes) -> dict[str, Any]:
    try:  # ValueError includes UnicodeDecodeError and JSONDecodeError
        document = json.loads(body.decode(), parse_float=_json_number, parse_int=_json_number,
                              parse_constant=_json_number, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise Reject(400, "invalid_json", "Body is not valid UTF-8 JSON") from None
    _check_depth(document)
    if not isinstance(document, dict):
        raise Reject(400, "invalid_body", "Body must be a JSON object")
    return document


def _invalid(field: str, problem: str) -> Reject:
    return Reject(400, "validation_failed", field + ": " + problem)


def _validate(document: dict[str, Any]) -> _Item:
    """Check the fields; return the transaction item's attributes."""
    transaction_id, currency = document.get("transactionId"), document.get("currency")
    if (not isinstance(transaction_id, str) or len(transaction_id) > TRANSACTION_ID_MAX_LENGTH
            or not _TRANSACTION_ID.fullmatch(transaction_id)):
        raise _invalid("transactionId", "must match %s, <= %d chars" % (
            TRANSACTION_ID_PATTERN, TRANSACTION_ID_MAX_LENGTH))
    if not isinstance(currency, str) or currency not in CURRENCY_MINOR_UNITS:
        raise _invalid("currency", "must be an active ISO 4217 code in upper case")
    amount = document.get("amount")
    if not isinstance(amount, Decimal):  # true/false parse to bool, never to Decimal
        raise _invalid("amount", "must be a number")
    if not 0 < amount <= MAX_AMOUNT:
        raise _invalid("amount", "must be greater than 0" if amount <= 0 else "must be at most %d" % MAX_AMOUNT)
    digits = CURRENCY_MINOR_UNITS[currency]
    # Exact, local context: 1.50 USD passes, 1.5 JPY fails.
    if amount != amount.quantize(Decimal(1).scaleb(-digits), context=Context(prec=60)):
        raise _invalid("amount", "%s allows at most %d decimal places" % (currency, digits))
    status = document.get("status", "pending")
    if not isinstance(status, str) or status not in STATUSES:
        raise _invalid("status", "must be one of " + ", ".join(STATUSES))
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):  # null counts as absent
        raise _invalid("metadata", "must be an object")
    text = json.dumps(metadata or {}, separators=(",", ":"), ensure_ascii=False, default=_metadata_number)
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise _invalid("metadata", "contains an unpaired surrogate") from None
    if size > METADATA_MAX_BYTES:
        raise _invalid("metadata", "must serialize to at most %d bytes" % METADATA_MAX_BYTES)
    return {"transactionId": {"S": transaction_id}, "recordType": {"S": "transaction"}, "currency": {"S": currency},
            "amount": {"N": format(amount, ".%df" % digits)}, "status": {"S": status}, "metadata": {"S": text}}


def _delivery_items(marker_key: _Item, transaction: _Item, delivery_id: str, ms: int) -> tuple[_Item, _Item, str]:
    """Marker, transaction and response body (which the marker keeps for duplicates)."""
    received_at = {"S": time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ms // 1000)) + "%03dZ" % (ms % 1000)}
    body = '{"message":"Transaction processed successfully","transactionId":"%s","timestamp":%d}' % (
        transaction["transactionId"]["S"], ms)  # the pattern keeps the id JSON-safe
    marker = {**marker_key, "recordType": {"S": "delivery"}, "response": {"S": body}, "receivedAt": received_at}
    record = {**transaction, "timestamp": {"N": str(ms)}, "receivedAt": received_at, "deliveryId": {"S": delivery_id}}
    return marker, record, body


def _write_if_new(state: _State, marker: _Item, record: _Item) -> list[str] | None:
    """Put both if new, atomically: None if committed, else the cancellation reasons,
    the marker's first ("None" for an item that passed)."""
    try:
        state["ddb"].transact_write_items(TransactItems=[{"Put": {
            "TableName": state["table"], "Item": item, "ConditionExpression": "attribute_not_exists(transactionId)",
        }} for item in (marker, record)])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        return [reason.get("Code") for reason in error.response.get("CancellationReasons") or ()]
    return None


def _resolve_cancelled_write(state: _State, marker_key: _Item, reasons: list[str]) -> tuple[str, str] | None:
    """("duplicate", stored body); None if only the transaction's key was taken; or 5xx."""
    if reasons[:1] == ["ConditionalCheckFailed"] or "TransactionConflict" in reasons:
        for pause in (0.05, 0.2, None):  # a concurrent copy may still be committing
            marker = state["ddb"].get_item(TableName=state["table"], Key=marker_key, ConsistentRead=True).get("Item")
            if marker:
                return "duplicate", marker["response"]["S"]
            if pause:  # pauses only between reads, none after the last
                time.sleep(pause)
        raise _server_error("service_unavailable", "delivery in flight")
    if reasons[1:2] != ["ConditionalCheckFailed"]:
        code = "service_unavailable" if _TRANSIENT_CODES.intersection(reasons) else "internal_error"
        raise _server_error(code, "cancelled %s" % reasons)
    return None  # another delivery stored this transactionId in the same millisecond


def _store(state: _State, transaction: _Item, delivery_id: str) -> tuple[str, str]:
    """Store marker + transaction exactly once; return (outcome, response body)."""
    marker_key = {"transactionId": {"S": "delivery#" + delivery_id}, "timestamp": {"N": "0"}}
    received_ms = int(time.time() * 1000)
    for _ in range(3):
        marker, record, body = _delivery_items(marker_key, transaction, delivery_id, received_ms)
        reasons = _write_if_new(state, marker, record)
        if reasons is None:
            return "processed", body
        if duplicate := _resolve_cancelled_write(state, marker_key, reasons):
            return duplicate
        received_ms += 1  # the key is (transactionId, timestamp): try the next ms
    raise _server_error("service_unavailable", "transactionId collisions")


def _request_body(event: dict[str, Any]) -> bytes:
    """The body's bytes (base64-decoded if flagged)."""
    raw = event.get("body")
    raw = raw if isinstance(raw, str) else ""
    too_large = Reject(413, "payload_too_large", "Body exceeds %d bytes" % MAX_BODY_BYTES)
    if len(raw) > (MAX_BODY_BYTES + 2) // 3 * 4:  # bound the work before decoding anything
        raise too_large
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except ValueError:
            raise Reject(400, "invalid_body", "Body is not valid base64") from None
    else:
        body = raw.encode(errors="surrogatepass")
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def _handle(event: dict[str, Any], log: dict[str, Any]) -> tuple[str, str]:
    """The checks, in the documented order; (outcome, response body) or Reject."""
    state = _init()
    if state["problem"]:
        raise _server_error("configuration_error", state["problem"])
    if event.get("httpMethod", "POST") != "POST":
        raise Reject(405, "method_not_allowed", "Only POST is accepted")
    body = _request_body(event)
    headers = _headers(event)
    if state["verify"]:
        delivery_id = _verify(state, headers, body)
    else:  # local development: unsigned, still idempotent
        delivery_id = min(headers.get("webhook-id") or [""])
        if not _WEBHOOK_ID.fullmatch(delivery_id):
            delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    log["deliveryId"] = delivery_id
    transaction = _validate(_parse(body))
    log["transactionId"] = transaction["transactionId"]["S"]
    try:
        return _store(state, transaction, delivery_id)
    except (ClientError, *_NETWORK_ERRORS) as error:
        raise _dependency_error(error, "dynamodb", "internal_error") from None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway REST (v1) proxy entry point."""
    started = time.perf_counter()
    log: dict[str, Any] = {"transactionId": None, "deliveryId": None}
    status, headers = 200, {"Content-Type": "application/json"}
    try:
        outcome, body = _handle(event if isinstance(event, dict) else {}, log)
    except Exception as error:  # log type and line only: the text may hold request data
        rejection = error if isinstance(error, Reject) else _server_error("internal_error", "%s at line %s" % (
            type(error).__name__, traceback.extract_tb(error.__traceback__)[-1].lineno))
        status, outcome, message = rejection.args
        body = json.dumps({"error": outcome, "message": message})
        headers.update({"Retry-After": "5"} if status == 503 else {"Allow": "POST"} if status == 405 else {})
    log.update(outcome=outcome, statusCode=status, latencyMs=round((time.perf_counter() - started) * 1000, 3))
    LOG.info("webhook request", extra=log)
    return {"statusCode": status, "headers": headers, "body": body}
