"""The data guard: no deploy removes or replaces what holds the data.

A change set that would remove, replace (``Replacement: True``) or possibly
replace (``Conditional``) the table, the key, the secret or a log group is
refused unless each such resource is named with ``--allow-replacement``.
"Data resource" means a logical ID in ``naming.DATA_RESOURCES`` *or* any
resource of a data-holding type, so a platform team deploying an edited copy
of the template (other logical IDs, an extra table) is protected too.

The same list becomes the stack policy, so CloudFormation itself refuses such
an update even when it is started by another tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Iterable

from ..stack.naming import DATA_RESOURCES
from .changeset import ResourceChange

#: Resource types that hold data (or the key that decrypts it).
DATA_TYPES: tuple[str, ...] = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
)

#: Stack-policy actions that lose a resource: replacing it, or deleting it in an update.
LOSING_ACTIONS = ["Update:Replace", "Update:Delete"]


@dataclass(frozen=True)
class Danger:
    """A change that would lose a data resource, and why."""

    change: ResourceChange

    @property
    def logical_id(self) -> str:
        """The resource's logical ID, as ``--allow-replacement`` takes it."""
        return self.change.logical_id

    def reason(self) -> str:
        """Why the guard stops, in a sentence."""
        change = self.change
        if change.action == "Remove":
            what = "would be removed from the stack"
        elif change.replacement == "True":
            what = "would be replaced by a new, empty resource"
        else:
            what = "may be replaced by a new, empty resource (Replacement: Conditional)"
        if change.recreation_causes:
            what += f", because of a change to {', '.join(change.recreation_causes)}"
        return f"{change.logical_id} ({change.resource_type}) {what}"


def is_data_resource(logical_id: str, resource_type: str) -> bool:
    """Whether a resource holds data: one of ours by logical ID, or anyone's by type."""
    return logical_id in DATA_RESOURCES or resource_type in DATA_TYPES


def loses_resource(change: ResourceChange) -> bool:
    """Whether executing ``change`` would delete the resource it names (now or on cleanup)."""
    return change.action == "Remove" or (
        change.action == "Modify" and change.replacement in ("True", "Conditional")
    )


def dangers(changes: Iterable[ResourceChange]) -> list[Danger]:
    """Every change that would remove or replace a data resource."""
    return [
        Danger(change) for change in changes
        if loses_resource(change) and is_data_resource(change.logical_id, change.resource_type)
    ]


def refused(changes: Iterable[ResourceChange], allowed: Collection[str]) -> list[Danger]:
    """The dangers not named in ``allowed``: any of them stops the deploy."""
    return [danger for danger in dangers(changes) if danger.logical_id not in allowed]


def _resources(logical_ids: Iterable[str]) -> list[str]:
    return [f"LogicalResourceId/{logical_id}" for logical_id in logical_ids]


def stack_policy(allowed: Collection[str] = ()) -> dict[str, Any]:
    """The stack policy: any update, except replacing or deleting a data resource.

    ``allowed`` lifts the denial for those logical IDs, for the one update that
    ``--allow-replacement`` lets through; the full policy is put back after it.
    """
    protected = [logical_id for logical_id in DATA_RESOURCES if logical_id not in allowed]
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
    ]
    if protected:
        statements.append({
            "Effect": "Deny", "Principal": "*", "Action": LOSING_ACTIONS,
            "Resource": _resources(protected),
        })
    by_type: dict[str, Any] = {
        "Effect": "Deny", "Principal": "*", "Action": LOSING_ACTIONS,
        "Condition": {"StringEquals": {"ResourceType": list(DATA_TYPES)}},
    }
    if allowed:
        by_type["NotResource"] = _resources(sorted(allowed))
    else:
        by_type["Resource"] = "*"
    statements.append(by_type)
    return {"Statement": statements}
