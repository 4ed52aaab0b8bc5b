"""``webhook-templates deploy``: one change set, checked, shown, confirmed, executed and followed.

The flow, in order: pick CREATE or UPDATE from the stack's state; create the
change set and wait for it; if it changes nothing, converge the protection
and stop (exit 0); show it; stop with exit 3 if the data guard refuses it, on
``--dry-run`` (exit 0), or without confirmation (exit 3); execute it while
streaming events; then converge the protection (stack policy, termination
protection for prod, outputs file: ``protect.converge``).

Never lose track, never guess.  A change set that is not executed is deleted
in a ``finally`` (refused, interrupted at the prompt, CloudFormation refusing
to execute it); the stack of a first deploy goes with it only if, checked right
before deleting, it is still an empty ``REVIEW_IN_PROGRESS`` shell that no
other change set is waiting on.  An error from ``ExecuteChangeSet`` means
"maybe executed": the change set and the stack are described again, and
whatever runs is followed.  When the command cannot see the stack any more it
says it lost track, which is not the same as the deploy failing, and how to
check.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from .. import __version__, data_guard
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_UNPROTECTED
from ..stack.limits import TEMPLATE_BODY_LIMIT
from . import protect, rollout, stack_outputs, stacks
from .changeset import ResourceChange, is_no_changes, resource_changes, summary, table
from .console import Console
from .events import EventFeed, Progress, elapsed, follow, in_progress, latest_event_id, recovery_advice, root_cause
from .inputs import TemplateSource, fits_inline, template_capabilities
from .session import aws_errors, aws_errors_or_interrupt, describe_error, transient
from .stacks import LostTrack, describe_change_set, describe_stack, is_missing, retrying

#: What a change set's ``ExecutionStatus`` is once ``ExecuteChangeSet`` has taken effect.
_EXECUTED = ("EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED")
#: Statuses of change sets that still stand (a racing deploy's, say): they keep a first deploy's stack.
_GONE = ("FAILED", "DELETE_PENDING", "DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_FAILED")
#: Where a deploy that executed ends well.
_SUCCEEDED = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


class DeployError(Exception):
    """The deploy cannot go on; the message says why (exit 1)."""


class NotExecuted(Exception):
    """CloudFormation refused the execution, and the change set, described again, confirms it never ran."""


@dataclass
class Run:
    """What one deploy has done so far that its cleanup and exit code depend on."""

    #: ExecuteChangeSet was sent: from then on the change set is never discarded blindly.
    executing: bool = False
    #: Some protection could not be put in place (reported already): exit 4.
    unprotected: bool = False


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
    #: Stack tags (``[{"Key", "Value"}]``), always sent: CloudFormation then keeps exactly these.
    tags: tuple[dict[str, str], ...] = ()
    #: The service role CloudFormation assumes (``--role-arn``); None: the caller's credentials.
    role_arn: str | None = None
    notification_arns: tuple[str, ...] = ()
    #: ``--no-execute-changeset``: create, show and keep the change set for an approver.
    no_execute: bool = False
    #: The region, for the execute command ``--no-execute-changeset`` prints.
    region: str | None = None
    #: ``--output json``: receives the machine-readable summary (the change set, the guard's verdict).
    report: Callable[[dict[str, Any]], None] | None = None

    @property
    def again(self) -> str:
        """The command that runs this deploy again (it converges whatever protection is missing)."""
        flags = "" if self.stack_name == self.environment.stack_name else f" --stack-name {self.stack_name}"
        return f"webhook-templates deploy --env {self.environment.name}{flags}"


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
    return f"webhook-templates-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _delete_change_set(cfn: Any, arn: str) -> None:
    try:
        cfn.delete_change_set(ChangeSetName=arn)
    except ClientError as error:
        if not is_missing(error, "ChangeSetNotFound", "ChangeSetNotFoundException"):
            raise


def delete_review_stack(cfn: Any, stack_id: str, console: Console) -> None:
    """Delete a first deploy's stack, but only while it is an empty shell nobody else uses.

    Checked right before deleting: the stack must still be ``REVIEW_IN_PROGRESS``
    (so no change set has ever executed on it) with no other change set waiting
    on it.  On CloudFormation a second CREATE change set (a racing deploy, a dry
    run next to a real one) attaches to the same stack; deleting it then would
    delete that deploy's stack.
    """
    stack = describe_stack(cfn, stack_id)
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        return
    name = stack["StackName"]
    if stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        console.say(f"Kept {name}: it is {stack['StackStatus']}, so another deploy is using it.")
        return
    waiting = [summary for summary in retrying(lambda: cfn.list_change_sets(StackName=stack_id)).get("Summaries", [])
               if summary.get("Status") not in _GONE]
    if waiting:
        console.say(f"Kept the empty stack {name}: another change set ({waiting[0].get('ChangeSetName')}) "
                    "is waiting on it.")
        return
    retrying(lambda: cfn.delete_stack(StackName=stack_id))


def discard(cfn: Any, change_set: ChangeSetRef, console: Console) -> None:
    """Delete a change set that will not run (for a first deploy, its empty stack too, if nobody else uses it).

    Never raises: it runs in ``finally`` blocks, where it must not hide why the
    deploy stopped; what it could not delete is named, with the command.
    """
    try:
        retrying(lambda: _delete_change_set(cfn, change_set.arn))
        if change_set.type == "CREATE":
            delete_review_stack(cfn, change_set.stack_id, console)
    except aws_errors_or_interrupt() as error:
        why = "interrupted" if isinstance(error, KeyboardInterrupt) else describe_error(error)
        console.warn(f"Could not delete the change set ({why}). It was not executed; delete it with:\n"
                     f"  aws cloudformation delete-change-set --change-set-name {change_set.arn}")


def recreate_failed_stack(cfn: Any, stack: dict[str, Any], console: Console, poll_seconds: float) -> None:
    """Delete a ROLLBACK_COMPLETE stack (a failed first deploy) so it can be created again."""
    console.say(f"{stack['StackName']} is ROLLBACK_COMPLETE: its first deploy failed and it holds no "
                "resources. Deleting it so it can be created again.")
    retrying(lambda: cfn.delete_stack(StackName=stack["StackId"]))  # deleting is safe to repeat
    final = stacks.wait_for_stack(cfn, stack["StackId"], poll_seconds)
    if final != "DELETE_COMPLETE":
        raise DeployError(f"could not delete the failed stack {stack['StackName']}: it is {final}")


def _reason(response: dict[str, Any]) -> str:
    stacks_ = response.get("Stacks") or [{}]
    return (response.get("StatusReason") or stacks_[0].get("StackStatusReason")
            or response.get("Error", {}).get("Message") or stacks_[0].get("StackStatus") or "unknown reason")


def _request_change_set(cfn: Any, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """``CreateChangeSet``, made safe to repeat: its fixed name tells whether a lost attempt landed.

    After a transient failure (throttled, a dropped answer, a proxy's error
    page) the change set is looked up by name: if the attempt reached
    CloudFormation it is used, otherwise the same request is sent again, with
    backoff, within ``stacks.RETRY``'s budget.  None: nothing would change.
    """
    started, attempt = time.monotonic(), 0
    while True:
        try:
            created: dict[str, Any] = cfn.create_change_set(**arguments)
            return created
        except aws_errors() as error:
            details = error.response["Error"] if isinstance(error, ClientError) else {}
            code = details.get("Code")
            if code == "ValidationError" and is_no_changes(details.get("Message")):
                return None
            if code != "AlreadyExistsException" and not transient(error):
                raise
            landed = describe_change_set(cfn, arguments["ChangeSetName"], stack_name=arguments["StackName"])
            if landed is not None:
                return {"Id": landed["ChangeSetId"], "StackId": landed["StackId"]}
            delay = stacks.RETRY.delay(attempt)
            if code == "AlreadyExistsException" or time.monotonic() - started + delay > stacks.RETRY.budget_seconds:
                raise
        time.sleep(delay)
        attempt += 1


def _optional(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given (not None, not empty)."""
    return {key: value for key, value in values.items() if value}


