"""``webhook-templates send``: post one signed delivery and show what came back.

A smoke test for a deployed stack (``--env``: endpoint and secret read from
the stack) or any endpoint (``--endpoint`` and ``--secret``, e.g. ``make
serve``'s).  ``--repeat N`` resends the same delivery (same ``webhook-id``,
re-signed as a sender's retry is) to show it is stored once: every attempt
gets the original response back.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, stack_name_of
from ..deploy import stack_outputs, stacks
from ..deploy.session import run_aws, session
from ..exit_codes import EXIT_FAILED, EXIT_OK
from . import signing

MAX_REPEAT = 100
#: What http.client refuses in a request line (ValueError at send time): control characters and space.
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class Target:
    """Where to post and what to sign with."""

    endpoint: str
    secret: str


@dataclass(frozen=True)
class Attempt:
    """One POST and its outcome."""

    status: int
    body: str
    latency_ms: float

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


def sample_payload() -> bytes:
    """A valid transaction with a fresh ID."""
    document = {
        "transactionId": "txn_" + uuid.uuid4().hex[:16],
        "amount": 12.5,
        "currency": "USD",
        "status": "completed",
        "metadata": {"source": "webhook-templates send"},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def read_payload(path: str | None) -> bytes:
    """The body to send: the file's exact bytes (``-`` for standard input), else a sample."""
    if path is None:
        return sample_payload()
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(
            f"--payload {path!r} cannot be read ({error.strerror}); accepted: a readable file or -"
        ) from None


def post(endpoint: str, body: bytes, headers: dict[str, str], timeout: float) -> Attempt:
    """POST ``body`` and time it; an HTTP error status is an outcome, not an exception."""
    request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only, checked)
            status, text = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode("utf-8", "replace")
    return Attempt(status, text, (time.perf_counter() - started) * 1000)


def deliver(target: Target, body: bytes, repeat: int = 1, timeout: float = 30.0) -> list[Attempt]:
    """Send one delivery ``repeat`` times: same ``webhook-id`` and body, signed at each attempt."""
    msg_id = signing.new_message_id()
    return [
        post(target.endpoint, body, signing.signed_headers(target.secret, body, msg_id), timeout)
        for _ in range(repeat)
    ]


# --- reading a deployed stack ---------------------------------------------------------

def _stage_of(endpoint: str) -> str:
    """The stage in ``https://<api>.execute-api.<region>.<suffix>/<stage>/webhook``."""
    parts = endpoint.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else ""


class StackNotReady(RuntimeError):
    """The environment has no stack, or one without the outputs ``send`` needs."""


def deployed_outputs(env: str, aws: Any, flat_outputs: Path = stack_outputs.DEFAULT_OUTPUTS_FILE) -> dict[str, str]:
    """The stack's outputs: from ``flat_outputs`` when they are this environment's, else CloudFormation.

    The flat file holds whichever stack was deployed (or read) last; its
    endpoint's stage, which is the environment name, tells whether that is ``env``.
    """
    outputs = stack_outputs.read(flat_outputs)
    if _stage_of(str(outputs.get("ApiEndpoint", ""))) == env:
        return outputs
    name = stack_name_of(env)
    stack = stacks.describe_stack(aws.client("cloudformation"), name)
    if stack is None:
        raise StackNotReady(f"there is no stack {name}; deploy it first (make deploy ENV={env})")
    return stack_outputs.flatten(stack)


def deployed_target(env: str, aws: Any) -> Target:
    """Endpoint and sender-facing secret of environment ``env``'s stack (``aws``: a boto3 session)."""
    outputs = deployed_outputs(env, aws)
    missing = {"ApiEndpoint", "SigningSecretArn"} - set(outputs)
    if missing:
        raise StackNotReady(f"stack {stack_name_of(env)} has no output(s) {', '.join(sorted(missing))}")
    secret = aws.client("secretsmanager").get_secret_value(SecretId=outputs["SigningSecretArn"])
    try:
        return Target(outputs["ApiEndpoint"], signing.with_prefix(secret["SecretString"]))
    except (KeyError, TypeError, ValueError, AttributeError):  # a binary secret, other JSON, no "current"
        raise StackNotReady(
            f"the signing secret {outputs['SigningSecretArn']} is not in the shape the handler reads; accepted: "
            '{"current": "<base64 secret>", "previous": ...} or the secret itself as text'
        ) from None


# --- the command ---------------------------------------------------------------------

