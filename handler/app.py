"""Webhook receiver: Standard Webhooks check, validation, exactly-once DynamoDB write.

The template inlines this file (CloudFormation ``ZipFile``, comments and docstrings stripped), so it
is one module: the standard library plus the botocore that the Lambda Python runtime ships. The
limits below are read from this file by the template generator without importing it, so they stay
literal module-level assignments. Importing the module reads no environment and creates no client.
Behaviour and contract: docs/handler.md.
"""
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

# botocore's own session, not boto3: `import boto3` also imports s3transfer (~110 ms of a cold
# start), which this function never uses. boto3.client() is a thin layer over the same calls.
import botocore.session
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
# Cached signing keys are re-read after at most KEY_TTL_SECONDS, whatever the signatures say, so a
# key removed from the secret stops working within 5 minutes. A mismatch re-reads sooner, once the
# keys are SECRET_REFRESH_SECONDS old (rotation). A failed read is kept SECRET_RETRY_SECONDS, so a
# broken secret costs one GetSecretValue per container every few seconds, not one per request.
KEY_TTL_SECONDS = 300
SECRET_REFRESH_SECONDS = 60
SECRET_RETRY_SECONDS = 5
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
CURRENCY_MINOR_UNITS: dict[str, int] = {
    code: digits for digits, codes in CURRENCIES_BY_MINOR_UNIT.items() for code in codes.split()
}

