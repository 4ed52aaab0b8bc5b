"""Small CloudFormation reads and waits shared by deploy, outputs and destroy."""

from __future__ import annotations

import math
from typing import Any

from botocore.exceptions import ClientError, WaiterError

#: How long any single wait may take before the command gives up (CloudFormation keeps going).
WAIT_LIMIT_SECONDS = 3600


def describe_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack called (or with ID) ``stack_name``, or None if there is none."""
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        details = error.response["Error"]
        if details["Code"] == "ValidationError" and "does not exist" in details.get("Message", ""):
            return None
        raise


def waiter_config(poll_seconds: float) -> dict[str, float]:
    """boto3 ``WaiterConfig``: poll every ``poll_seconds``, for at most ``WAIT_LIMIT_SECONDS``."""
    return {"Delay": poll_seconds, "MaxAttempts": math.ceil(WAIT_LIMIT_SECONDS / max(poll_seconds, 1.0))}


def wait(cfn: Any, waiter: str, poll_seconds: float, **arguments: Any) -> dict[str, Any] | None:
    """Run boto3's ``waiter``; None on success, else the last response it saw (the failure)."""
    try:
        cfn.get_waiter(waiter).wait(WaiterConfig=waiter_config(poll_seconds), **arguments)
    except WaiterError as error:
        return error.last_response or {}
    return None
