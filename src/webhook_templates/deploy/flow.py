"""``webhook-templates deploy``: one change set, planned, confirmed, executed, followed and converged.

A ``Deployer`` holds what every step needs (the CloudFormation client, the
console, the poll and retry settings, and the collaborators that upload a big
template, check the account before a first deploy and watch CodeDeploy); its
steps are its public methods, in order:

- ``plan``: pick CREATE or UPDATE from the stack's state (deleting a failed
  first deploy first), create the change set and wait for it, read its changes;
- ``confirm``: show it, apply the data guard (exit 3), stop on ``--dry-run``
  (exit 0) or ``--no-execute-changeset``, else ``--yes`` or a "y" at a terminal;
- ``execute``: ``ExecuteChangeSet``, never lost track of (below);
- ``follow``: stream the stack's events (and CodeDeploy's traffic shift);
- ``converge``: the stack policy, termination protection for prod, the outputs file.

``deploy`` runs them and turns the outcome into the exit code.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .. import data_guard
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_UNPROTECTED
from ..handoff.procedure import Procedure
from ..stack.limits import TEMPLATE_BODY_LIMIT
from . import dashboard, messages, protect, rollout, stack_outputs, stacks
from .changeset import ResourceChange, is_no_changes, resource_changes, summary, table
from .console import Console
from .errors import (
    AccountNotReady,
    ChangeSetGone,
    ChangeSetRejected,
    DeployError,
    LostTrack,
    NotExecuted,
    RecreateFailed,
    StackNotDeployable,
)
from .events import EventFeed, Progress, elapsed, follow, latest_event_id, root_cause
from .inputs import TemplateSource, fits_inline, template_capabilities
from .session import aws_errors, aws_errors_or_interrupt, describe_error, transient
from .stacks import Backoff, describe_change_set, describe_stack, is_missing
from .states import (
    EXECUTED,
    GONE,
    SUCCEEDED,
    ChangeSetKind,
    ChangeSetStatus,
    Detachment,
    ExecutionState,
    ExecutionStatus,
    StackStatus,
    in_progress,
    is_protectable,
)

__all__ = ["ChangeSetRef", "DeployRequest", "Deployer", "Followed", "Plan", "PollSettings", "change_set_type",
           "check_guard"]

T = TypeVar("T")
#: CloudFormation's error codes for a change set that is not there.
_NO_CHANGE_SET = ("ChangeSetNotFound", "ChangeSetNotFoundException")


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

    @cached_property
    def procedure(self) -> Procedure:
        """The environment's change-set procedure, for this template (the bundle's block follows the same)."""
        return Procedure.of(self.environment, template_capabilities(self.template))

    @property
    def again(self) -> str:
        """The command that runs this deploy again (it converges whatever protection is missing)."""
        return messages.again(self.environment.name, self.stack_name, self.environment.stack_name)


@dataclass(frozen=True)
class PollSettings:
    """How often the deployer polls CloudFormation, and how it retries a call that is safe to repeat."""

    poll_seconds: float = 5.0
    #: Read when the settings are made, so a test's faster ``stacks.RETRY`` applies.
    retry: Backoff = field(default_factory=lambda: stacks.RETRY)


@dataclass(frozen=True)
class ChangeSetRef:
    """A created change set: its ARN, its stack's ID and whether it creates the stack."""

    arn: str
    stack_id: str
    kind: ChangeSetKind

    @property
    def name(self) -> str:
        """The change set's name, from its ARN (``arn:aws:cloudformation:<region>:<account>:changeSet/<name>/<id>``)."""
        return self.arn.split(":changeSet/", 1)[-1].split("/", 1)[0]


