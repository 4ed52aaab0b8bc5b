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
from . import stack_outputs
from .console import Console
from .session import aws_errors_or_interrupt, describe_error
from .stacks import describe_stack, retrying


def protectable(status: str) -> bool:
    """Whether a stack in ``status`` has resources to protect (not ``ROLLBACK_COMPLETE``: it holds none)."""
    return status.endswith("_COMPLETE") and status not in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE")


@dataclass(frozen=True)
class Shortfall:
    """A protection that could not be put in place: what, why, and the command that does it."""

    what: str
    why: str
    command: str


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
        why = "interrupted" if isinstance(error, KeyboardInterrupt) else describe_error(error)
        return Shortfall("the full stack policy", why, policy_command(stack_name, cfn.meta.region_name))
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


def _outputs_command(environment: EnvironmentConfig, stack_name: str, outputs_file: Path) -> str:
    return (f"webhook-templates outputs --env {environment.name} --stack-name {shlex.quote(stack_name)} "
            f"--outputs-file {shlex.quote(str(outputs_file))}")


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
    shortfalls: list[Shortfall] = []
    if not _policy_in_place(cfn, stack_id):
        failed = set_full_policy(cfn, stack_id, name)
        if failed:
            shortfalls.append(failed)
        elif not created:
            console.warn(console.style("The stack policy was missing or not the full one: put it back.", "yellow"))
    protected = "no termination protection (not prod)"
    if environment.is_production:
        protected = "termination protection on"
        if not stack.get("EnableTerminationProtection"):
            try:
                retrying(lambda: cfn.update_termination_protection(StackName=stack_id,
                                                                   EnableTerminationProtection=True))
                if not created:
                    console.warn(console.style("Termination protection was off: turned it on.", "yellow"))
            except aws_errors_or_interrupt() as error:
                protected = "termination protection NOT on"
                where = f" --region {cfn.meta.region_name}" if cfn.meta.region_name else ""
                shortfalls.append(Shortfall(
                    "termination protection", "interrupted" if isinstance(error, KeyboardInterrupt)
                    else describe_error(error),
                    f"aws cloudformation update-termination-protection --enable-termination-protection "
                    f"--stack-name {shlex.quote(name)}{where}"))
    if not any(s.what == "the full stack policy" for s in shortfalls):
        console.say(f"Stack policy denies replacing or deleting data resources; {protected}.")
    if unread is not None:
        shortfalls.append(Shortfall(
            f"the outputs file {outputs_file}",
            "interrupted" if isinstance(unread, KeyboardInterrupt) else describe_error(unread),
            _outputs_command(environment, name, outputs_file)))
        return shortfalls
    recorded = stack_outputs.read(outputs_file)
    try:
        stack_outputs.record(stack, outputs_file, console)
        if not created and recorded != stack_outputs.flatten(stack):
            console.warn(console.style(f"{outputs_file} was missing or out of date: rewrote it.", "yellow"))
    except OSError as error:
        shortfalls.append(Shortfall(f"the outputs file {outputs_file}", error.strerror or str(error),
                                    _outputs_command(environment, name, outputs_file)))
    return shortfalls


def report(shortfalls: list[Shortfall], stack_name: str, console: Console) -> None:
    """Say loudly what protection is missing and print the command that restores each."""
    for shortfall in shortfalls:
        console.warn(console.style(f"PROTECTION NOT RESTORED on {stack_name}: {shortfall.what} could not be put "
                                   f"in place ({shortfall.why}).", "red", "bold"))
        if shortfall.what == "the full stack policy":
            console.warn("Until it is, any tool can replace or delete the table, the key, the secret and the "
                         "log groups.")
        console.warn(f"Restore it with:\n  {shortfall.command}")
    if shortfalls:
        console.warn("(or run the same `webhook-templates deploy` again: it re-applies whatever is missing)")
