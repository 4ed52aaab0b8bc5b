"""Webhook receiver: Standard Webhooks check, validation, exactly-once DynamoDB write.

Inlined in the template (ZipFile), so one module, stdlib + boto3; constants feed the API model."""
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
CURRENCY_MINOR_UNITS: dict[str, int] = {c: d for d, s in (
    (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"),
    (2, "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP"
        " BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP"
        " GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW"
        " KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR"
        " MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR"
        " SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS"
        " UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"),
    (3, "BHD IQD JOD KWD LYD OMR TND"),
    (4, "CLF UYW"),
) for c in s.split()}

LOG = logging.getLogger("webhook")
LOG.setLevel(logging.INFO)
_TX = re.compile(TRANSACTION_ID_PATTERN)
_ID = re.compile(r"[!-~]{1,256}")  # printable ASCII: safe as a key and in logs
_TS = re.compile(r"[0-9]{1,12}")
_TRANSIENT = set(  # error codes (less "Exception") and cancellation reasons worth a retry
    "ProvisionedThroughputExceeded Throttling ThrottlingError RequestLimitExceeded InternalServerError"
    " InternalServiceError ServiceUnavailable TransactionConflict TransactionInProgress".split())
_NET = (BotoConnectionError, HTTPClientError)  # endpoint/connect/read timeouts, resets
_FAILS = {"service_unavailable": (503, "Temporarily unavailable, retry later"),
          "configuration_error": (500, "Receiver misconfigured"), "internal_error": (500, "Internal error")}
_STATE: dict[str, Any] = {}


class Reject(Exception):
    """A non-200 answer; args are (status, error code, message)."""


def _fail(code: str, why: str) -> Reject:
    """A 5xx whose reason is logged (no secrets, no request data), never returned."""
    LOG.log(logging.WARNING if code == "service_unavailable" else logging.ERROR, "%s: %s", code, why)
    return Reject(_FAILS[code][0], code, _FAILS[code][1])


def _aws_error(e: Exception, service: str, kind: str) -> Reject:
    code = e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else type(e).__name__
    transient = code.removesuffix("Exception") in _TRANSIENT or isinstance(e, _NET)
    return _fail("service_unavailable" if transient else kind, service + " " + code)


def _reset_for_tests() -> None:
    _STATE.clear()


def _init() -> dict[str, Any]:
    """Once per container (first request = cold start): read env, create clients."""
    if _STATE:
        return _STATE
    mode, table, arn = map(os.environ.get, ("SIGNATURE_MODE", "TABLE_NAME", "SIGNING_SECRET_ARN"))
    verify, err = mode in (None, "", "standard-webhooks"), None
    if not verify and mode != "none":
        err = "SIGNATURE_MODE must be standard-webhooks or none, not %.40r" % mode
    elif not table or not (arn or mode == "none"):
        err = "TABLE_NAME and SIGNING_SECRET_ARN must be set"
    if mode == "none":
        LOG.warning("SIGNATURE_MODE=none: signatures are NOT verified (local development only)")
    # worst case ~6 s per call, inside the function's 10 s timeout; the sender retries anyway
    cfg = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
    _STATE.update(
        error=err, verify=verify, table=table, arn=arn, keys=None, keys_at=0.0,
        ddb=None if err else boto3.client("dynamodb", config=cfg),
        sm=None if err or not verify else boto3.client("secretsmanager", config=cfg))
    return _STATE


def _load_keys(st: dict[str, Any]) -> list[bytes]:
    """The secret is '[whsec_]<b64>' or {"current": "[whsec_]<b64>", "previous": ...}."""
    try:
        raw = st["sm"].get_secret_value(SecretId=st["arn"]).get("SecretString") or ""
    except (ClientError, *_NET) as e:
        raise _aws_error(e, "secretsmanager", "configuration_error") from None
    try:
        doc = json.loads(raw) if raw.lstrip()[:1] == "{" else {"current": raw.strip()}
        vals = [doc["current"]] + ([doc["previous"]] if doc.get("previous") else [])
        keys = [base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
                for v in (v[6:] if v[:6] == "whsec_" else v for v in vals)]
    except (ValueError, TypeError, LookupError):
        keys = []
    if not keys or min(map(len, keys)) < 16:
        raise _fail("configuration_error", "secret is not [whsec_]base64 (>= 16 bytes) or JSON of it")
    return keys


def _headers(event: dict[str, Any]) -> dict[str, set[str]]:
    """Lower-cased names; values from both header maps (repeats are in multiValueHeaders)."""
    out: dict[str, set[str]] = {}
    for src in (event.get("headers"), event.get("multiValueHeaders")):
        for k, vs in (src.items() if isinstance(src, dict) else ()):
            for v in vs if isinstance(vs, list) else [vs]:
                if isinstance(k, str) and isinstance(v, str) and v:
                    out.setdefault(k.lower(), set()).add(v)
    return out


def _verify(st: dict[str, Any], h: dict[str, set[str]], body: bytes) -> str:
    """Standard Webhooks check; returns the webhook-id."""
    ids, tss, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (ids and tss and sigs):
        raise Reject(401, "missing_signature_headers", "webhook-id, -timestamp and -signature are required")
    bad = Reject(401, "invalid_signature_headers", "Malformed or repeated webhook-* header")
    msg_id, ts, given = min(ids), min(tss), []
    if len(ids) > 1 or len(tss) > 1 or not _ID.fullmatch(msg_id) or not _TS.fullmatch(ts):
        raise bad
    try:
        for version, comma, sig in (e.partition(",") for e in " ".join(sigs).split()):
            if not comma:
                raise ValueError
            if version == "v1":  # others (e.g. v1a) are ignored, as the spec says
                given.append(base64.b64decode(sig, validate=True))
    except ValueError:
        raise bad from None
    if abs(time.time() - int(ts)) > TOLERANCE_SECONDS:
        raise Reject(401, "timestamp_out_of_tolerance", "webhook-timestamp is more than 5 minutes off")
    content = b"%s.%s." % (msg_id.encode(), ts.encode()) + body
    for retry in (False, True):  # on a mismatch, re-read an old cached secret: it may have rotated
        if st["keys"] is None or retry and time.time() - st["keys_at"] >= SECRET_REFRESH_SECONDS:
            st["keys"], st["keys_at"] = _load_keys(st), time.time()
        elif retry:
            break
        for key in st["keys"]:
            mac = hmac.new(key, content, hashlib.sha256).digest()
            if any(hmac.compare_digest(mac, g) for g in given):
                return msg_id
    raise Reject(401, "signature_mismatch", "No matching signature")


def _number(s: str) -> Decimal:
    # Bound size and exponent before Decimal() so '1e999999999' can't blow up later;
    # also called for NaN/Infinity, which are not JSON.
    if len(s) > 100 or len(s.lower().partition("e")[2].lstrip("+-")) > 3 or not (d := Decimal(s)).is_finite():
        raise ValueError
    return d


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(d := dict(pairs)) < len(pairs):
        raise ValueError  # duplicate key
    return d


def _plain(d: Decimal) -> int | float:
    return int(d) if d == int(d) else float(d)  # metadata numbers, as JSON had them


def _parse(body: bytes) -> dict[str, Any]:
    try:  # ValueError includes UnicodeDecodeError and JSONDecodeError
        doc = json.loads(
            body.decode(), parse_float=_number, parse_int=_number, parse_constant=_number, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        raise Reject(400, "invalid_json", "Body is not valid UTF-8 JSON") from None
    stack = [(doc, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise Reject(400, "invalid_json", "JSON nested deeper than %d" % MAX_JSON_DEPTH)
            stack += [(c, depth + 1) for c in (v.values() if isinstance(v, dict) else v)]
    if not isinstance(doc, dict):
        raise Reject(400, "invalid_body", "Body must be a JSON object")
    return doc


def _validate(doc: dict[str, Any]) -> dict[str, Any]:
    """Check the fields; return the transaction item's attributes."""

    def bad(field: str, problem: str) -> Reject:
        return Reject(400, "validation_failed", field + ": " + problem)

    tx, cur, amount = doc.get("transactionId"), doc.get("currency"), doc.get("amount")
    status, meta = doc.get("status", "pending"), doc.get("metadata")
    if not isinstance(tx, str) or len(tx) > TRANSACTION_ID_MAX_LENGTH or not _TX.fullmatch(tx):
        raise bad("transactionId", "must match %s, <= %d chars" % (TRANSACTION_ID_PATTERN, TRANSACTION_ID_MAX_LENGTH))
    if not isinstance(cur, str) or cur not in CURRENCY_MINOR_UNITS:
        raise bad("currency", "must be an active ISO 4217 code in upper case")
    if not isinstance(amount, Decimal):  # true/false parse to bool, never to Decimal
        raise bad("amount", "must be a number")
    if not 0 < amount <= MAX_AMOUNT:
        raise bad("amount", "must be greater than 0" if amount <= 0 else "must be at most %d" % MAX_AMOUNT)
    minor = CURRENCY_MINOR_UNITS[cur]  # exact, local context: 1.50 USD passes, 1.5 JPY fails
    if amount != amount.quantize(Decimal(1).scaleb(-minor), context=Context(prec=60)):
        raise bad("amount", "%s allows at most %d decimal places" % (cur, minor))
    if not isinstance(status, str) or status not in STATUSES:
        raise bad("status", "must be one of " + ", ".join(STATUSES))
    if meta is not None and not isinstance(meta, dict):
        raise bad("metadata", "must be an object")
    text = json.dumps(meta or {}, separators=(",", ":"), ensure_ascii=False, default=_plain)
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise bad("metadata", "contains an unpaired surrogate") from None
    if size > METADATA_MAX_BYTES:
        raise bad("metadata", "must serialize to at most %d bytes" % METADATA_MAX_BYTES)
    return {"transactionId": {"S": tx}, "recordType": {"S": "transaction"}, "currency": {"S": cur},
            "amount": {"N": format(amount, ".%df" % minor)}, "status": {"S": status}, "metadata": {"S": text}}


def _store(st: dict[str, Any], item: dict[str, Any], key: str) -> tuple[str, str]:
    """Put marker + transaction in one transaction; return (outcome, response body)."""
    ts, mkey = int(time.time() * 1000), {"transactionId": {"S": "delivery#" + key}, "timestamp": {"N": "0"}}
    for _ in range(3):  # another delivery stored this transactionId in this ms: next ms
        at = {"S": time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ts // 1000)) + "%03dZ" % (ts % 1000)}
        body = '{"message":"Transaction processed successfully","transactionId":"%s","timestamp":%d}' % (
            item["transactionId"]["S"], ts)  # the pattern keeps the id JSON-safe
        marker = {**mkey, "recordType": {"S": "delivery"}, "response": {"S": body}, "receivedAt": at}
        item.update(timestamp={"N": str(ts)}, receivedAt=at, deliveryId={"S": key})
        try:
            st["ddb"].transact_write_items(TransactItems=[{"Put": {
                "TableName": st["table"], "Item": i, "ConditionExpression": "attribute_not_exists(transactionId)",
            }} for i in (marker, item)])
            return "processed", body
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in e.response.get("CancellationReasons") or ()]
        if reasons[:1] == ["ConditionalCheckFailed"] or "TransactionConflict" in reasons:
            for delay in (0.05, 0.2, 0):  # a concurrent copy may still be committing
                got = st["ddb"].get_item(TableName=st["table"], Key=mkey, ConsistentRead=True).get("Item")
                if got:
                    return "duplicate", got["response"]["S"]
                time.sleep(delay)
            raise _fail("service_unavailable", "delivery in flight")
        if reasons[1:2] != ["ConditionalCheckFailed"]:
            kind = "service_unavailable" if _TRANSIENT.intersection(reasons) else "internal_error"
            raise _fail(kind, "cancelled %s" % reasons)
        ts += 1
    raise _fail("service_unavailable", "transactionId collisions")


def _handle(event: dict[str, Any], log: dict[str, Any]) -> tuple[str, str]:
    st = _init()
    if st["error"]:
        raise _fail("configuration_error", st["error"])
    if event.get("httpMethod", "POST") != "POST":
        raise Reject(405, "method_not_allowed", "Only POST is accepted")
    raw = event.get("body")
    raw = raw if isinstance(raw, str) else ""
    too_large = Reject(413, "payload_too_large", "Body exceeds %d bytes" % MAX_BODY_BYTES)
    if len(raw) > (MAX_BODY_BYTES + 2) // 3 * 4:  # bound the work before decoding anything
        raise too_large
    try:
        b64 = event.get("isBase64Encoded")
        body = base64.b64decode(raw, validate=True) if b64 else raw.encode(errors="surrogatepass")
    except ValueError:
        raise Reject(400, "invalid_body", "Body is not valid base64") from None
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    h = _headers(event)
    if st["verify"]:
        key = _verify(st, h, body)
    else:  # local development: unsigned, still idempotent
        key = min(h.get("webhook-id") or [""])
        key = key if _ID.fullmatch(key) else "sha256:" + hashlib.sha256(body).hexdigest()
    log["deliveryId"] = key
    item = _validate(_parse(body))
    log["transactionId"] = item["transactionId"]["S"]
    try:
        return _store(st, item, key)
    except (ClientError, *_NET) as e:
        raise _aws_error(e, "dynamodb", "internal_error") from None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway REST (v1) proxy entry point."""
    start = time.perf_counter()
    log: dict[str, Any] = {"transactionId": None, "deliveryId": None}
    status, headers = 200, {"Content-Type": "application/json"}
    try:
        outcome, body = _handle(event if isinstance(event, dict) else {}, log)
    except Exception as exc:  # log type and line only: the text may hold request data
        e = exc if isinstance(exc, Reject) else _fail("internal_error", "%s at line %s" % (
            type(exc).__name__, traceback.extract_tb(exc.__traceback__)[-1].lineno))
        status, outcome, message = e.args
        body = json.dumps({"error": outcome, "message": message})
        headers.update({"Retry-After": "5"} if status == 503 else {"Allow": "POST"} if status == 405 else {})
    log.update(outcome=outcome, statusCode=status, latencyMs=round((time.perf_counter() - start) * 1000, 3))
    LOG.info("webhook request", extra=log)
    return {"statusCode": status, "headers": headers, "body": body}