@dataclass(frozen=True)
class Plan:
    """What ``plan`` found and made: the kind of deploy, the change set (None: nothing to execute), its changes."""

    request: DeployRequest
    kind: ChangeSetKind
    #: The stack as it was before this deploy (None: there was none).
    stack: dict[str, Any] | None
    releases: rollout.StackRollout = field(default_factory=rollout.StackRollout)
    change_set: ChangeSetRef | None = None
    changes: list[ResourceChange] = field(default_factory=list)


@dataclass(frozen=True)
class Followed:
    """How an executed change set ended: the stack's final status and the events seen on the way."""

    status: str
    events: list[dict[str, Any]]


@dataclass
class _Run:
    """What one deploy has done so far that its cleanup and exit code depend on."""

    #: ExecuteChangeSet was sent: from then on the change set is never discarded blindly.
    executing: bool = False
    #: Some protection could not be put in place (reported already): exit 4.
    unprotected: bool = False
    #: ``--no-execute-changeset`` kept the change set for an approver.
    kept: bool = False


def change_set_type(status: str | None, stack_name: str) -> ChangeSetKind:
    """``CREATE``, ``UPDATE``, or ``RECREATE`` (delete a failed first deploy, then create).

    Raises ``StackNotDeployable`` for states no change set can start from.
    """
    if status is None or status == StackStatus.REVIEW_IN_PROGRESS:
        # REVIEW_IN_PROGRESS: a first deploy created a change set and never
        # executed it; the stack has no resources and takes another CREATE.
        return ChangeSetKind.CREATE
    if status == StackStatus.ROLLBACK_COMPLETE:
        return ChangeSetKind.RECREATE
    advice = messages.recovery_advice(status, stack_name)
    if advice:
        raise StackNotDeployable(advice)
    if in_progress(status):
        raise StackNotDeployable(messages.stack_busy(stack_name, status))
    return ChangeSetKind.UPDATE


def check_guard(changes: list[ResourceChange], request: DeployRequest, console: Console) -> bool:
    """Apply the data guard: True to go on, False (after saying why) to refuse.

    The lines come from ``data_guard.verdict``, which the bundle's ``guard-check.py`` prints too.
    """
    allowed = request.allow_replacement
    notes, refusal = data_guard.verdict(changes, allowed)
    stopped = data_guard.refused(changes, allowed)
    # The verdict's notes end with one line per danger let through: those are shown as warnings.
    let_through = len(data_guard.dangers(changes)) - len(stopped)
    for index, note in enumerate(notes):
        console.warn(console.style(note, "yellow") if index >= len(notes) - let_through else note)
    if not refusal:
        return True
    headline, *reasons = refusal
    console.warn(console.style(headline, "red", "bold"))
    for reason in reasons:
        console.warn(reason)
    console.warn(messages.guard_refused(data_guard.allow_flags(stopped)))
    return False


def change_set_name() -> str:
    """A unique, sortable change set name."""
    return f"webhook-templates-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _reason(response: dict[str, Any]) -> str:
    stacks_ = response.get("Stacks") or [{}]
    return (response.get("StatusReason") or stacks_[0].get("StackStatusReason")
            or response.get("Error", {}).get("Message") or stacks_[0].get("StackStatus") or "unknown reason")


def _why(error: BaseException) -> str:
    """One line for what stopped a clean-up step."""
    return messages.INTERRUPTED if isinstance(error, KeyboardInterrupt) else describe_error(error)


