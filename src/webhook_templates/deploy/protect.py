"""Protection is converged, not a one-shot step: stack policy, termination protection, outputs file.

Whenever a deploy leaves the stack in a ``*_COMPLETE`` state (a new or updated
stack, an update rolled back, or "no changes"), ``converge`` reads what is in
place and applies whatever is missing: the full stack policy, termination
protection for production, and the outputs file.  Each write sets a state, so
it is retried through throttling and transient errors.  A later plain
``deploy`` therefore repairs what an interrupted or failed one left, and says
so.  What cannot be put in place is reported loudly with the exact command
that does it by hand, and the deploy exits ``EXIT_UNPROTECTED`` (4).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import data_guard
from ..config import EnvironmentConfig
from ..handoff.procedure import termination_protection
from . import messages, stack_outputs
from .console import Console
from .session import aws_errors_or_interrupt, describe_error
from .stacks import describe_stack, retrying
from .states import Protection


@dataclass(frozen=True)
class Shortfall:
    """A protection that could not be put in place: which, why, and the command that does it."""

    protection: Protection
    #: The protection as the report names it.
    what: str
    why: str
    command: str


def why_failed(error: BaseException) -> str:
    """Why a call failed, in words (Ctrl-C as "interrupted")."""
    return messages.INTERRUPTED if isinstance(error, KeyboardInterrupt) else describe_error(error)


def _where(cfn: Any) -> str:
    return f" --region {cfn.meta.region_name}" if cfn.meta.region_name else ""


def full_policy_body() -> str:
    """The full stack policy as CloudFormation is given it."""
    return json.dumps(data_guard.stack_policy(), separators=(",", ":"))


def policy_command(stack_name: str, region: str | None) -> str:
    """The exact ``aws cloudformation set-stack-policy`` command that restores the full policy."""
    where = f" --region {region}" if region else ""
    return (f"aws cloudformation set-stack-policy --stack-name {shlex.quote(stack_name)}{where} "
            f"--stack-policy-body {shlex.quote(full_policy_body())}")


def set_full_policy(cfn: Any, stack_id: str, stack_name: str) -> Shortfall | None:
    """Put the full stack policy in place (retried); a ``Shortfall`` if it could not be."""
    try:
        retrying(lambda: cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=full_policy_body()))
    except aws_errors_or_interrupt() as error:
        return Shortfall(Protection.STACK_POLICY, messages.protection_name(Protection.STACK_POLICY, None),
                         why_failed(error), policy_command(stack_name, cfn.meta.region_name))
    return None


def _policy_in_place(cfn: Any, stack_id: str) -> bool:
    """Whether the stack's policy is the full one (False when it cannot be read either: set it anyway)."""
    try:
        body = retrying(lambda: cfn.get_stack_policy(StackName=stack_id)).get("StackPolicyBody")
        return bool(body) and json.loads(body) == data_guard.stack_policy()
    except aws_errors_or_interrupt():
        return False
    except ValueError:  # not JSON: not the full policy
        return False


def _outputs_shortfall(environment: EnvironmentConfig, stack_name: str, outputs_file: Path, why: str) -> Shortfall:
    command = (f"webhook-templates outputs --env {environment.name} --stack-name {shlex.quote(stack_name)} "
               f"--outputs-file {shlex.quote(str(outputs_file))}")
    return Shortfall(Protection.OUTPUTS_FILE, messages.protection_name(Protection.OUTPUTS_FILE, outputs_file),
                     why, command)


def _converge_policy(cfn: Any, stack_id: str, name: str, console: Console, *, created: bool) -> Shortfall | None:
    """The full stack policy, unless it is in place already."""
    if _policy_in_place(cfn, stack_id):
        return None
    failed = set_full_policy(cfn, stack_id, name)
    if not failed and not created:
        console.warn(console.style(messages.POLICY_PUT_BACK, "yellow"))
    return failed


def _converge_termination(cfn: Any, stack: dict[str, Any], stack_id: str, name: str, console: Console, *,
                          created: bool) -> Shortfall | None:
    """Termination protection on (a production stack), unless it is on already."""
    if stack.get("EnableTerminationProtection"):
        return None
    try:
        retrying(lambda: cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=True))
    except aws_errors_or_interrupt() as error:
        return Shortfall(Protection.TERMINATION_PROTECTION,
                         messages.protection_name(Protection.TERMINATION_PROTECTION, None), why_failed(error),
                         f"aws cloudformation update-termination-protection --enable-termination-protection "
                         f"--stack-name {shlex.quote(name)}{_where(cfn)}")
    if not created:
        console.warn(console.style(messages.TERMINATION_TURNED_ON, "yellow"))
    return None


def _converge_outputs(stack: dict[str, Any], environment: EnvironmentConfig, name: str, outputs_file: Path,
                      console: Console, *, created: bool) -> Shortfall | None:
    """The outputs file, printed and rewritten from the stack just read."""
    recorded = stack_outputs.read(outputs_file)
    try:
        stack_outputs.record(stack, outputs_file, console)
    except OSError as error:
        return _outputs_shortfall(environment, name, outputs_file, error.strerror or str(error))
    if not created and recorded != stack_outputs.flatten(stack):
        console.warn(console.style(messages.outputs_rewritten(outputs_file), "yellow"))
    return None


def converge(cfn: Any, stack_id: str, environment: EnvironmentConfig, outputs_file: Path, console: Console,
             *, created: bool) -> list[Shortfall]:
    """Apply every missing protection to a ``*_COMPLETE`` stack; what could not be applied.

    ``created``: the stack was just created, so nothing was in place yet and
    nothing is worth remarking; otherwise each protection found missing is named.
    Never raises for an AWS failure or Ctrl-C: a protection it could not confirm
    is attempted anyway, and what it could not do comes back as a ``Shortfall``.
    """
    unread: BaseException | None = None
    try:
        stack = describe_stack(cfn, stack_id) or {}
    except aws_errors_or_interrupt() as error:  # the writes below need only the stack's ID
        stack, unread = {}, error
    name = stack.get("StackName", stack_id)
    policy = _converge_policy(cfn, stack_id, name, console, created=created)
    protected = termination_protection(environment)
    termination = (_converge_termination(cfn, stack, stack_id, name, console, created=created)
                   if protected else None)
    if policy is None:
        state = (messages.TERMINATION_NOT_PROD if not protected
                 else messages.TERMINATION_NOT_ON if termination else messages.TERMINATION_ON)
        console.say(messages.policy_in_place(state))
    outputs = (_outputs_shortfall(environment, name, outputs_file, why_failed(unread)) if unread is not None
               else _converge_outputs(stack, environment, name, outputs_file, console, created=created))
    return [shortfall for shortfall in (policy, termination, outputs) if shortfall is not None]


def report(shortfalls: list[Shortfall], stack_name: str, console: Console) -> None:
    """Say loudly what protection is missing and print the command that restores each."""
    for shortfall in shortfalls:
        console.warn(console.style(messages.not_restored(stack_name, shortfall.what, shortfall.why), "red", "bold"))
        if shortfall.protection is Protection.STACK_POLICY:
            console.warn(messages.UNPROTECTED_DATA)
        console.warn(messages.restore_with(shortfall.command))
    if shortfalls:
        console.warn(messages.OR_DEPLOY_AGAIN)
