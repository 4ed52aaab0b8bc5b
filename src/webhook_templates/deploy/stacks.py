"""CloudFormation reads shared by deploy, outputs and destroy, each retried through bad weather.

Every read goes through ``retrying``: throttling and transient failures
(botocore's classification, ``session.transient``) are retried with capped
exponential backoff and full jitter until ``RETRY.budget_seconds`` of failures
in a row; anything else, or a failure outlasting the budget, is raised for the
caller to report.  Polling loops also have an overall deadline
(``WAIT_LIMIT_SECONDS``): past it, the command stops following and says so
(``LostTrack``), as CloudFormation keeps going.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from . import messages
from .errors import LostTrack
from .session import transient
from .states import COMPUTING, in_progress

__all__ = ["RETRY", "WAIT_LIMIT_SECONDS", "Backoff", "LostTrack", "describe_change_set", "describe_stack",
           "in_progress", "is_missing", "poll_until", "retrying", "stack_status", "wait_for_change_set",
           "wait_for_stack"]

#: How long any single wait may take before the command gives up (CloudFormation keeps going).
WAIT_LIMIT_SECONDS = 3600
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter, for ``budget_seconds`` of failures in a row."""

    first_seconds: float = 0.5
    cap_seconds: float = 20.0
    budget_seconds: float = 120.0

    def delay(self, attempt: int) -> float:
        """The pause before retry number ``attempt`` (0-based): uniform in [0, min(cap, first * 2^attempt)].

        Full jitter keeps many clients throttled together from retrying in step.
        """
        return random.uniform(0, min(self.cap_seconds, self.first_seconds * 2 ** min(attempt, 30)))


#: The policy every read and every idempotent write uses (the tests make it fast).
RETRY = Backoff()


def retrying(call: Callable[[], T], *, policy: Backoff | None = None, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> T:
    """``call()``, retried while it fails transiently and ``policy``'s budget lasts (default: ``RETRY``).

    Only for calls that are safe to repeat: reads, and writes that set a state
    (``SetStackPolicy``, ``UpdateTerminationProtection``, deletions).
    """
    policy = policy or RETRY
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            delay = policy.delay(attempt)
            if not transient(error) or clock() - started + delay > policy.budget_seconds:
                raise
        sleep(delay)
        attempt += 1


def is_missing(error: ClientError, *codes: str) -> bool:
    """Whether ``error`` says the thing asked about does not exist.

    For a stack CloudFormation has no code of its own, only ``ValidationError``
    with "does not exist" in AWS's message: that text is the API's, not ours.
    """
    details = error.response.get("Error", {})
    return details.get("Code") in codes or (
        details.get("Code") == "ValidationError" and "does not exist" in details.get("Message", ""))


def describe_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack called (or with ID) ``stack_name``, or None if there is none."""
    try:
        stack: dict[str, Any] = retrying(lambda: cfn.describe_stacks(StackName=stack_name)["Stacks"][0])
        return stack
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def stack_status(cfn: Any, stack_id: str) -> str:
    """The stack's current status (by stack ID, which also finds deleted stacks)."""
    status: str = retrying(lambda: cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])
    return status


def describe_change_set(cfn: Any, change_set: str, stack_name: str | None = None,
                        next_token: str | None = None) -> dict[str, Any] | None:
    """``DescribeChangeSet`` of an ARN (or of a name in ``stack_name``); None if there is no such change set."""
    arguments = {"ChangeSetName": change_set}
    if stack_name:
        arguments["StackName"] = stack_name
    if next_token:
        arguments["NextToken"] = next_token
    try:
        change_set_description: dict[str, Any] = retrying(lambda: cfn.describe_change_set(**arguments))
        return change_set_description
    except ClientError as error:
        if is_missing(error, "ChangeSetNotFound", "ChangeSetNotFoundException"):
            return None
        raise


def poll_until(read: Callable[[], T], done: Callable[[T], bool], poll_seconds: float, what: str, *,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> T:
    """``read()`` every ``poll_seconds`` until ``done`` says so; ``LostTrack`` past ``WAIT_LIMIT_SECONDS``."""
    started = clock()
    while True:
        value = read()
        if done(value):
            return value
        if clock() - started > WAIT_LIMIT_SECONDS:
            raise LostTrack(messages.still_running(what, WAIT_LIMIT_SECONDS // 60))
        sleep(poll_seconds)


def wait_for_change_set(cfn: Any, change_set_arn: str, poll_seconds: float) -> dict[str, Any]:
    """The change set once CloudFormation has computed it (``CREATE_COMPLETE`` or ``FAILED``)."""
    def read() -> dict[str, Any]:
        described = describe_change_set(cfn, change_set_arn)
        if described is None:
            raise LostTrack(messages.change_set_disappeared(change_set_arn))
        return described

    return poll_until(read, lambda described: described.get("Status") not in COMPUTING,
                      poll_seconds, messages.the_change_set(change_set_arn))


def wait_for_stack(cfn: Any, stack_id: str, poll_seconds: float) -> str:
    """The stack's status once no operation runs on it (by ID, so ``DELETE_COMPLETE`` is seen)."""
    return poll_until(lambda: stack_status(cfn, stack_id), lambda status: not in_progress(status),
                      poll_seconds, messages.the_operation(stack_id))