class Deployer:
    """Deploys one stack through a change set; the steps are its public methods (module docstring)."""

    def __init__(self, cfn: Any, console: Console, settings: PollSettings | None = None, *,
                 upload: Callable[[TemplateSource], str] | None = None,
                 first_deploy_problem: Callable[[], str | None] | None = None, codedeploy: Any = None,
                 cloudwatch: Any = None) -> None:
        """``upload`` puts a template too big for ``TemplateBody`` in S3 and returns its URL;
        ``first_deploy_problem`` says what the account lacks for a stack to be created
        (``prerequisites.missing_api_gateway_role``), asked only when there is no stack yet; with a
        ``codedeploy`` client, following an update also shows CodeDeploy's traffic shift; with a
        ``cloudwatch`` client, converging puts the environment's dashboard in place."""
        self.cfn = cfn
        self.console = console
        self.settings = settings or PollSettings()
        self.upload = upload
        self.first_deploy_problem = first_deploy_problem
        self.codedeploy = codedeploy
        self.cloudwatch = cloudwatch
        self._run = _Run()

    # -- the whole deploy ---------------------------------------------------------------------------------------

    def deploy(self, request: DeployRequest) -> int:
        """Run one deploy; the exit code (0 deployed or up to date, 1 failed, 3 refused, 4 unprotected, 130)."""
        self._run = _Run()
        try:
            code = self._deploy(request)
        except DeployError as error:
            self.console.warn(messages.deploy_failed(error))
            code = EXIT_FAILED
        except LostTrack as error:
            self.console.warn(messages.lost_track(request.stack_name, error))
            code = EXIT_FAILED
        except aws_errors() as error:  # said here, so that exit 4 still wins when protection is missing
            self.console.warn(describe_error(error))
            code = EXIT_FAILED
        return EXIT_UNPROTECTED if self._run.unprotected else code

    def _deploy(self, request: DeployRequest) -> int:
        plan = self.plan(request)
        if plan.change_set is None:
            return self._nothing_to_execute(plan)
        try:
            stop = self.confirm(plan)
            if stop is not None:
                return stop
            return self._release(plan)
        finally:
            if not self._run.executing and not self._run.kept:
                self._discard(plan.change_set)

    def _nothing_to_execute(self, plan: Plan) -> int:
        """A dry run of a stack to recreate, or a change set with no changes (the protection converged)."""
        request, stack = plan.request, plan.stack
        if plan.kind is ChangeSetKind.RECREATE:
            self._report(plan)
            self.console.say(messages.recreate_dry_run(request.stack_name))
            return EXIT_OK
        self.console.say(self.console.style(messages.up_to_date(request.stack_name), "green"))
        self._report(plan)
        if request.dry_run or not stack or not is_protectable(stack["StackStatus"]):
            return EXIT_OK
        self.converge(stack["StackId"], request, created=False)
        return EXIT_OK

    # -- plan ---------------------------------------------------------------------------------------------------

    def plan(self, request: DeployRequest) -> Plan:
        """The deploy's kind and its computed change set (``change_set`` None: nothing would change).

        Raises ``StackNotDeployable`` for a stack no change set can start from,
        ``AccountNotReady`` before a first deploy the account cannot take, and
        ``ChangeSetRejected`` when CloudFormation cannot compute the change set.
        A change set that cannot be read is deleted before the error goes on.
        """
        stack = describe_stack(self.cfn, request.stack_name)
        kind = change_set_type(stack["StackStatus"] if stack else None, request.stack_name)
        problem = self.first_deploy_problem() if self.first_deploy_problem and kind is not ChangeSetKind.UPDATE \
            else None
        if problem:
            raise AccountNotReady(messages.nothing_created(problem))
        if kind is ChangeSetKind.RECREATE and stack:
            if request.dry_run:
                return Plan(request, kind, stack)
            self._delete_failed_stack(stack)
            kind = ChangeSetKind.CREATE
        self.console.say(messages.creating_change_set(kind, request.stack_name, request.template.path,
                                                      request.environment.name))
        # Only a stack being updated has alarms (and a deployment group) already.
        releases = (self._retrying(lambda: rollout.read(self.cfn, stack["StackId"]))
                    if stack and Procedure.has_rollback_triggers(kind) else rollout.StackRollout())
        change_set = self._create_change_set(request, kind, releases)
        if change_set is None:
            return Plan(request, kind, stack, releases)
        try:
            changes = self._describe_changes(change_set.arn)
        except BaseException:
            self._discard(change_set)
            raise
        return Plan(request, kind, stack, releases, change_set, changes)

    def _delete_failed_stack(self, stack: dict[str, Any]) -> None:
        """Delete a ROLLBACK_COMPLETE stack (a failed first deploy) so it can be created again."""
        self.console.say(messages.recreating(stack["StackName"]))
        self._retrying(lambda: self.cfn.delete_stack(StackName=stack["StackId"]))  # deleting is safe to repeat
        final = stacks.wait_for_stack(self.cfn, stack["StackId"], self.settings.poll_seconds)
        if final != StackStatus.DELETE_COMPLETE:
            raise RecreateFailed(messages.recreate_failed(stack["StackName"], final))

    def _template_source(self, template: TemplateSource) -> dict[str, str]:
        """``TemplateBody`` up to CloudFormation's limit, else ``TemplateURL`` of the uploaded copy."""
        if fits_inline(template):
            return {"TemplateBody": template.body}
        if self.upload is None:
            raise DeployError(messages.no_upload(template.path, template.size, TEMPLATE_BODY_LIMIT))
        url = self.upload(template)
        self.console.say(messages.uploaded(template.path, template.size, TEMPLATE_BODY_LIMIT, url))
        return {"TemplateURL": url}

    def _create_change_set(self, request: DeployRequest, kind: ChangeSetKind,
                           releases: rollout.StackRollout) -> ChangeSetRef | None:
        """Create the change set and wait until it is ready; None when it would change nothing.

        ``releases``' rollback alarms become the change set's rollback triggers.
        """
        procedure = request.procedure
        created = self._request_change_set(procedure.create_change_set(
            stack=request.stack_name, name=change_set_name(), kind=str(kind),
            template=self._template_source(request.template), parameters=request.parameters,
            tags=list(request.tags), role_arn=request.role_arn, notification_arns=list(request.notification_arns),
            rollback=procedure.rollback_configuration(releases.alarm_arns),
        ))
        if created is None:
            return None
        change_set = ChangeSetRef(created["Id"], created["StackId"], kind)
        try:
            described = stacks.wait_for_change_set(self.cfn, change_set.arn, self.settings.poll_seconds)
        except BaseException:
            self._discard(change_set)  # interrupted or lost while it was computed: it will not run
            raise
        if described.get("Status") == ChangeSetStatus.CREATE_COMPLETE:
            return change_set
        self._discard(change_set)
        # CloudFormation says "no changes" only in the FAILED change set's reason (no code): its text, not ours.
        if is_no_changes(_reason(described)):
            return None
        raise ChangeSetRejected(messages.change_set_rejected(_reason(described)))

    def _request_change_set(self, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """``CreateChangeSet``, made safe to repeat: its fixed name tells whether a lost attempt landed.

        After a transient failure (throttled, a dropped answer, a proxy's error
        page) the change set is looked up by name: if the attempt reached
        CloudFormation it is used, otherwise the same request is sent again, with
        backoff, within the retry budget.  None: nothing would change.
        """
        started, attempt = time.monotonic(), 0
        while True:
            try:
                created: dict[str, Any] = self.cfn.create_change_set(**arguments)
                return created
            except aws_errors() as error:
                details = error.response["Error"] if isinstance(error, ClientError) else {}
                code = details.get("Code")
                # "No updates" comes as a ValidationError told apart only by AWS's message.
                if code == "ValidationError" and is_no_changes(details.get("Message")):
                    return None
                if code != "AlreadyExistsException" and not transient(error):
                    raise
                landed = describe_change_set(self.cfn, arguments["ChangeSetName"], stack_name=arguments["StackName"])
                if landed is not None:
                    return {"Id": landed["ChangeSetId"], "StackId": landed["StackId"]}
                delay = self.settings.retry.delay(attempt)
                if code == "AlreadyExistsException" or self._out_of_budget(started, delay):
                    raise
            time.sleep(delay)
            attempt += 1

    def _describe_changes(self, change_set_arn: str) -> list[ResourceChange]:
        """Every resource change of the change set (all pages)."""
        def page(token: str | None) -> dict[str, Any]:
            described = describe_change_set(self.cfn, change_set_arn, next_token=token)
            if described is None:
                raise ChangeSetGone(messages.change_set_gone(change_set_arn))
            return described

        pages = [page(None)]
        while pages[-1].get("NextToken"):
            pages.append(page(pages[-1]["NextToken"]))
        return resource_changes(pages)

    # -- confirm ------------------------------------------------------------------------------------------------

    def confirm(self, plan: Plan) -> int | None:
        """Show the change set and decide whether it runs: None to execute it, else the exit code to stop with.

        Stops for the data guard's refusal (3), a dry run (0), ``--no-execute-changeset`` (0, the change
        set kept), a "no" or no terminal to ask on without ``--yes`` (3), and Ctrl-C at the question (130).
        """
        request = plan.request
        self.console.say(table(plan.changes, self.console))
        self.console.say(summary(plan.changes))
        self.console.say(rollout.describe_triggers(plan.releases, request.environment.rollback_monitoring_minutes))
        refused = data_guard.refused(plan.changes, request.allow_replacement)
        if not check_guard(plan.changes, request, self.console):
            self._report(plan, refused)
            return EXIT_REFUSED
        if request.dry_run:
            self._report(plan)
            self.console.say(messages.DRY_RUN)
            return EXIT_OK
        if request.no_execute:
            self._run.kept = True
            self._report(plan, kept=plan.change_set)
            return self._keep_for_review(plan)
        try:
            return None if self._confirmed(request) else EXIT_REFUSED
        except KeyboardInterrupt:
            self.console.warn(messages.INTERRUPTED_AT_PROMPT)
            return EXIT_INTERRUPTED

    def _confirmed(self, request: DeployRequest) -> bool:
        """``--yes``, or a "y" typed at the terminal; never a guess when there is no terminal."""
        if request.assume_yes:
            return True
        answer = self.console.confirm(messages.execute_question(request.stack_name))
        if answer is None:
            self.console.warn(messages.NO_TERMINAL)
        elif not answer:
            self.console.warn(messages.DECLINED)
        return bool(answer)

    def _keep_for_review(self, plan: Plan) -> int:
        """``--no-execute-changeset``: leave the change set in place and say how to execute it."""
        assert plan.change_set is not None
        request = plan.request
        for line in messages.kept_for_review(plan.change_set.name, request.stack_name, request.environment.name,
                                             request.region):
            self.console.say(line)
        return EXIT_OK

    def _report(self, plan: Plan, refused: list[data_guard.Danger] | None = None,
                kept: ChangeSetRef | None = None) -> None:
        """Hand ``--output json`` its document: what the change set holds and what the guard says."""
        request = plan.request
        if request.report is None:
            return
        request.report({
            "stack": request.stack_name,
            "environment": request.environment.name,
            "changeSetType": str(plan.kind),
            "upToDate": not plan.changes,
            "changes": [{"action": c.action, "logicalId": c.logical_id, "resourceType": c.resource_type,
                         "replacement": c.replacement} for c in plan.changes],
            "refusedByGuard": [{"logicalId": d.logical_id, "reason": d.reason()} for d in refused or []],
            "changeSet": kept.arn if kept else None,
        })

    # -- execute ------------------------------------------------------------------------------------------------

    def execute(self, plan: Plan, marker: str | None) -> None:
        """Put the update's stack policy in place and execute the change set; returns once CloudFormation runs it.

        ``marker`` is the stack's newest event before executing.  Raises
        ``NotExecuted`` when the change set, described again, shows it did not
        run (and the ``finally`` of ``deploy`` then deletes it), ``LostTrack``
        when nothing tells.
        """
        change_set, request = plan.change_set, plan.request
        assert change_set is not None
        if change_set.kind is ChangeSetKind.UPDATE:
            # The full policy during any update; a change set cannot carry a
            # temporary one (UpdateStack's StackPolicyDuringUpdateBody), so the
            # allowed resources are lifted for this update and protected again after.
            policy = json.dumps(data_guard.stack_policy(request.allow_replacement))
            self._retrying(lambda: self.cfn.set_stack_policy(StackName=change_set.stack_id, StackPolicyBody=policy))
        self._run.executing = True
        try:
            self._start(change_set, marker, request.procedure)
        except NotExecuted as error:
            self._run.executing = False
            raise NotExecuted(messages.not_executed(str(error))) from None

    def _start(self, change_set: ChangeSetRef, marker: str | None, procedure: Procedure) -> None:
        """``ExecuteChangeSet``: any error means "maybe executed", so it is never retried blindly.

        The change set and stack are described again: running, it is followed;
        still available after a transient failure, it is sent again with backoff.
        """
        started, attempt = time.monotonic(), 0
        while True:
            try:
                self.cfn.execute_change_set(**procedure.execute_change_set(change_set.arn))
                return
            except aws_errors() as error:
                state = self.execution_state(change_set, marker)
                if state is ExecutionState.RUNNING:
                    self.console.warn(messages.executed_despite_error(describe_error(error)))
                    return
                if state is ExecutionState.UNKNOWN:
                    raise LostTrack(messages.execution_unknown(describe_error(error))) from error
                delay = self.settings.retry.delay(attempt)
                if state is ExecutionState.DEAD or not transient(error) or self._out_of_budget(started, delay):
                    reason = _reason(error.response) if isinstance(error, ClientError) else describe_error(error)
                    raise NotExecuted(reason) from error
            time.sleep(delay)
            attempt += 1

    def execution_state(self, change_set: ChangeSetRef, marker: str | None) -> ExecutionState:
        """After an error from ``ExecuteChangeSet``: whether the change set runs (``ExecutionState``).

        ``RUNNING`` when the change set says so or, as CloudFormation deletes a
        stack's change sets once one executes, the stack has moved since ``marker``.
        """
        try:
            described = describe_change_set(self.cfn, change_set.arn)
            if described is not None:
                execution = described.get("ExecutionStatus", "")
                if execution == ExecutionStatus.AVAILABLE:
                    return ExecutionState.AVAILABLE
                return ExecutionState.RUNNING if execution in EXECUTED else ExecutionState.DEAD
            stack = describe_stack(self.cfn, change_set.stack_id)
            if stack is None:
                return ExecutionState.UNKNOWN
            if stack["StackStatus"] == StackStatus.REVIEW_IN_PROGRESS:
                return ExecutionState.DEAD  # a first deploy that never started: its change set is gone
            moved = latest_event_id(self.cfn, change_set.stack_id) != marker
            return ExecutionState.RUNNING if moved else ExecutionState.UNKNOWN
        except aws_errors():
            return ExecutionState.UNKNOWN

    # -- follow -------------------------------------------------------------------------------------------------

    def follow(self, plan: Plan, marker: str | None, traffic: rollout.TrafficShift | None = None) -> Followed:
        """Stream the stack's events after ``marker`` (and ``traffic``, CodeDeploy's shift) until it stops moving.

        A read that fails beyond its retries is ``LostTrack``: the operation may
        still run, which is not the deploy failing.
        """
        change_set = plan.change_set
        assert change_set is not None
        try:
            status, events = follow(self.cfn, change_set.stack_id, EventFeed(self.cfn, change_set.stack_id, marker),
                                    Progress(len(plan.changes), change_set.stack_id), self.console,
                                    self.settings.poll_seconds, also=traffic.poll if traffic else list)
        except aws_errors() as error:
            raise LostTrack(describe_error(error)) from error
        return Followed(status, events)

    def _release(self, plan: Plan) -> int:
        """Execute, follow, put the full policy back after an allowed replacement, converge, report."""
        change_set, request = plan.change_set, plan.request
        assert change_set is not None
        began = time.monotonic()
        marker = latest_event_id(self.cfn, change_set.stack_id)
        traffic = (rollout.TrafficShift.start(self.codedeploy, plan.releases)
                   if self.codedeploy is not None and plan.releases.deployment_group else None)
        detached: tuple[Detachment, str] | None = None
        followed = Followed("", [])
        try:
            self.execute(plan, marker)
            self.console.say(messages.executing(request.stack_name))
            try:
                followed = self.follow(plan, marker, traffic)
            except KeyboardInterrupt:
                detached = (Detachment.INTERRUPTED, messages.STOPPED_FOLLOWING)
        except LostTrack as error:
            detached = (Detachment.LOST_TRACK, str(error))
        finally:
            if change_set.kind is ChangeSetKind.UPDATE and request.allow_replacement:
                # Whatever ended the update (success, failure, a refused execute, lost
                # events, Ctrl-C), the data resources must not stay replaceable.
                self._restore_policy(change_set, request, followed.status)
        if detached is not None:
            return self._detached(request, *detached)
        return self._conclude(plan, followed, elapsed(time.monotonic() - began))

    def _restore_policy(self, change_set: ChangeSetRef, request: DeployRequest, status: str) -> None:
        shortfall = protect.set_full_policy(self.cfn, change_set.stack_id, request.stack_name)
        if shortfall and not is_protectable(status):
            # No convergence will try again: say it now (before any exception goes on).
            self._run.unprotected = True
            protect.report([shortfall], request.stack_name, self.console)

    def _detached(self, request: DeployRequest, detachment: Detachment, why: str) -> int:
        """The command no longer follows an operation that may still run: say so, and how to check and finish."""
        headline = (messages.INTERRUPTED_HEADLINE if detachment is Detachment.INTERRUPTED
                    else messages.LOST_TRACK_HEADLINE)
        self.console.warn(self.console.style(messages.detached(headline, why, request.stack_name), "red", "bold"))
        self.console.warn(messages.detached_advice(request.stack_name, self.cfn.meta.region_name, request.again))
        return EXIT_INTERRUPTED if detachment is Detachment.INTERRUPTED else EXIT_FAILED

    def _conclude(self, plan: Plan, followed: Followed, took: str) -> int:
        """Say how the executed change set ended, converge a ``*_COMPLETE`` stack, and give the exit code."""
        change_set, request = plan.change_set, plan.request
        assert change_set is not None
        succeeded = followed.status in SUCCEEDED
        if succeeded:
            self.console.say(self.console.style(messages.deployed(request.stack_name, followed.status, took),
                                                "green", "bold"))
        else:
            self._report_failure(followed, change_set.stack_id, request.stack_name)
        if is_protectable(followed.status):
            self.converge(change_set.stack_id, request, created=change_set.kind is ChangeSetKind.CREATE)
        return EXIT_OK if succeeded else EXIT_FAILED

    def _report_failure(self, followed: Followed, stack_id: str, stack_name: str) -> None:
        """Say why the deploy failed (the first failure) and where the stack was left."""
        cause = root_cause(followed.events, stack_id)
        self.console.warn(self.console.style(messages.failed_status(stack_name, followed.status), "red", "bold"))
        if cause:
            self.console.warn(messages.root_cause(cause["LogicalResourceId"], cause.get("ResourceType", ""),
                                                  cause["ResourceStatus"], cause.get("ResourceStatusReason", "")))
        # Advice in this order: how to recover a stack stuck failed, a name taken, else where the rollback left it.
        advice = (messages.recovery_advice(followed.status, stack_name) or _already_exists_advice(cause)
                  or messages.ROLLED_BACK.get(followed.status))
        if advice:
            self.console.warn(advice)

    # -- converge -----------------------------------------------------------------------------------------------

    def converge(self, stack_id: str, request: DeployRequest, *, created: bool) -> list[protect.Shortfall]:
        """Put every missing protection, and the dashboard, in place on a ``*_COMPLETE`` stack; what could
        not be (said loudly, exit 4).

        ``created``: the stack was just created, so nothing missing is worth remarking.
        """
        shortfalls = protect.converge(self.cfn, stack_id, request.environment, request.outputs_file, self.console,
                                      created=created)
        if self.cloudwatch is not None:
            missing = dashboard.converge(self.cloudwatch, request.stack_name, request.environment, self.console)
            shortfalls += [missing] if missing else []
        if shortfalls:
            self._run.unprotected = True
            protect.report(shortfalls, request.stack_name, self.console)
        return shortfalls

    # -- clean-up and retries -----------------------------------------------------------------------------------

    def _discard(self, change_set: ChangeSetRef) -> None:
        """Delete a change set that will not run (for a first deploy, its empty stack too, if nobody else uses it).

        Never raises: it runs in ``finally`` blocks, where it must not hide why the
        deploy stopped; what it could not delete is named, with the command.
        """
        try:
            self._retrying(lambda: self._delete_change_set(change_set.arn))
            if change_set.kind is ChangeSetKind.CREATE:
                self._delete_review_stack(change_set.stack_id)
        except aws_errors_or_interrupt() as error:
            self.console.warn(messages.change_set_not_deleted(_why(error), change_set.arn))

    def _delete_change_set(self, arn: str) -> None:
        try:
            self.cfn.delete_change_set(ChangeSetName=arn)
        except ClientError as error:
            if not is_missing(error, *_NO_CHANGE_SET):
                raise

    def _delete_review_stack(self, stack_id: str) -> None:
        """Delete a first deploy's stack, but only while it is an empty shell nobody else uses.

        Checked right before deleting: the stack must still be ``REVIEW_IN_PROGRESS``
        (so no change set has ever executed on it) with no other change set waiting
        on it.  On CloudFormation a second CREATE change set (a racing deploy, a dry
        run next to a real one) attaches to the same stack; deleting it then would
        delete that deploy's stack.
        """
        stack = describe_stack(self.cfn, stack_id)
        if stack is None or stack["StackStatus"] == StackStatus.DELETE_COMPLETE:
            return
        name = stack["StackName"]
        if stack["StackStatus"] != StackStatus.REVIEW_IN_PROGRESS:
            self.console.say(messages.kept_busy_stack(name, stack["StackStatus"]))
            return
        listed = self._retrying(lambda: self.cfn.list_change_sets(StackName=stack_id)).get("Summaries", [])
        waiting = [summary for summary in listed if summary.get("Status") not in GONE]
        if waiting:
            self.console.say(messages.kept_waited_on_stack(name, waiting[0].get("ChangeSetName")))
            return
        self._retrying(lambda: self.cfn.delete_stack(StackName=stack_id))

    def _retrying(self, call: Callable[[], T]) -> T:
        """``call()`` retried through transient failures with this deployer's backoff (only calls safe to repeat)."""
        return stacks.retrying(call, policy=self.settings.retry)

    def _out_of_budget(self, started: float, delay: float) -> bool:
        """Whether waiting ``delay`` more would outlast the retry budget of failures in a row since ``started``."""
        return time.monotonic() - started + delay > self.settings.retry.budget_seconds


def _already_exists_advice(cause: dict[str, Any] | None) -> str | None:
    """What to do when a resource could not be created because one of the same name exists.

    CloudFormation says so only in the event's reason (no error code): its text, not ours.
    """
    if not cause or "already exists" not in cause.get("ResourceStatusReason", "").lower():
        return None
    return messages.already_exists(cause["LogicalResourceId"], cause.get("ResourceType", ""))

