"""The AWS session every command uses, how its errors are classified, and the one place they become one line.

Credentials, region and endpoint come from the standard AWS chain
(``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``...), never from flags of
ours, so the same code runs against an emulator or a real account.

The CloudFormation client makes each call exactly once (no botocore retries):
every read is retried by ``stacks.retrying`` (backoff, jitter, a time budget,
and a report that tells "lost track" from "failed"), and every write is
retried, or not, by the code that makes it, which knows whether the call is
safe to repeat (``ExecuteChangeSet`` is not: a lost answer may mean it ran).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ..config import ConfigError
from ..exit_codes import EXIT_FAILED

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
#: Error codes that mean the credentials are no longer (or never were) good.
_CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
    "UnrecognizedClientException", "SignatureDoesNotMatch",
})


def check(pattern: re.Pattern[str], flag: str, value: str | None, accepted: str) -> None:
    """Raise ``ConfigError`` unless ``value`` (when given) matches ``pattern``."""
    if value is not None and not pattern.match(value):
        raise ConfigError(f"{flag} {value!r} is invalid; accepted: {accepted}")


def session(region: str | None, profile: str | None = None) -> Any:
    """A boto3 session from the standard chain; the region is ``--region``, else ``AWS_REGION``.

    ``profile`` (``--profile``) picks a profile of the AWS config, as ``AWS_PROFILE`` does.

    boto3 itself reads only ``AWS_DEFAULT_REGION`` and the profile; the AWS CLI
    v2 and the other SDKs also honour ``AWS_REGION``, so this does too.
    """
    import boto3
    from botocore.exceptions import ProfileNotFound

    check(_REGION, "--region", region, "an AWS region name such as eu-west-1")
    try:
        aws = boto3.Session(profile_name=profile or None, region_name=region or os.environ.get("AWS_REGION") or None)
    except ProfileNotFound as error:
        raise ConfigError(f"{error}; accepted: a profile of your AWS config, or no --profile/AWS_PROFILE") from None
    if not aws.region_name:
        raise ConfigError("no AWS region; accepted: --region REGION, AWS_REGION, or a region in your AWS profile")
    return aws


def cloudformation(aws: Any) -> Any:
    """A CloudFormation client that sends each call once: retries are decided per call (module docstring)."""
    from botocore.config import Config

    return aws.client("cloudformation", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


class _Status:
    """The one attribute of an HTTP response botocore's retry checkers read."""

    def __init__(self, status_code: int | None) -> None:
        self.status_code = status_code


def transient(error: BaseException) -> bool:
    """Whether ``error`` is worth another try: throttling, a 5xx, a dropped or refused connection.

    botocore's own standard-mode checkers decide (its lists of throttling and
    transient codes, statuses and exceptions), plus ``ResponseParserError``: an
    answer that is not AWS's at all, such as a proxy's HTML error page.
    """
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError
    from botocore.retries import standard

    if isinstance(error, ResponseParserError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = standard.RetryContext(attempt_number=1, parsed_response=error.response,
                                        http_response=_Status(status))
    elif isinstance(error, Exception):
        context = standard.RetryContext(attempt_number=1, caught_exception=error)
    else:
        return False  # KeyboardInterrupt, SystemExit: never retried
    checkers = (standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker())
    return any(checker.is_retryable(context) for checker in checkers)


def aws_errors() -> tuple[type[Exception], ...]:
    """Every exception an AWS call raises for a failure outside this program."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return (ClientError, BotoCoreError, ResponseParserError)


def aws_errors_or_interrupt() -> tuple[type[BaseException], ...]:
    """``aws_errors()`` and Ctrl-C: what a clean-up step catches so that it can report what it left."""
    return (*aws_errors(), KeyboardInterrupt)


def _one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters: an error body can be a whole HTML page."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def describe_error(error: BaseException) -> str:
    """One line for an AWS failure: the service's code and message, or what went wrong on the way."""
    from botocore.exceptions import ClientError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    if isinstance(error, NoCredentialsError):
        return ("no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
                "or run where an instance or SSO role provides them")
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code", "?")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 and (code in ("?", "Unknown") or code.isdigit()):
            # No AWS error in the body: an HTML page botocore read leniently.
            return (f"AWS answered HTTP {status} without an AWS error (a proxy's error page?): "
                    f"{_one_line(details.get('Message', ''))}")
        line = f"AWS error {code}: {_one_line(details.get('Message') or error, 500)}"
        if code in _CREDENTIAL_CODES:
            line += " (refresh your credentials, e.g. `aws sso login`, and run the command again)"
        return line
    if isinstance(error, ResponseParserError):
        # Its text holds the whole body (an HTML page): the first line is enough.
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"AWS answered with something that is not an AWS response (a proxy's error page?): {first[:200]}"
    return f"AWS error: {error}"


def run_aws(command: Callable[[], int]) -> int:
    """Run ``command``, turning AWS errors into one readable line and exit 1."""
    from .console import Console

    try:
        return command()
    except aws_errors() as error:
        Console().warn(describe_error(error))
    return EXIT_FAILED
