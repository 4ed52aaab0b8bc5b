"""Standard Webhooks signing, as a sender does it (standard library only).

The signature is ``v1,`` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))
where the key is the base64 text after ``whsec_``.  The tests check it against
the ``standardwebhooks`` reference package, so ``send`` and ``make serve``
exercise the handler exactly as a real sender would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid

from ..config import ConfigError

PREFIX = "whsec_"
#: 32 random bytes: above the handler's 16-byte minimum, Svix's default size.
SECRET_BYTES = 32


class SecretFormatError(ValueError):
    """A signing secret that is not ``whsec_<base64>`` (or bare base64)."""


def generate_secret() -> str:
    """A fresh ``whsec_`` secret, for local development."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key in ``secret`` (``whsec_<base64>``; the prefix is optional)."""
    text = secret.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError("the signing secret must be whsec_ followed by base64") from None
    if len(key) < 16:
        raise SecretFormatError("the signing secret is shorter than 16 bytes")
    return key


def parse_secret_flag(value: str) -> str:
    """``value`` of a ``--secret`` flag, checked; ``ConfigError`` (exit 2) when it is malformed.

    ``secret_key`` raises ``SecretFormatError``, which the CLI does not turn
    into a usage error; every command taking ``--secret`` goes through here so
    a bad one is refused up front with the same message, not a traceback.
    """
    try:
        secret_key(value)
    except SecretFormatError as error:
        raise ConfigError(f"--secret is invalid ({error}); accepted: whsec_<base64> of at least 16 bytes") from None
    return value


def with_prefix(stored: str) -> str:
    """The sender-facing form of a secret as Secrets Manager holds it.

    The stack stores ``{"current": "<base64>", "previous": ...}`` (or a plain
    string); senders sign with the current one, ``whsec_``-prefixed.
    """
    text = stored.strip()
    if text.startswith("{"):
        text = str(json.loads(text)["current"]).strip()
    return text if text.startswith(PREFIX) else PREFIX + text


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one delivery."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def new_message_id() -> str:
    """A unique ``webhook-id`` (retries of one delivery reuse it)."""
    return "msg_" + uuid.uuid4().hex


def signed_headers(secret: str, body: bytes, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers, plus the JSON content type."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
