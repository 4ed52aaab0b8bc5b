"""Helpers for the serve tests: start and stop a real ``webhook-templates serve`` process, make requests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: A fixed development secret, so tests sign without parsing the banner.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STARTUP_SECONDS = 60


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


def start(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``serve`` on port 0 and read its banner up to the example command."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "webhook_templates", "serve", "--port", "0", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:  # ends if the process dies
        lines.append(line)
        if line.startswith("Ctrl-C"):
            return process, "".join(lines)
    process.wait(timeout=STARTUP_SECONDS)
    raise AssertionError(f"serve exited with {process.returncode} before it was ready:\n{''.join(lines)}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def transaction(**fields: Any) -> dict[str, Any]:
    """A valid transaction body (unique ID unless given)."""
    return {"transactionId": "txn_" + uuid.uuid4().hex[:12], "amount": 10.25, "currency": "EUR", **fields}
