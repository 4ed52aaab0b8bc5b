"""The AWS session every command uses, and the one place AWS errors become one line.

Credentials, region and endpoint come from the standard AWS chain
(``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``...), never from flags of
ours, so the same code runs against an emulator or a real account.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

from ..config import ConfigError
from ..exit_codes import EXIT_FAILED

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


def check(pattern: re.Pattern[str], flag: str, value: str | None, accepted: str) -> None:
    """Raise ``ConfigError`` unless ``value`` (when given) matches ``pattern``."""
    if value is not None and not pattern.match(value):
        raise ConfigError(f"{flag} {value!r} is invalid; accepted: {accepted}")


def session(region: str | None) -> Any:
    """A boto3 session from the standard chain; the region is ``--region``, else ``AWS_REGION``.

    boto3 itself reads only ``AWS_DEFAULT_REGION`` and the profile; the AWS CLI
    v2 and the other SDKs also honour ``AWS_REGION``, so this does too.
    """
    import boto3
    from botocore.exceptions import ProfileNotFound

    check(_REGION, "--region", region, "an AWS region name such as eu-west-1")
    try:
        aws = boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    except ProfileNotFound as error:
        raise ConfigError(f"{error}; accepted: a profile of your AWS config, or no AWS_PROFILE") from None
    if not aws.region_name:
        raise ConfigError("no AWS region; accepted: --region REGION, AWS_REGION, or a region in your AWS profile")
    return aws


def run_aws(command: Callable[[], int]) -> int:
    """Run ``command``, turning AWS errors into one readable line and exit 1."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from .console import Console

    try:
        return command()
    except NoCredentialsError:
        Console().warn("No AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY), or run where an instance or SSO role provides them.")
    except ClientError as error:
        details = error.response.get("Error", {})
        Console().warn(f"AWS error {details.get('Code', '?')}: {details.get('Message', error)}")
    except BotoCoreError as error:
        Console().warn(f"AWS error: {error}")
    return EXIT_FAILED