LOG = logging.getLogger("webhook")
# Set on the logger itself so the per-request line survives a stricter function log level.
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs whole requests and responses (bodies, the secret's value) and urllib3
# logs its connections: pinned at WARNING, so no application log level can put them in the logs.
for _library in ("botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

_TRANSACTION_ID = re.compile(TRANSACTION_ID_PATTERN)
_WEBHOOK_ID = re.compile(r"[!-~]{1,256}")  # printable ASCII: safe as a key and in logs
_WEBHOOK_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Error codes (less "Exception") and cancellation reasons worth a retry: 503.
_TRANSIENT_CODES = frozenset((
    "ProvisionedThroughputExceeded", "Throttling", "ThrottlingError", "RequestLimitExceeded",
    "InternalServerError", "InternalServiceError", "ServiceUnavailable",
    "TransactionConflict", "TransactionInProgress",
))
_NETWORK_ERRORS = (BotoConnectionError, HTTPClientError)  # endpoint/connect/read timeouts, resets
_AWS_ERRORS = (ClientError, *_NETWORK_ERRORS)
_SERVER_ERRORS = {
    "service_unavailable": (503, "Temporarily unavailable, retry later"),
    "configuration_error": (500, "Receiver misconfigured"),
    "internal_error": (500, "Internal error"),
}
RETRY_AFTER_SECONDS = 5
# Every AWS call is bounded: 2 attempts of at most 1 s to connect plus 1 s to read, and standard
# mode's first retry waits at most 1 s: 5 s. A call starts only if that much of the invocation's
# time is left, plus a margin to answer, so Lambda's timeout never cuts a request off unanswered:
# the sender gets 503 and Retry-After instead.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 1, 1, 2
_CLIENT_CONFIG = Config(
    connect_timeout=_CONNECT_SECONDS, read_timeout=_READ_SECONDS,
    retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"})
_CALL_WORST_MS = 1000 * (_ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS) + _ATTEMPTS - 1)
_ANSWER_MARGIN_MS = 250
# The marker read after a cancelled write: a concurrent copy may still be committing.
_MARKER_READ_PAUSES = (0.05, 0.2)
_KEY_TRIES = 3  # transactionId collisions in one millisecond: try the next millisecond
_DAY_SECONDS = 86400
_RETENTION_DAYS = re.compile(r"[1-9][0-9]{0,3}")
# Earlier versions kept markers in the transactions table ("delivery#<id>", never expiring). They
# are checked until the deliveries table is a retention old, plus a day: during the upgrade's
# traffic shift the previous version still writes them. Later, a redelivery that only such a
# marker knew is past the retention, and stored again as any other.
_LEGACY_MARGIN_SECONDS = _DAY_SECONDS
_LEGACY_PREFIX = "delivery#"

_Item = dict[str, Any]  # a DynamoDB item or key: {"transactionId": {"S": "txn_1"}}
# CloudWatch Embedded Metric Format: the request's log line is also its metrics. Lambda's JSON
# log format writes `extra` members at the top level of the line, where CloudWatch Logs finds
# `_aws`; the dimensions' values are bounded (no ids). The generator's copy: metrics.py.
_EMF_METRICS = [
    {"Namespace": "WebhookReceiver", "Dimensions": [["environment", "outcome"], ["environment", "outcome", "reason"]],
     "Metrics": [{"Name": "deliveries", "Unit": "Count"}]},
    {"Namespace": "WebhookReceiver", "Dimensions": [["environment"]],
     "Metrics": [{"Name": "latencyMs", "Unit": "Milliseconds"}]},
]


class Reject(Exception):
    """A non-200 answer: HTTP status, machine-readable error code, message for the sender."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message


class Deadline:
    """The invocation's time limit, from Lambda's context (none without one, e.g. in a script)."""

    def __init__(self, context: Any) -> None:
        self._remaining_ms = getattr(context, "get_remaining_time_in_millis", None)

    def check(self, call: str, pause: float = 0.0) -> None:
        """503 now unless `call`, after a `pause` in seconds, can end before the timeout."""
        if self._remaining_ms is None:
            return
        needed = pause * 1000 + _CALL_WORST_MS + _ANSWER_MARGIN_MS
        if self._remaining_ms() < needed:
            raise _server_error("service_unavailable", "no time left for " + call)


class Container:
    """What one Lambda container keeps between requests: settings, clients, cached keys.

    A plain class, not a dataclass: dataclasses look their module up in sys.modules, and a
    module imported by path (as `make serve` does, one per emulated container) is not there."""

    def __init__(self, problem: str | None, verify: bool, table: str, secret_arn: str) -> None:
        self.problem = problem  # a configuration error every request answers with, or None
        self.verify = verify  # False only with SIGNATURE_MODE=none (local development)
        self.table = table
        self.secret_arn = secret_arn
        self.ddb: Any = None  # botocore DynamoDB client
        self.sm: Any = None  # botocore Secrets Manager client, when verifying
        self.keys: list[bytes] | None = None  # the decoded signing keys, once read
        self.keys_at = 0.0  # when they were read (time.time())
        self.key_failure: Reject | None = None  # why the last read failed, if it did
        self.key_failure_at = 0.0
        self.environment = "unknown"  # the metrics' dimension: ENVIRONMENT, set by the template
        self.deliveries = ""  # the delivery markers' table
        self.retention_seconds = 0  # how long a marker answers redeliveries
        self.legacy_until = 0.0  # until when markers of earlier versions are checked (time.time())


_CONTAINER: Container | None = None  # None until the first request: a cold container


def _server_error(code: str, reason: str) -> Reject:
    """A 5xx whose reason is logged (no secrets, no request data), never returned."""
    level = logging.WARNING if code == "service_unavailable" else logging.ERROR
    LOG.log(level, "%s: %s", code, reason)
    status, message = _SERVER_ERRORS[code]
    return Reject(status, code, message)


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def _dependency_error(error: Exception, service: str, otherwise: str) -> Reject:
    """503 if throttled, AWS-side or network trouble, else `otherwise`."""
    code = _error_code(error)
    transient = code.removesuffix("Exception") in _TRANSIENT_CODES or isinstance(error, _NETWORK_ERRORS)
    return _server_error("service_unavailable" if transient else otherwise, service + " " + code)


def _configuration_problem(mode: str | None, table: str | None, secret_arn: str | None) -> str | None:
    """Why the environment cannot work, or None."""
    if mode not in (None, "", "standard-webhooks", "none"):
        return f"SIGNATURE_MODE must be standard-webhooks or none, not {mode!r:.40}"
    if not table or not (secret_arn or mode == "none"):
        return "TABLE_NAME and SIGNING_SECRET_ARN must be set"
    return None


def _deliveries_problem(deliveries: str | None, retention_days: str) -> str | None:
    """Why the delivery markers' settings cannot work, or None."""
    if not deliveries:
        return "DELIVERIES_TABLE_NAME must be set"
    if not _RETENTION_DAYS.fullmatch(retention_days):
        return "DELIVERY_RETENTION_DAYS must be a whole number of days from 1 to 9999"
    return None


def _legacy_until(container: Container) -> float:
    """When markers of earlier versions stop mattering: the deliveries table's creation plus the
    retention and a margin. Unknown (the read failed) counts as never: a costlier write, never a
    redelivery stored twice."""
    try:
        table = container.ddb.describe_table(TableName=container.deliveries)["Table"]
        return float(table["CreationDateTime"].timestamp() + container.retention_seconds + _LEGACY_MARGIN_SECONDS)
    except _AWS_ERRORS as error:
        LOG.warning("dynamodb DescribeTable %s: earlier markers stay checked", _error_code(error))
        return float("inf")


def _new_container() -> Container:
    """Read the environment and create the clients (the cold start's own work)."""
    mode = os.environ.get("SIGNATURE_MODE")
    table = os.environ.get("TABLE_NAME")
    secret_arn = os.environ.get("SIGNING_SECRET_ARN")
    deliveries = os.environ.get("DELIVERIES_TABLE_NAME")
    retention_days = os.environ.get("DELIVERY_RETENTION_DAYS", "")
    problem = _configuration_problem(mode, table, secret_arn) or _deliveries_problem(deliveries, retention_days)
    verify = mode != "none"
    if mode == "none":
        LOG.warning("SIGNATURE_MODE=none: signatures are NOT verified (local development only)")
    container = Container(problem, verify, table or "", secret_arn or "")
    container.environment = os.environ.get("ENVIRONMENT") or container.environment
    if problem:
        return container
    # One session for both clients: they share its credentials and loaded endpoint data.
    session = botocore.session.get_session()
    container.ddb = session.create_client("dynamodb", config=_CLIENT_CONFIG)
    if verify:
        container.sm = session.create_client("secretsmanager", config=_CLIENT_CONFIG)
    container.deliveries = deliveries or ""
    container.retention_seconds = int(retention_days) * _DAY_SECONDS
    container.legacy_until = _legacy_until(container)
    return container


def _container() -> Container:
    """This container's state, created on the first request. If creating a client fails,
    nothing is kept and the next request tries again."""
    global _CONTAINER
    if _CONTAINER is None:
        _CONTAINER = _new_container()
    return _CONTAINER


def use_clients(dynamodb: Any = None, secretsmanager: Any = None) -> Container:
    """This container, cold-started if new, calling AWS through the botocore clients given (a test's,
    an emulator's) instead of its own, which it keeps for any not given. Returns it: its clients."""
    container = _container()
    container.ddb = dynamodb or container.ddb
    container.sm = secretsmanager or container.sm
    return container


def _decode_key(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError
    value = value.removeprefix("whsec_")
    padding = "=" * (-len(value) % 4)  # padding is optional
    return base64.b64decode(value + padding, validate=True)


def _parse_secret(raw: str) -> list[bytes]:
    """The keys in '[whsec_]<b64>' or {"current": "[whsec_]<b64>", "previous": ...}; [] if malformed."""
    try:
        if raw.lstrip()[:1] == "{":
            secret = json.loads(raw)
        else:
            secret = {"current": raw.strip()}
        values = [secret["current"]]
        if secret.get("previous"):
            values.append(secret["previous"])
        return [_decode_key(value) for value in values]
    except (ValueError, TypeError, LookupError):
        return []


def _load_keys(container: Container, deadline: Deadline) -> list[bytes]:
    """Read and decode the signing secret."""
    deadline.check("secretsmanager")
    try:
        answer = container.sm.get_secret_value(SecretId=container.secret_arn)
    except _AWS_ERRORS as error:
        raise _dependency_error(error, "secretsmanager", "configuration_error") from None
    keys = _parse_secret(answer.get("SecretString") or "")
    if not keys or min(map(len, keys)) < 16:  # our fault, not the sender's: 500, never 401
        reason = "secret is not [whsec_]base64 (>= 16 bytes) or JSON of it"
        raise _server_error("configuration_error", reason)
    return keys


def _headers(event: dict[str, Any]) -> dict[str, set[str]]:
    """Lower-cased names; values from both header maps (repeats are in multiValueHeaders)."""
    headers: dict[str, set[str]] = {}
    for source in (event.get("headers"), event.get("multiValueHeaders")):
        if not isinstance(source, dict):
            continue
        for name, values in source.items():
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
    for key in keys:
        mac = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(mac, signature) for signature in signatures):
            return True
    return False


def _read_keys(container: Container, deadline: Deadline, *, expired: bool = True) -> list[bytes]:
    """Fresh keys from the secret, or the failure of a read less than SECRET_RETRY_SECONDS ago.

    ``expired``: the cached keys are past KEY_TTL_SECONDS, so no stale key outlives a failed
    read. A refresh after a mismatch (not expired) keeps them: one forged request whose
    re-read fails must not turn every valid delivery away.
    """
    now = time.time()
    failure = container.key_failure
    if failure and now - container.key_failure_at < SECRET_RETRY_SECONDS:
        raise Reject(failure.status, failure.code, failure.message)
    if expired:
        container.keys = None
    try:
        keys = _load_keys(container, deadline)
    except Reject as error:
        container.key_failure, container.key_failure_at = error, now
        raise
    container.keys, container.keys_at, container.key_failure = keys, now, None
    return keys


def _cached_keys(container: Container, deadline: Deadline) -> list[bytes]:
    """The keys, re-read once they are KEY_TTL_SECONDS old."""
    if container.keys is not None and time.time() - container.keys_at < KEY_TTL_SECONDS:
        return container.keys
    return _read_keys(container, deadline)


def _check_signature(
    container: Container, deadline: Deadline, signed: bytes, signatures: list[bytes],
) -> None:
    """401 unless a signature matches a cached key. On a mismatch, keys read at least
    SECRET_REFRESH_SECONDS ago are re-read once: the secret may have been rotated."""
    if _any_key_matches(_cached_keys(container, deadline), signed, signatures):
        return
    if time.time() - container.keys_at >= SECRET_REFRESH_SECONDS:
        if _any_key_matches(_read_keys(container, deadline, expired=False), signed, signatures):
            return
    raise Reject(401, "signature_mismatch", "No matching signature")


def _verify(container: Container, deadline: Deadline, headers: dict[str, set[str]], body: bytes) -> str:
    """Standard Webhooks check; returns the webhook-id."""
    ids = headers.get("webhook-id")
    timestamps = headers.get("webhook-timestamp")
    signature_values = headers.get("webhook-signature")
    if not (ids and timestamps and signature_values):
        message = "webhook-id, -timestamp and -signature are required"
        raise Reject(401, "missing_signature_headers", message)
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
        message = "webhook-timestamp is more than 5 minutes off"
        raise Reject(401, "timestamp_out_of_tolerance", message)
    signed = b"%s.%s." % (webhook_id.encode(), timestamp.encode()) + body
    _check_signature(container, deadline, signed, signatures)
    return webhook_id


def _json_number(literal: str) -> Decimal:
    """Exact Decimal; ValueError for NaN/Infinity (not JSON) or for '1e999999999'-like bombs."""
    exponent = literal.lower().partition("e")[2].lstrip("+-")
    if len(literal) > 100 or len(exponent) > 3:
        raise ValueError
    number = Decimal(literal)
    if not number.is_finite():
        raise ValueError
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise ValueError  # a duplicate key: which value was meant?
    return obj


def _metadata_number(number: Decimal) -> int | float:
    """Integers exact, others as doubles: as JSON.stringify stored them."""
    return int(number) if number == int(number) else float(number)


def _check_depth(document: Any) -> None:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                raise Reject(400, "invalid_json", f"JSON nested deeper than {MAX_JSON_DEPTH}")
            stack += [(child, depth + 1) for child in value]


def _parse(body: bytes) -> dict[str, Any]:
    try:  # ValueError includes UnicodeDecodeError and JSONDecodeError
        document = json.loads(
            body.decode(), parse_float=_json_number, parse_int=_json_number,
            parse_constant=_json_number, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise Reject(400, "invalid_json", "Body is not valid UTF-8 JSON") from None
    _check_depth(document)
    if not isinstance(document, dict):
        raise Reject(400, "invalid_body", "Body must be a JSON object")
    return document


def _invalid(field: str, problem: str) -> Reject:
    return Reject(400, "validation_failed", field + ": " + problem)


def _valid_transaction_id(document: dict[str, Any]) -> str:
    value = document.get("transactionId")
    if (not isinstance(value, str) or len(value) > TRANSACTION_ID_MAX_LENGTH
            or not _TRANSACTION_ID.fullmatch(value)):
        rule = f"must match {TRANSACTION_ID_PATTERN}, <= {TRANSACTION_ID_MAX_LENGTH} chars"
        raise _invalid("transactionId", rule)
    return value


def _valid_currency(document: dict[str, Any]) -> str:
    value = document.get("currency")
    if not isinstance(value, str) or value not in CURRENCY_MINOR_UNITS:
        raise _invalid("currency", "must be an active ISO 4217 code in upper case")
    return value


def _valid_amount(document: dict[str, Any], currency: str) -> str:
    """The amount as a DynamoDB Number, padded to the currency's minor-unit digits."""
    amount = document.get("amount")
    if not isinstance(amount, Decimal):  # true/false parse to bool, never to Decimal
        raise _invalid("amount", "must be a number")
    if amount <= 0:
        raise _invalid("amount", "must be greater than 0")
    if amount > MAX_AMOUNT:
        raise _invalid("amount", f"must be at most {int(MAX_AMOUNT)}")
    digits = CURRENCY_MINOR_UNITS[currency]
    # Exact, local context: 1.50 USD passes, 1.5 JPY fails.
    if amount != amount.quantize(Decimal(1).scaleb(-digits), context=Context(prec=60)):
        raise _invalid("amount", f"{currency} allows at most {digits} decimal places")
    return format(amount, f".{digits}f")


def _valid_status(document: dict[str, Any]) -> str:
    value = document.get("status", "pending")
    if not isinstance(value, str) or value not in STATUSES:
        raise _invalid("status", "must be one of " + ", ".join(STATUSES))
    return value


def _valid_metadata(document: dict[str, Any]) -> str:
    """The metadata as compact JSON text ("{}" when absent)."""
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):  # null counts as absent
        raise _invalid("metadata", "must be an object")
    text = json.dumps(metadata or {}, separators=(",", ":"), ensure_ascii=False, default=_metadata_number)
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise _invalid("metadata", "contains an unpaired surrogate") from None
    if size > METADATA_MAX_BYTES:
        raise _invalid("metadata", f"must serialize to at most {METADATA_MAX_BYTES} bytes")
    return text


def _validate(document: dict[str, Any]) -> _Item:
    """Check the fields, in the documented order; return the transaction item's attributes."""
    transaction_id = _valid_transaction_id(document)
    currency = _valid_currency(document)
    amount = _valid_amount(document, currency)
    status = _valid_status(document)
    metadata = _valid_metadata(document)
    return {
        "transactionId": {"S": transaction_id},
        "recordType": {"S": "transaction"},
        "currency": {"S": currency},
        "amount": {"N": amount},
        "status": {"S": status},
        "metadata": {"S": metadata},
    }


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds: 2024-01-01T00:00:00.000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(ms // 1000)) + f"{ms % 1000:03d}Z"


def _delivery_items(
    transaction: _Item, delivery_id: str, body_hash: str, ms: int, retention_seconds: int,
) -> tuple[_Item, _Item, str]:
    """Marker, transaction and response body (which the marker keeps for duplicates, with the
    hash of the body it answered, so a webhook-id reused for another body is recognised, until
    it expires: DynamoDB's TTL deletes it, and a write treats it as gone from then on)."""
    received_at = {"S": _iso_ms(ms)}
    # The id's pattern keeps it JSON-safe without escaping.
    transaction_id = transaction["transactionId"]["S"]
    body = f'{{"message":"Transaction processed successfully","transactionId":"{transaction_id}","timestamp":{ms}}}'
    marker = {
        "deliveryId": {"S": delivery_id},
        "response": {"S": body},
        "bodyHash": {"S": body_hash},
        "receivedAt": received_at,
        "expiresAt": {"N": str(ms // 1000 + retention_seconds)},
    }
    record = {
        **transaction,
        "timestamp": {"N": str(ms)},
        "receivedAt": received_at,
        "deliveryId": {"S": delivery_id},
    }
    return marker, record, body


def _legacy_key(delivery_id: str) -> _Item:
    """Where an earlier version kept this delivery's marker: in the transactions table."""
    return {"transactionId": {"S": _LEGACY_PREFIX + delivery_id}, "timestamp": {"N": "0"}}


def _write_if_new(
    container: Container, deadline: Deadline, marker: _Item, record: _Item, legacy: bool,
) -> list[str] | None:
    """Put both if new, atomically (and, with ``legacy``, only if no earlier version's marker
    exists): None if committed, else the cancellation reasons in that order ("None" for an item
    that passed)."""
    deadline.check("dynamodb write")
    items: list[_Item] = [
        {"Put": {
            "TableName": container.deliveries, "Item": marker,
            "ConditionExpression": "attribute_not_exists(deliveryId) OR expiresAt < :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        }},
        {"Put": {"TableName": container.table, "Item": record,
                 "ConditionExpression": "attribute_not_exists(transactionId)"}},
    ]
    if legacy:
        items.append({"ConditionCheck": {
            "TableName": container.table, "Key": _legacy_key(marker["deliveryId"]["S"]),
            "ConditionExpression": "attribute_not_exists(transactionId)",
        }})
    try:
        container.ddb.transact_write_items(TransactItems=items)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        return [reason.get("Code") for reason in error.response.get("CancellationReasons") or ()]
    return None


def _read_marker(container: Container, deadline: Deadline, delivery_id: str, legacy: bool) -> _Item | None:
    """This delivery's marker; with ``legacy``, an earlier version's when there is no other."""
    item = container.ddb.get_item(
        TableName=container.deliveries, Key={"deliveryId": {"S": delivery_id}}, ConsistentRead=True).get("Item")
    expires = item.get("expiresAt") if item else None
    if expires and int(expires["N"]) < time.time():
        item = None  # the write treats an expired marker as gone (TTL deletes it later): so must the read
    if item or not legacy:
        return item
    deadline.check("dynamodb earlier marker read")
    answer = container.ddb.get_item(TableName=container.table, Key=_legacy_key(delivery_id), ConsistentRead=True)
    return answer.get("Item")


def _stored_marker(container: Container, deadline: Deadline, delivery_id: str, legacy: bool) -> _Item:
    """The marker a committed (or committing) copy of this delivery stored, or 503."""
    for pause in (0.0, *_MARKER_READ_PAUSES):  # pauses only between reads, none after the last
        deadline.check("dynamodb marker read", pause)
        if pause:
            time.sleep(pause)
        marker = _read_marker(container, deadline, delivery_id, legacy)
        if marker:
            return marker
    raise _server_error("service_unavailable", "delivery in flight")


def _original_response(marker: _Item, body_hash: str, delivery_id: str) -> str:
    """The stored response, if the marker answered this same body; 422 if another."""
    stored_hash = marker.get("bodyHash", {}).get("S")
    if stored_hash is not None and not hmac.compare_digest(stored_hash, body_hash):
        # markers written before bodyHash existed have none: they keep answering as before
        LOG.warning("idempotency_key_reused: webhook-id %s came with another body", delivery_id)
        raise Reject(422, "idempotency_key_reused", "webhook-id was already used for a different body")
    return marker["response"]["S"]


def _resolve_cancelled_write(
    container: Container, deadline: Deadline, delivery_id: str, body_hash: str, reasons: list[str], legacy: bool,
) -> tuple[str, str] | None:
    """("duplicate", stored body); None if only the transaction's key was taken; or 5xx."""
    marker_reason, record_reason, legacy_reason = (reasons + ["", "", ""])[:3]
    if "ConditionalCheckFailed" in (marker_reason, legacy_reason) or "TransactionConflict" in reasons:
        marker = _stored_marker(container, deadline, delivery_id, legacy)
        return "duplicate", _original_response(marker, body_hash, delivery_id)
    if record_reason != "ConditionalCheckFailed":
        code = "service_unavailable" if _TRANSIENT_CODES.intersection(reasons) else "internal_error"
        raise _server_error(code, f"cancelled {reasons}")
    return None  # another delivery stored this transactionId in the same millisecond


def _store(
    container: Container, deadline: Deadline, transaction: _Item, delivery_id: str, body_hash: str,
) -> tuple[str, str]:
    """Store marker + transaction exactly once; return (outcome, response body)."""
    received_ms = int(time.time() * 1000)
    legacy = time.time() < container.legacy_until
    for _ in range(_KEY_TRIES):
        marker, record, body = _delivery_items(
            transaction, delivery_id, body_hash, received_ms, container.retention_seconds)
        reasons = _write_if_new(container, deadline, marker, record, legacy)
        if reasons is None:
            return "processed", body
        duplicate = _resolve_cancelled_write(container, deadline, delivery_id, body_hash, reasons, legacy)
        if duplicate:
            return duplicate
        received_ms += 1  # the key is (transactionId, timestamp): try the next ms
    raise _server_error("service_unavailable", "transactionId collisions")


def _request_body(event: dict[str, Any]) -> bytes:
    """The body's bytes (base64-decoded if flagged)."""
    raw = event.get("body")
    if not isinstance(raw, str):
        raw = ""
    too_large = Reject(413, "payload_too_large", f"Body exceeds {MAX_BODY_BYTES} bytes")
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


def _unverified_delivery_id(headers: dict[str, set[str]], body: bytes) -> str:
    """SIGNATURE_MODE=none (local development): the webhook-id if usable, else the body's hash,
    so unsigned deliveries are still idempotent."""
    delivery_id = min(headers.get("webhook-id") or [""])
    if _WEBHOOK_ID.fullmatch(delivery_id):
        return delivery_id
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _handle(event: dict[str, Any], deadline: Deadline, log: dict[str, Any]) -> tuple[str, str]:
    """The checks, in the documented order; (outcome, response body) or Reject."""
    container = _container()
    if container.problem:
        raise _server_error("configuration_error", container.problem)
    if event.get("httpMethod", "POST") != "POST":
        raise Reject(405, "method_not_allowed", "Only POST is accepted")
    body = _request_body(event)
    headers = _headers(event)
    if container.verify:
        delivery_id = _verify(container, deadline, headers, body)
    else:
        delivery_id = _unverified_delivery_id(headers, body)
    log["deliveryId"] = delivery_id
    transaction = _validate(_parse(body))
    log["transactionId"] = transaction["transactionId"]["S"]
    body_hash = hashlib.sha256(body).hexdigest()  # of the signed bytes: what the id was used for
    try:
        return _store(container, deadline, transaction, delivery_id, body_hash)
    except _AWS_ERRORS as error:
        raise _dependency_error(error, "dynamodb", "internal_error") from None


def _unexpected(error: Exception) -> Reject:
    """500 for a bug; the log has the type and line only: the text may hold request data."""
    line = traceback.extract_tb(error.__traceback__)[-1].lineno
    return _server_error("internal_error", f"{type(error).__name__} at line {line}")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway REST (v1) proxy entry point."""
    started = time.perf_counter()
    log: dict[str, Any] = {"transactionId": None, "deliveryId": None}
    status, headers = 200, {"Content-Type": "application/json"}
    try:
        outcome, body = _handle(event if isinstance(event, dict) else {}, Deadline(context), log)
    except Exception as error:
        rejection = error if isinstance(error, Reject) else _unexpected(error)
        status, outcome = rejection.status, rejection.code
        body = json.dumps({"error": rejection.code, "message": rejection.message})
        if status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        elif status == 405:
            headers["Allow"] = "POST"
    log["outcome"] = outcome if status == 200 else "rejected" if status < 500 else "failed"
    log["reason"] = outcome
    log["statusCode"] = status
    log["latencyMs"] = round((time.perf_counter() - started) * 1000, 3)
    log["environment"] = _CONTAINER.environment if _CONTAINER else "unknown"
    log["deliveries"] = 1
    log["_aws"] = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": _EMF_METRICS}
    LOG.info("webhook request", extra=log)
    return {"statusCode": status, "headers": headers, "body": body}
