"""Why a deploy stops early, as exception types the flow branches on (never on their text).

``DeployError`` and its subclasses end the deploy with exit 1 and their message;
``LostTrack`` is apart: the command can no longer see an operation that may
still run, which is not a failure of the deploy and is reported differently.
"""

from __future__ import annotations


class DeployError(Exception):
    """The deploy cannot go on; the message says why (exit 1)."""


class StackNotDeployable(DeployError):
    """The stack is in a state no change set can start from (busy, or a failed rollback or delete)."""


class AccountNotReady(DeployError):
    """The account lacks what a first deploy needs; nothing was created."""


class ChangeSetRejected(DeployError):
    """CloudFormation could not compute the change set (not for want of changes)."""


class ChangeSetGone(DeployError):
    """The change set was deleted by someone else before it could be shown."""


class RecreateFailed(DeployError):
    """A failed first deploy's stack could not be deleted to be created again."""


class NotExecuted(DeployError):
    """CloudFormation refused the execution, and the change set, described again, confirms it never ran."""


class LostTrack(Exception):
    """The command cannot see what CloudFormation is doing any more; the operation may still run."""
