"""``webhook-templates destroy``: delete the stack, keep the data, and say what was kept.

The table, the key, the secret and the log groups have ``DeletionPolicy:
Retain``, so deleting the stack leaves them (and their data) in the account.
Production stacks have termination protection; destroy does not switch it off
for you.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cfn_flip

from ..exit_codes import EXIT_FAILED, EXIT_OK, EXIT_REFUSED
from . import messages, stack_outputs
from .console import Console
from .events import EventFeed, Progress, follow, in_progress, latest_event_id
from .stacks import describe_stack, retrying
from .states import StackStatus

#: Deletion policies that keep a resource when its stack is deleted.
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate")


def template_resources(template_body: Any) -> dict[str, Any]:
    """The ``Resources`` of a template as ``GetTemplate`` returns it (parsed JSON, or YAML text)."""
    template = cfn_flip.load(template_body)[0] if isinstance(template_body, str) else template_body
    return dict(template.get("Resources", {}))


def stack_resources(cfn: Any, stack_id: str) -> list[dict[str, Any]]:
    """Every resource of the stack (all pages of ``ListStackResources``)."""
    def read() -> list[dict[str, Any]]:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        return [summary for page in pages for summary in page["StackResourceSummaries"]]

    return retrying(read)


def retained_resources(template_body: Any, resources: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Those of ``resources`` that deleting the stack keeps: logical ID, type and physical ID."""
    policies = template_resources(template_body)
    return [
        {key: summary.get(key, "") for key in ("LogicalResourceId", "ResourceType", "PhysicalResourceId")}
        for summary in resources
        if policies.get(summary["LogicalResourceId"], {}).get("DeletionPolicy") in KEEPING_POLICIES
        and summary.get("ResourceStatus") != StackStatus.DELETE_COMPLETE
    ]


def describe_kept(kept: list[dict[str, str]]) -> list[str]:
    """One line per kept resource: ``TransactionsTable  AWS::DynamoDB::Table  transactions-dev``."""
    return [f"  {r['LogicalResourceId']:<20}  {r['ResourceType']:<28}  {r['PhysicalResourceId']}" for r in kept]


def destroy(cfn: Any, stack_name: str, console: Console, *, assume_yes: bool, poll_seconds: float,
            outputs_file: Path, role_arn: str | None = None) -> int:
    """Delete ``stack_name`` after confirmation; the exit code (0 deleted or absent, 1 failed, 3 refused).

    ``role_arn`` is the service role CloudFormation deletes with (``--role-arn``).
    """
    stack = describe_stack(cfn, stack_name)
    if stack is None:
        console.say(messages.nothing_to_delete(stack_name))
        return EXIT_OK
    stack_id, status = stack["StackId"], stack["StackStatus"]
    if stack.get("EnableTerminationProtection"):
        console.warn(messages.termination_protected(stack_name))
        return EXIT_REFUSED
    if in_progress(status) and status != StackStatus.REVIEW_IN_PROGRESS:
        console.warn(messages.destroy_busy(stack_name, status))
        return EXIT_FAILED
    # A stack only ever reviewed (REVIEW_IN_PROGRESS) has no resources, nor a template to read.
    resources = [] if status == StackStatus.REVIEW_IN_PROGRESS else stack_resources(cfn, stack_id)
    kept = retained_resources(retrying(lambda: cfn.get_template(StackName=stack_id))["TemplateBody"],
                              resources) if resources else []
    console.say(messages.deleting(stack_name, status, keeps=bool(kept)))
    for line in describe_kept(kept):
        console.say(line)
    if not assume_yes:
        answer = console.confirm(messages.delete_question(stack_name))
        if not answer:
            console.warn(messages.NOT_DELETED if answer is False else messages.DELETE_NO_TERMINAL)
            return EXIT_REFUSED
    recorded = stack_outputs.read(outputs_file)
    marker = latest_event_id(cfn, stack_id)
    # Deleting the same stack again is harmless.
    retrying(lambda: cfn.delete_stack(StackName=stack_id, **({"RoleARN": role_arn} if role_arn else {})))
    feed, progress = EventFeed(cfn, stack_id, marker), Progress(len(resources), stack_id)
    final, _ = follow(cfn, stack_id, feed, progress, console, poll_seconds)
    if final != StackStatus.DELETE_COMPLETE:
        console.warn(messages.delete_failed(stack_name, final))
        return EXIT_FAILED
    if recorded and recorded == stack_outputs.flatten(stack):
        # The outputs file described this stack; it would only mislead now.
        outputs_file.unlink()
    console.say(console.style(messages.deleted(stack_name), "green", "bold"))
    if kept:
        console.say(messages.RETAINED)
        for line in describe_kept(kept):
            console.say(line)
    return EXIT_OK