def create_change_set(cfn: Any, request: DeployRequest, kind: str, upload: Callable[[TemplateSource], str],
                      console: Console, releases: rollout.StackRollout | None = None) -> ChangeSetRef | None:
    """Create the change set and wait until it is ready; None when it would change nothing.

    ``releases``' rollback alarms (none given: none) become the change set's rollback triggers.
    """
    releases = releases or rollout.StackRollout()
    template = request.template
    if fits_inline(template):
        source = {"TemplateBody": template.body}
    else:
        source = {"TemplateURL": upload(template)}
        console.say(f"{template.path} is {template.size:,} bytes, over the {TEMPLATE_BODY_LIMIT:,}-byte "
                    f"TemplateBody limit: uploaded to {source['TemplateURL']}")
    created = _request_change_set(cfn, dict(
        StackName=request.stack_name, ChangeSetName=change_set_name(), ChangeSetType=kind,
        Parameters=request.parameters, Capabilities=template_capabilities(template),
        Description=f"webhook-templates {__version__}: {request.environment.name}",
        # Tags always: an empty list removes tags the file no longer has.  Notification
        # topics only when given: omitted keeps the stack's, as `aws cloudformation deploy` does.
        Tags=list(request.tags), **_optional(NotificationARNs=list(request.notification_arns),
                                             RoleARN=request.role_arn), **source,
        **rollout.rollback_configuration(releases, request.environment.rollback_monitoring_minutes),
    ))
    if created is None:
        return None
    change_set = ChangeSetRef(created["Id"], created["StackId"], kind)
    try:
        described = stacks.wait_for_change_set(cfn, change_set.arn, request.poll_seconds)
    except BaseException:
        discard(cfn, change_set, console)  # interrupted or lost while it was computed: it will not run
        raise
    if described.get("Status") == "CREATE_COMPLETE":
        return change_set
    discard(cfn, change_set, console)
    if is_no_changes(_reason(described)):
        return None
    raise DeployError(f"CloudFormation rejected the change set: {_reason(described)}")


