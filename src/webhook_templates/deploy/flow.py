"""``webhook-templates deploy``: one change set, checked, shown, confirmed, executed and followed.

The flow, in order: pick CREATE or UPDATE from the stack's state; create the
change set and wait for it; stop with exit 0 if it changes nothing; show it;
stop with exit 3 if the data guard refuses it, on ``--dry-run`` (exit 0), or
without confirmation (exit 3); execute it while streaming events; then protect
the stack (stack policy, termination protection for prod) and record outputs.
A change set that is not executed is always deleted.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError

from .. import __version__
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_FAILED, EXIT_OK, EXIT_REFUSED
from ..handoff.render import TEMPLATE_BODY_LIMIT
from . import guard, stack_outputs
from .changeset import ResourceChange, is_no_changes, resource_changes, summary, table
from .console import Console
from .events import EventFeed, Progress, elapsed, follow, in_progress, latest_event_id, recovery_advice, root_cause
from .inputs import TemplateSource, fits_inline
from .stacks import describe_stack, wait

#: The template creates IAM roles with fixed names.
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
#: Which waiter confirms an executed change set of each type.
_DONE_WAITERS = {"CREATE": "stack_create_complete", "UPDATE": "stack_update_complete"}


class DeployError(Exception):
    """The deploy cannot go on; the message says why (exit 1)."""


@dataclass(frozen=True)
class DeployRequest:
    """Everything one deploy needs, validated by the CLI."""

    stack_name: str
    environment: EnvironmentConfig
    template: TemplateSource
    parameters: list[dict[str, str]]
    allow_replacement: frozenset[str] = frozenset()
    dry_run: bool = False
    assume_yes: bool = False
    outputs_file: Path = stack_outputs.DEFAULT_OUTPUTS_FILE
    poll_seconds: float = 5.0


@dataclass(frozen=True)
class ChangeSetRef:
    """A created change set: its ARN, its stack's ID and whether it creates the stack."""

    arn: str
    stack_id: str
    type: str


def change_set_type(status: str | None, stack_name: str) -> str:
    """``CREATE``, ``UPDATE``, or ``RECREATE`` (delete a failed first deploy, then create).

    Raises ``DeployError`` for states no change set can start from.
    """
    if status is None or status == "REVIEW_IN_PROGRESS":
        # REVIEW_IN_PROGRESS: a first deploy created a change set and never
        # executed it; the stack has no resources and takes another CREATE.
        return "CREATE"
    if status == "ROLLBACK_COMPLETE":
        return "RECREATE"
    advice = recovery_advice(status, stack_name)
    if advice:
        raise DeployError(advice)
    if in_progress(status):
        raise DeployError(
            f"{stack_name} is {status}: another operation is running on it. Wait for it to finish "
            f"(`aws cloudformation describe-stack-events --stack-name {stack_name}`), then deploy again."
        )
    return "UPDATE"


def change_set_name() -> str:
    """A unique, sortable change set name."""
    return f"webhook-templates-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def discard(cfn: Any, change_set: ChangeSetRef) -> None:
    """Delete a change set that will not run.

    For a CREATE the whole stack goes: it is only a REVIEW_IN_PROGRESS shell
    with no resources, and leaving it would look like a half-made deploy.
    """
    if change_set.type == "CREATE":
        cfn.delete_stack(StackName=change_set.stack_id)
    else:
        cfn.delete_change_set(ChangeSetName=change_set.arn)


def recreate_failed_stack(cfn: Any, stack: dict[str, Any], console: Console, poll_seconds: float) -> None:
    """Delete a ROLLBACK_COMPLETE stack (a failed first deploy) so it can be created again."""
    console.say(f"{stack['StackName']} is ROLLBACK_COMPLETE: its first deploy failed and it holds no "
                "resources. Deleting it so it can be created again.")
    cfn.delete_stack(StackName=stack["StackId"])
    failure = wait(cfn, "stack_delete_complete", poll_seconds, StackName=stack["StackId"])
    if failure is not None:
        raise DeployError(f"could not delete the failed stack {stack['StackName']}: {_reason(failure)}")


def _reason(response: dict[str, Any]) -> str:
    stacks = response.get("Stacks") or [{}]
    return (response.get("StatusReason") or stacks[0].get("StackStatusReason")
            or response.get("Error", {}).get("Message") or stacks[0].get("StackStatus") or "unknown reason")


