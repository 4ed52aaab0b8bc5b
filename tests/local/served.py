"""Helpers for the serve tests: the running endpoint, real HTTP requests, sample bodies."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: A fixed development secret, so tests sign without parsing the banner.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass(frozen=True)
class Served:
    """The running local endpoint."""

    url: str
    secret: str
    banner: str

    @property
    def base(self) -> str:
        return self.url.removesuffix("/webhook")

    def stats(self) -> dict[str, int]:
        """Stored item counts, read from the server's emulated table."""
        with urllib.request.urlopen(self.base + "/_local/stats", timeout=10) as response:
            return json.loads(response.read())


def request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """One real HTTP request: (status, headers, body), error statuses included."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def server_environment() -> dict[str, str]:
    """The server's environment: fake credentials, so nothing it does could reach an account."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    return env


def transaction(**fields: Any) -> dict[str, Any]:
    """A valid transaction body (unique ID unless given)."""
    return {"transactionId": "txn_" + uuid.uuid4().hex[:12], "amount": 10.25, "currency": "EUR", **fields}