def describe_changes(cfn: Any, change_set_arn: str) -> list[ResourceChange]:
    """Every resource change of the change set (all pages)."""
    def page(token: str | None) -> dict[str, Any]:
        described = describe_change_set(cfn, change_set_arn, next_token=token)
        if described is None:
            raise DeployError(f"the change set {change_set_arn} was deleted by someone else before it was shown")
        return described

    pages = [page(None)]
    while pages[-1].get("NextToken"):
        pages.append(page(pages[-1]["NextToken"]))
    return resource_changes(pages)


def check_guard(changes: list[ResourceChange], request: DeployRequest, console: Console) -> bool:
    """Apply the data guard: True to go on, False (after saying why) to refuse.

    The lines come from ``data_guard.verdict``, which the bundle's ``guard-check.py`` prints too.
    """
    notes, refusal = data_guard.verdict(changes, request.allow_replacement)
    for note in notes:
        console.warn(console.style(note, "yellow") if note.startswith("allowed") else note)
    if not refusal:
        return True
    headline, *reasons = refusal
    console.warn(console.style(headline, "red", "bold"))
    for reason in reasons:
        console.warn(reason)
    flags = data_guard.allow_flags(data_guard.refused(changes, request.allow_replacement))
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


def execution_state(cfn: Any, change_set: ChangeSetRef, marker: str | None) -> str:
    """After an error from ``ExecuteChangeSet``: ``running``, ``available``, ``dead`` or ``unknown``.

    ``available``: not executed, and may still be (retry); ``dead``: not
    executed and never will be (OBSOLETE, deleted before it ran); ``running``:
    CloudFormation took it (the change set says so or, as CloudFormation deletes
    a stack's change sets once one executes, the stack has moved since
    ``marker``); ``unknown``: nothing tells, so nothing is assumed.
    """
    try:
        described = describe_change_set(cfn, change_set.arn)
        if described is not None:
            execution = described.get("ExecutionStatus", "")
            if execution == "AVAILABLE":
                return "available"
            return "running" if execution in _EXECUTED else "dead"
        stack = describe_stack(cfn, change_set.stack_id)
        if stack is None:
            return "unknown"
        if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            return "dead"  # a first deploy that never started: its change set is gone
        return "running" if latest_event_id(cfn, change_set.stack_id) != marker else "unknown"
    except aws_errors():
        return "unknown"