def create_change_set(cfn: Any, request: DeployRequest, kind: str, upload: Callable[[TemplateSource], str],
                      console: Console) -> ChangeSetRef | None:
    """Create the change set and wait until it is ready; None when it would change nothing."""
    template = request.template
    if fits_inline(template):
        source = {"TemplateBody": template.body}
    else:
        source = {"TemplateURL": upload(template)}
        console.say(f"{template.path} is {template.size:,} bytes, over the {TEMPLATE_BODY_LIMIT:,}-byte "
                    f"TemplateBody limit: uploaded to {source['TemplateURL']}")
    try:
        created = cfn.create_change_set(
            StackName=request.stack_name, ChangeSetName=change_set_name(), ChangeSetType=kind,
            Parameters=request.parameters, Capabilities=CAPABILITIES,
            Description=f"webhook-templates {__version__}: {request.environment.name}", **source,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ValidationError" and is_no_changes(error.response["Error"]["Message"]):
            return None
        raise
    change_set = ChangeSetRef(created["Id"], created["StackId"], kind)
    failure = wait(cfn, "change_set_create_complete", request.poll_seconds, ChangeSetName=change_set.arn)
    if failure is None:
        return change_set
    discard(cfn, change_set)
    if is_no_changes(_reason(failure)):
        return None
    raise DeployError(f"CloudFormation rejected the change set: {_reason(failure)}")


def describe_changes(cfn: Any, change_set_arn: str) -> list[ResourceChange]:
    """Every resource change of the change set (all pages)."""
    pages = [cfn.describe_change_set(ChangeSetName=change_set_arn)]
    while pages[-1].get("NextToken"):
        pages.append(cfn.describe_change_set(ChangeSetName=change_set_arn, NextToken=pages[-1]["NextToken"]))
    return resource_changes(pages)


def set_full_policy(cfn: Any, stack_id: str) -> None:
    """Put the full stack policy in place: no data resource may be replaced or deleted."""
    cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=json.dumps(guard.stack_policy()))


def protect(cfn: Any, stack_id: str, environment: EnvironmentConfig, console: Console) -> None:
    """Put the full stack policy in place, and termination protection on for production."""
    set_full_policy(cfn, stack_id)
    protected = "termination protection on" if environment.is_production else "no termination protection (not prod)"
    if environment.is_production:
        cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True)
    console.say(f"Stack policy denies replacing or deleting data resources; {protected}.")


def finish(cfn: Any, stack_id: str, request: DeployRequest, console: Console) -> int:
    """After a successful (or empty) deploy: protect the stack and record its outputs."""
    protect(cfn, stack_id, request.environment, console)
    stack_outputs.record(describe_stack(cfn, stack_id) or {}, request.outputs_file, console)
    return EXIT_OK


def check_guard(changes: list[ResourceChange], request: DeployRequest, console: Console) -> bool:
    """Apply the data guard: True to go on, False (after saying why) to refuse."""
    dangers = guard.dangers(changes)
    unused = request.allow_replacement - {danger.logical_id for danger in dangers}
    if unused:
        console.warn(f"note: --allow-replacement {', '.join(sorted(unused))}: this change set does not "
                     "remove or replace it; nothing to allow")
    refused = guard.refused(changes, request.allow_replacement)
    for danger in dangers:
        if danger not in refused:
            console.warn(console.style(f"allowed by --allow-replacement: {danger.reason()}", "yellow"))
    if not refused:
        return True
    console.warn(console.style("Refused by the data guard: this change set would lose data.", "red", "bold"))
    for danger in refused:
        console.warn(f"  {danger.reason()}")
    flags = " ".join(f"--allow-replacement {danger.logical_id}" for danger in refused)
    console.warn(f"Nothing was executed and the change set was deleted. If losing them is intended "
                 f"(back the data up first), deploy again with: {flags}")
    return False


def confirmed(request: DeployRequest, console: Console) -> bool:
    """``--yes``, or a "y" typed at the terminal; never a guess when there is no terminal."""
    if request.assume_yes:
        return True
    answer = console.confirm(f"Execute this change set on {request.stack_name}?")
    if answer is None:
        console.warn("Refusing to execute: no terminal to ask on and no --yes. Review the changes "
                     "above (make diff), then deploy again with --yes.")
    elif not answer:
        console.warn("Not executed; the change set was deleted.")
    return bool(answer)


def start(cfn: Any, change_set: ChangeSetRef) -> None:
    """Execute the change set; if CloudFormation refuses, delete it (it will never run) and say why."""
    try:
        # If the operation fails, delete what it newly created (Retain resources
        # included) instead of leaving an orphaned table that blocks the retry.
        cfn.execute_change_set(ChangeSetName=change_set.arn, RetainExceptOnCreate=True)
    except ClientError as error:
        reason = _reason(error.response)
        try:
            discard(cfn, change_set)
        except ClientError as cleanup:
            # Still report why it was not executed: that is what the user must fix.
            reason += f" (deleting the change set failed too: {_reason(cleanup.response)})"
        raise DeployError(f"CloudFormation did not execute the change set: {reason}") from error