def parse_endpoint(value: str) -> str:
    """``value`` of ``--endpoint``, checked; ``ConfigError`` (exit 2) unless it is an http(s) URL with a host.

    urllib raises ``ValueError`` for a malformed URL only when it sends, which
    would surface as a traceback; everything it would refuse is refused here.
    """
    problem = ConfigError(f"--endpoint {value!r} is invalid; accepted: an http:// or https:// URL with a host")
    if _UNSENDABLE.search(value):
        raise problem
    try:
        parts = urllib.parse.urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem
    return value


def parse_timeout(value: float) -> float:
    """``value`` of ``--timeout``, checked: a finite number of seconds above 0 (``ConfigError`` otherwise).

    The socket layer raises ``ValueError`` or ``OverflowError`` for zero,
    negative, NaN or infinite timeouts, and only once a request is made.
    """
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"--timeout {value} is invalid; accepted: a number of seconds above 0")
    return value


def target_from_flags(args: argparse.Namespace) -> Target:
    """The ``--endpoint``/``--secret`` target; ``ConfigError`` (exit 2) for an incomplete or malformed one."""
    if not (args.endpoint and args.secret):
        raise ConfigError("no target; accepted: --env ENV, or --endpoint URL with --secret whsec_...")
    return Target(parse_endpoint(args.endpoint), signing.parse_secret_flag(args.secret))


def report(attempts: list[Attempt]) -> list[str]:
    """What ``send`` prints: each attempt, then whether the retries were answered as one delivery."""
    lines = []
    for number, attempt in enumerate(attempts, 1):
        lines.append(f"attempt {number}/{len(attempts)}: HTTP {attempt.status} in {attempt.latency_ms:.1f} ms")
        lines.append(f"  {attempt.body}")
    if len(attempts) > 1:
        same = all(a.ok for a in attempts) and len({a.body for a in attempts}) == 1
        lines.append(
            "every attempt got the original response: the delivery was stored once" if same
            else "attempts were answered differently: see the responses above"
        )
    return lines


def send_to(target: Target, body: bytes, args: argparse.Namespace) -> int:
    """Deliver ``body`` to ``target`` as the flags say, print the outcome, and return the exit code."""
    print(f"POST {target.endpoint} ({len(body):,} bytes)")
    try:
        attempts = deliver(target, body, args.repeat, args.timeout)
    except (OSError, http.client.HTTPException) as error:
        # OSError covers urllib's URLError and timeouts; HTTPException a peer that is not speaking
        # HTTP. HTTP error statuses are outcomes, not exceptions (see post).
        print(f"request failed: {getattr(error, 'reason', None) or error!r}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(report(attempts)))
    return EXIT_OK if all(a.ok for a in attempts) else EXIT_FAILED


def _send_to_environment(args: argparse.Namespace, body: bytes) -> int:
    try:
        target = deployed_target(args.env, session(args.region))
    except StackNotReady as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    return send_to(target, body, args)


def cmd_send(args: argparse.Namespace) -> int:
    """Post a signed transaction webhook and print status, response and latency."""
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise ConfigError(f"--repeat {args.repeat} is invalid; accepted: 1 to {MAX_REPEAT}")
    parse_timeout(args.timeout)
    if args.env and (args.endpoint or args.secret):
        raise ConfigError("--env reads the endpoint and secret from the stack; accepted: --env alone, "
                          "or --endpoint with --secret")
    if args.env:
        stack_name_of(args.env)
        body = read_payload(args.payload)
        return run_aws(lambda: _send_to_environment(args, body))  # AWS errors: one line, exit 1
    target = target_from_flags(args)
    return send_to(target, read_payload(args.payload), args)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``send`` to the CLI."""
    parser = commands.add_parser(
        "send", help="post a signed sample (or given) transaction to a deployed or local endpoint",
        description=(cmd_send.__doc__ or "") + " Exit 0 when every response is 2xx, 1 otherwise, 2 on usage errors.",
    )
    where = parser.add_argument_group("target (either --env, or --endpoint with --secret)")
    where.add_argument("--env", help="a deployed environment: endpoint and secret from its stack")
    where.add_argument("--endpoint", metavar="URL", help="the webhook URL, e.g. http://127.0.0.1:3000/webhook")
    where.add_argument("--secret", metavar="whsec_...", help="the signing secret")
    where.add_argument("--region", help="with --env: the stack's region (default: AWS_REGION or your profile's)")
    parser.add_argument("--payload", metavar="FILE", help="send this file's bytes (- for stdin) instead of a sample")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="send the same delivery N times (default 1) to show it is stored once")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="per-request timeout (default 30)")
    parser.set_defaults(func=cmd_send)