def start(cfn: Any, change_set: ChangeSetRef, marker: str | None, console: Console) -> None:
    """Execute the change set; returns once CloudFormation runs it.

    Any error means "maybe executed" (the request may have reached CloudFormation
    and only the answer been lost), so it is never retried blindly: the change
    set and stack are described again.  Raises ``NotExecuted`` when they show it
    did not run (after retrying a transient failure on a change set still
    available), ``LostTrack`` when nothing tells.
    """
    started, attempt = time.monotonic(), 0
    while True:
        try:
            # If the operation fails, delete what it newly created (Retain resources
            # included) instead of leaving an orphaned table that blocks the retry.
            cfn.execute_change_set(ChangeSetName=change_set.arn, RetainExceptOnCreate=True)
            return
        except aws_errors() as error:
            state = execution_state(cfn, change_set, marker)
            if state == "running":
                console.warn(f"ExecuteChangeSet answered with an error ({describe_error(error)}), but "
                             "CloudFormation is executing the change set: following it.")
                return
            if state == "unknown":
                raise LostTrack(f"ExecuteChangeSet failed ({describe_error(error)}) and CloudFormation does not "
                                "say whether the change set runs") from error
            delay = stacks.RETRY.delay(attempt)
            if state == "dead" or not transient(error) or (
                    time.monotonic() - started + delay > stacks.RETRY.budget_seconds):
                reason = _reason(error.response) if isinstance(error, ClientError) else describe_error(error)
                raise NotExecuted(reason) from error
        time.sleep(delay)
        attempt += 1


def execute(cfn: Any, change_set: ChangeSetRef, changes: list[ResourceChange], request: DeployRequest,
            console: Console, run: Run, traffic: rollout.TrafficShift | None = None) -> int:
    """Execute the change set, stream its events (and ``traffic``, CodeDeploy's shift), converge the
    protection and report the outcome."""
    began = time.monotonic()
    marker = latest_event_id(cfn, change_set.stack_id)
    lifted = change_set.type == "UPDATE" and bool(request.allow_replacement)
    interrupted, lost = False, None  # type: bool, Exception | None
    status, events = "", []  # type: str, list[dict[str, Any]]
    policy_failure: protect.Shortfall | None = None
    try:
        if change_set.type == "UPDATE":
            # The full policy during any update; a change set cannot carry a
            # temporary one (UpdateStack's StackPolicyDuringUpdateBody), so the
            # allowed resources are lifted for this update and protected again after.
            policy = data_guard.stack_policy(request.allow_replacement)
            retrying(lambda: cfn.set_stack_policy(StackName=change_set.stack_id, StackPolicyBody=json.dumps(policy)))
        run.executing = True
        try:
            start(cfn, change_set, marker, console)
        except NotExecuted as error:
            run.executing = False  # the finally of deploy deletes the change set
            raise DeployError(f"CloudFormation did not execute the change set: {error}") from None
        console.say(f"Executing on {request.stack_name}:")
        try:
            status, events = follow(cfn, change_set.stack_id, EventFeed(cfn, change_set.stack_id, marker),
                                    Progress(len(changes), change_set.stack_id), console, request.poll_seconds,
                                    also=traffic.poll if traffic else list)
        except KeyboardInterrupt:
            interrupted = True
        except LostTrack as error:
            lost = error
        except aws_errors() as error:
            lost = error
    except LostTrack as error:
        lost = error
    finally:
        if lifted:
            # Whatever ended the update (success, failure, a refused execute, lost
            # events, Ctrl-C), the data resources must not stay replaceable.
            policy_failure = protect.set_full_policy(cfn, change_set.stack_id, request.stack_name)
            if policy_failure and not protect.protectable(status):
                # No convergence will try again below: say it now (before any exception goes on).
                run.unprotected = True
                protect.report([policy_failure], request.stack_name, console)
    if interrupted:
        report_detached("Interrupted", "you stopped following it", request, cfn, console)
        return EXIT_INTERRUPTED
    if lost is not None:
        why = describe_error(lost) if isinstance(lost, aws_errors()) else str(lost)
        report_detached("Lost track of the deploy", why, request, cfn, console)
        return EXIT_FAILED
    took = elapsed(time.monotonic() - began)
    if status in _SUCCEEDED:
        console.say(console.style(f"Deployed {request.stack_name}: {status} in {took}.", "green", "bold"))
    else:
        report_failure(status, events, change_set.stack_id, request.stack_name, console)
    if protect.protectable(status):
        shortfalls = protect.converge(cfn, change_set.stack_id, request.environment, request.outputs_file,
                                      console, created=change_set.type == "CREATE")
        if shortfalls:
            run.unprotected = True
            protect.report(shortfalls, request.stack_name, console)
    return EXIT_OK if status in _SUCCEEDED else EXIT_FAILED


