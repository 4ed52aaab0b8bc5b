"""The states and kinds the deploy flow branches on, as enums.

Two families.  CloudFormation's own status values (``StackStatus``,
``ChangeSetStatus``, ``ExecutionStatus``): ``StrEnum`` members equal the strings
the API returns, so a described status compares with them directly; a status
the API adds later is still a plain string, never a parse failure.  And this
tool's own kinds and outcomes (``ChangeSetKind``, ``ExecutionState``,
``Protection``, ``Detachment``), which never leave the program as text to
compare.
"""

from __future__ import annotations

from enum import StrEnum


class StackStatus(StrEnum):
    """The ``StackStatus`` values the deploy, outputs and destroy commands decide on."""

    CREATE_COMPLETE = "CREATE_COMPLETE"
    UPDATE_COMPLETE = "UPDATE_COMPLETE"
    UPDATE_ROLLBACK_COMPLETE = "UPDATE_ROLLBACK_COMPLETE"
    UPDATE_ROLLBACK_FAILED = "UPDATE_ROLLBACK_FAILED"
    ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"
    REVIEW_IN_PROGRESS = "REVIEW_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"


#: Where a deploy that executed ends well.
SUCCEEDED = frozenset({StackStatus.CREATE_COMPLETE, StackStatus.UPDATE_COMPLETE})
#: ``*_COMPLETE`` states that hold no resources, so there is nothing to protect.
EMPTY = frozenset({StackStatus.ROLLBACK_COMPLETE, StackStatus.DELETE_COMPLETE})


def in_progress(status: str) -> bool:
    """Whether a stack, resource or change set status is still moving (``REVIEW_IN_PROGRESS`` included)."""
    return status.endswith("_IN_PROGRESS") or status.endswith("_PENDING")


def is_protectable(status: str) -> bool:
    """Whether a stack in ``status`` has resources to protect (not ``ROLLBACK_COMPLETE``: it holds none)."""
    return status.endswith("_COMPLETE") and status not in EMPTY


class ChangeSetStatus(StrEnum):
    """A change set's ``Status``: whether CloudFormation has computed it."""

    CREATE_PENDING = "CREATE_PENDING"
    CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
    CREATE_COMPLETE = "CREATE_COMPLETE"
    FAILED = "FAILED"
    DELETE_PENDING = "DELETE_PENDING"
    DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
    DELETE_COMPLETE = "DELETE_COMPLETE"
    DELETE_FAILED = "DELETE_FAILED"


#: Change sets still being computed.
COMPUTING = frozenset({ChangeSetStatus.CREATE_PENDING, ChangeSetStatus.CREATE_IN_PROGRESS})
#: Change sets that no longer stand (anything else, a racing deploy's say, keeps a first deploy's stack).
GONE = frozenset({ChangeSetStatus.FAILED, ChangeSetStatus.DELETE_PENDING, ChangeSetStatus.DELETE_IN_PROGRESS,
                  ChangeSetStatus.DELETE_COMPLETE, ChangeSetStatus.DELETE_FAILED})


class ExecutionStatus(StrEnum):
    """A change set's ``ExecutionStatus``: whether it ran."""

    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"
    EXECUTE_IN_PROGRESS = "EXECUTE_IN_PROGRESS"
    EXECUTE_COMPLETE = "EXECUTE_COMPLETE"
    EXECUTE_FAILED = "EXECUTE_FAILED"
    OBSOLETE = "OBSOLETE"


#: What ``ExecutionStatus`` is once ``ExecuteChangeSet`` has taken effect.
EXECUTED = frozenset({ExecutionStatus.EXECUTE_IN_PROGRESS, ExecutionStatus.EXECUTE_COMPLETE,
                      ExecutionStatus.EXECUTE_FAILED})


class DeploymentStatus(StrEnum):
    """The CodeDeploy deployment statuses a traffic shift's report explains."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    STOPPED = "Stopped"


#: Deployments that ended without shifting the traffic.
DEPLOYMENT_STOPPED = frozenset({DeploymentStatus.FAILED, DeploymentStatus.STOPPED})


class ChangeSetKind(StrEnum):
    """What a deploy does to the stack; ``CREATE`` and ``UPDATE`` are also the ``ChangeSetType`` sent."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    #: A failed first deploy (``ROLLBACK_COMPLETE``, no resources): delete it, then ``CREATE``.
    RECREATE = "RECREATE"


class ExecutionState(StrEnum):
    """What an error from ``ExecuteChangeSet`` left behind, once the change set and stack are described again."""

    #: CloudFormation took it: follow it.
    RUNNING = "running"
    #: Not executed, and it still may be: send it again.
    AVAILABLE = "available"
    #: Not executed and never will be (``OBSOLETE``, deleted before it ran).
    DEAD = "dead"
    #: Nothing tells: assume nothing.
    UNKNOWN = "unknown"


class Protection(StrEnum):
    """What ``converge`` puts in place on a ``*_COMPLETE`` stack."""

    STACK_POLICY = "stack policy"
    TERMINATION_PROTECTION = "termination protection"
    OUTPUTS_FILE = "outputs file"
    #: Not protection, but put in place (and reported) the same way.
    DASHBOARD = "dashboard"


class Detachment(StrEnum):
    """Why the command stopped following an operation CloudFormation may still run."""

    INTERRUPTED = "interrupted"
    LOST_TRACK = "lost track"