def run_change_set(cfn: Any, change_set: ChangeSetRef, changes: list[ResourceChange], request: DeployRequest,
                   console: Console, marker: str | None) -> tuple[str, list[dict[str, Any]], dict[str, Any] | None]:
    """Execute the change set and follow it to the end.

    Returns the final status, the events seen after ``marker``, and the wait's
    failure (None on success).
    """
    start(cfn, change_set)
    console.say(f"Executing on {request.stack_name}:")
    status, events = follow(cfn, change_set.stack_id, EventFeed(cfn, change_set.stack_id, marker),
                            Progress(len(changes), change_set.stack_id), console, request.poll_seconds)
    failure = wait(cfn, _DONE_WAITERS[change_set.type], request.poll_seconds, StackName=change_set.stack_id)
    return status, events, failure


def execute(cfn: Any, change_set: ChangeSetRef, changes: list[ResourceChange], request: DeployRequest,
            console: Console) -> int:
    """Execute the change set, stream its events, and report the outcome."""
    started = time.monotonic()
    marker = latest_event_id(cfn, change_set.stack_id)
    lifted = change_set.type == "UPDATE" and bool(request.allow_replacement)
    try:
        if change_set.type == "UPDATE":
            # A change set cannot carry a temporary policy (UpdateStack's
            # StackPolicyDuringUpdateBody), so the allowed resources are lifted
            # from the policy for this update and protected again afterwards.
            cfn.set_stack_policy(StackName=change_set.stack_id,
                                 StackPolicyBody=json.dumps(guard.stack_policy(request.allow_replacement)))
        status, events, failure = run_change_set(cfn, change_set, changes, request, console, marker)
    finally:
        if lifted:
            # Whatever ended the update (success, failure, a refused execute, lost
            # events, Ctrl-C), the data resources must not stay replaceable.
            set_full_policy(cfn, change_set.stack_id)
    took = elapsed(time.monotonic() - started)
    if failure is None:
        console.say(console.style(f"Deployed {request.stack_name}: {status} in {took}.", "green", "bold"))
        return finish(cfn, change_set.stack_id, request, console)
    report_failure(status, events, change_set.stack_id, request.stack_name, console)
    return EXIT_FAILED


def report_failure(status: str, events: list[dict[str, Any]], stack_id: str, stack_name: str,
                   console: Console) -> None:
    """Say why the deploy failed (the first failure) and where the stack was left."""
    cause = root_cause(events, stack_id)
    console.warn(console.style(f"Deploy failed: {stack_name} is {status}.", "red", "bold"))
    if cause:
        console.warn(f"Root cause: {cause['LogicalResourceId']} ({cause.get('ResourceType', '')}) "
                     f"{cause['ResourceStatus']}: {cause.get('ResourceStatusReason', '')}")
    advice = recovery_advice(status, stack_name)
    if advice:
        console.warn(advice)
    elif status == "ROLLBACK_COMPLETE":
        console.warn("The first deploy was rolled back; the next deploy deletes the empty stack and creates it again.")
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        console.warn("The update was rolled back; the stack runs the previous version.")


def deploy(request: DeployRequest, cfn: Any, console: Console, upload: Callable[[TemplateSource], str]) -> int:
    """Run one deploy; the exit code (0 deployed or up to date, 1 failed, 3 refused)."""
    try:
        return _deploy(request, cfn, console, upload)
    except DeployError as error:
        console.warn(f"Deploy failed: {error}")
        return EXIT_FAILED


def _deploy(request: DeployRequest, cfn: Any, console: Console, upload: Callable[[TemplateSource], str]) -> int:
    stack = describe_stack(cfn, request.stack_name)
    kind = change_set_type(stack["StackStatus"] if stack else None, request.stack_name)
    if kind == "RECREATE" and stack:
        if request.dry_run:
            console.say(f"{request.stack_name} is ROLLBACK_COMPLETE (a failed first deploy, holding no resources): "
                        "a deploy deletes it and creates every resource of the template again.")
            return EXIT_OK
        recreate_failed_stack(cfn, stack, console, request.poll_seconds)
        kind = "CREATE"
    console.say(f"Creating a change set ({kind}) for {request.stack_name} from {request.template.path} "
                f"with the {request.environment.name} parameters...")
    change_set = create_change_set(cfn, request, kind, upload, console)
    if change_set is None:
        console.say(console.style(f"{request.stack_name} is up to date: the change set contained no changes.", "green"))
        if request.dry_run or not stack:
            return EXIT_OK
        return finish(cfn, stack["StackId"], request, console)
    changes = describe_changes(cfn, change_set.arn)
    console.say(table(changes, console))
    console.say(summary(changes))
    if not check_guard(changes, request, console):
        discard(cfn, change_set)
        return EXIT_REFUSED
    if request.dry_run:
        discard(cfn, change_set)
        console.say("Dry run: nothing executed; the change set was deleted.")
        return EXIT_OK
    if not confirmed(request, console):
        discard(cfn, change_set)
        return EXIT_REFUSED
    return execute(cfn, change_set, changes, request, console)