def report_detached(what: str, why: str, request: DeployRequest, cfn: Any, console: Console) -> None:
    """The command no longer follows an operation that may still run: say so, and how to check and finish."""
    where = f" --region {cfn.meta.region_name}" if cfn.meta.region_name else ""
    console.warn(console.style(f"{what} on {request.stack_name}: {why}.", "red", "bold"))
    console.warn(
        "This is not a deploy failure: CloudFormation may be running the change set, or have finished it. "
        "Check where it is with:\n"
        f"  aws cloudformation describe-stacks --stack-name {request.stack_name}{where} "
        "--query 'Stacks[0].StackStatus'\n"
        f"  aws cloudformation describe-stack-events --stack-name {request.stack_name}{where} --max-items 20\n"
        f"Once it is *_COMPLETE, run `{request.again}`: it puts back whatever protection this run did not get "
        "to (stack policy, termination protection for prod, the outputs file)."
    )


def already_exists_advice(cause: dict[str, Any]) -> str | None:
    """What to do when a resource could not be created because one of the same name exists."""
    reason = cause.get("ResourceStatusReason", "")
    if "already exists" not in reason.lower():
        return None
    return (f"{cause['LogicalResourceId']} ({cause.get('ResourceType', '')}) could not be created because a "
            "resource with its name already exists in the account (the reason above names it). For the table, "
            "the key, the secret and the log groups that is usually one retained by an earlier stack of this "
            "environment that was deleted. The next deploy fails the same way until you either delete that "
            "resource (back its data up first) or import it into the stack "
            "(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html).")


def report_failure(status: str, events: list[dict[str, Any]], stack_id: str, stack_name: str,
                   console: Console) -> None:
    """Say why the deploy failed (the first failure) and where the stack was left."""
    cause = root_cause(events, stack_id)
    console.warn(console.style(f"Deploy failed: {stack_name} is {status}.", "red", "bold"))
    if cause:
        console.warn(f"Root cause: {cause['LogicalResourceId']} ({cause.get('ResourceType', '')}) "
                     f"{cause['ResourceStatus']}: {cause.get('ResourceStatusReason', '')}")
    advice = recovery_advice(status, stack_name)
    exists = already_exists_advice(cause) if cause else None
    if advice:
        console.warn(advice)
    elif exists:
        console.warn(exists)
    elif status == "ROLLBACK_COMPLETE":
        console.warn("The first deploy was rolled back; the next deploy deletes the empty stack and creates it again.")
    elif status == "UPDATE_ROLLBACK_COMPLETE":
        console.warn("The update was rolled back; the stack runs the previous version.")


def report(request: DeployRequest, kind: str | None, changes: list[ResourceChange],
           refused: list[data_guard.Danger], kept: ChangeSetRef | None = None) -> None:
    """Hand ``--output json`` its document: what the change set holds and what the guard says."""
    if request.report is None:
        return
    request.report({
        "stack": request.stack_name,
        "environment": request.environment.name,
        "changeSetType": kind,
        "upToDate": kind is not None and not changes,
        "changes": [{"action": c.action, "logicalId": c.logical_id, "resourceType": c.resource_type,
                     "replacement": c.replacement} for c in changes],
        "refusedByGuard": [{"logicalId": d.logical_id, "reason": d.reason()} for d in refused],
        "changeSet": kept.arn if kept else None,
    })


def keep_for_review(change_set: ChangeSetRef, request: DeployRequest, console: Console) -> int:
    """``--no-execute-changeset``: leave the change set in place and say how to execute it."""
    # arn:aws:cloudformation:<region>:<account>:changeSet/<name>/<id>
    name = change_set.arn.split(":changeSet/", 1)[-1].split("/", 1)[0]
    region = f" --region {request.region}" if request.region else ""
    console.say(f"Kept change set {name} on {request.stack_name} for review; nothing was executed.")
    console.say("To execute it:")
    console.say(f"  aws cloudformation execute-change-set --stack-name {request.stack_name} "
                f"--change-set-name {name}{region}")
    console.say(f"Then run `webhook-templates deploy --env {request.environment.name} --yes` once: it finds "
                "nothing to change and sets the stack policy, termination protection and outputs file.")
    console.say(f"To discard it: aws cloudformation delete-change-set --stack-name {request.stack_name} "
                f"--change-set-name {name}{region}")
    return EXIT_OK


def deploy(request: DeployRequest, cfn: Any, console: Console, upload: Callable[[TemplateSource], str],
           first_deploy_problem: Callable[[], str | None] | None = None, codedeploy: Any = None) -> int:
    """Run one deploy; the exit code (0 deployed or up to date, 1 failed, 3 refused, 4 unprotected, 130).

    ``first_deploy_problem`` says what the account lacks for a stack to be created
    (``prerequisites.missing_api_gateway_role``); it runs only when there is no stack yet. With a
    ``codedeploy`` client, the execution also shows CodeDeploy's traffic shift.
    """
    run = Run()
    try:
        code = _deploy(request, cfn, console, upload, run, first_deploy_problem, codedeploy)
    except DeployError as error:
        console.warn(f"Deploy failed: {error}")
        code = EXIT_FAILED
    except LostTrack as error:
        console.warn(f"Lost track of the deploy of {request.stack_name}: {error}. Check it with "
                     f"`aws cloudformation describe-stacks --stack-name {request.stack_name}`.")
        code = EXIT_FAILED
    except aws_errors() as error:  # said here, so that exit 4 still wins when protection is missing
        console.warn(describe_error(error))
        code = EXIT_FAILED
    return EXIT_UNPROTECTED if run.unprotected else code


def _deploy(request: DeployRequest, cfn: Any, console: Console, upload: Callable[[TemplateSource], str],
            run: Run, first_deploy_problem: Callable[[], str | None] | None = None,
            codedeploy: Any = None) -> int:
    stack = describe_stack(cfn, request.stack_name)
    kind = change_set_type(stack["StackStatus"] if stack else None, request.stack_name)
    problem = first_deploy_problem() if first_deploy_problem and kind != "UPDATE" else None
    if problem:
        raise DeployError(f"{problem}. Nothing was created.")
    if kind == "RECREATE" and stack:
        if request.dry_run:
            report(request, "RECREATE", [], [])
            console.say(f"{request.stack_name} is ROLLBACK_COMPLETE (a failed first deploy, holding no resources): "
                        "a deploy deletes it and creates every resource of the template again.")
            return EXIT_OK
        recreate_failed_stack(cfn, stack, console, request.poll_seconds)
        kind = "CREATE"
    console.say(f"Creating a change set ({kind}) for {request.stack_name} from {request.template.path} "
                f"with the {request.environment.name} parameters...")
    # Only a stack being updated has alarms (and a deployment group) already.
    releases = (retrying(lambda: rollout.read(cfn, stack["StackId"])) if stack and kind == "UPDATE"
                else rollout.StackRollout())
    change_set = create_change_set(cfn, request, kind, upload, console, releases)
    if change_set is None:
        console.say(console.style(f"{request.stack_name} is up to date: the change set contained no changes.", "green"))
        report(request, kind, [], [])
        if request.dry_run or not stack or not protect.protectable(stack["StackStatus"]):
            return EXIT_OK
        shortfalls = protect.converge(cfn, stack["StackId"], request.environment, request.outputs_file, console,
                                      created=False)
        if shortfalls:
            run.unprotected = True
            protect.report(shortfalls, request.stack_name, console)
        return EXIT_OK
    kept = False
    try:
        changes = describe_changes(cfn, change_set.arn)
        console.say(table(changes, console))
        console.say(summary(changes))
        console.say(rollout.describe_triggers(releases, request.environment.rollback_monitoring_minutes))
        if not check_guard(changes, request, console):
            report(request, kind, changes, data_guard.refused(changes, request.allow_replacement))
            return EXIT_REFUSED
        if request.dry_run:
            report(request, kind, changes, [])
            console.say("Dry run: nothing executed; the change set is deleted.")
            return EXIT_OK
        if request.no_execute:
            kept = True
            report(request, kind, changes, [], kept=change_set)
            return keep_for_review(change_set, request, console)
        try:
            if not confirmed(request, console):
                return EXIT_REFUSED
        except KeyboardInterrupt:
            console.warn("\nInterrupted: nothing executed; the change set is deleted.")
            return EXIT_INTERRUPTED
        traffic = (rollout.TrafficShift.start(codedeploy, releases)
                   if codedeploy is not None and releases.deployment_group else None)
        return execute(cfn, change_set, changes, request, console, run, traffic)
    finally:
        if not run.executing and not kept:
            discard(cfn, change_set, console)
