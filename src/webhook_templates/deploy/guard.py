"""The data guard: no deploy removes or replaces what holds the data.

It fails closed.  On a data resource only two actions are known to keep the
data: ``Add``, and ``Modify`` with ``Replacement: False``.  Anything else is
refused unless the resource is named with ``--allow-replacement``: ``Remove``,
``Modify`` replacing it (``True``) or possibly replacing it (``Conditional``,
or no answer at all), ``Dynamic`` (CloudFormation decides only while
executing), and any action CloudFormation adds later.  "Data resource" means a
logical ID in ``naming.DATA_RESOURCES`` *or* any resource of a type in
``naming.DATA_TYPES``, so a platform team deploying an edited copy of the
template (other logical IDs, an extra table) is protected too.

The same lists become the stack policy, so CloudFormation itself refuses such
an update even when it is started by another tool.

The verdict (everything in this module) is standard library only and reads a
change through its five attributes, so it can run outside this package, as
the handoff bundle's copy of it does; the lists come from ``stack/naming.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..stack.naming import DATA_RESOURCES, DATA_TYPES

if TYPE_CHECKING:  # the guard needs only the attributes, not the class
    from .changeset import ResourceChange

__all__ = ["DATA_RESOURCES", "DATA_TYPES", "LOSING_ACTIONS", "Danger", "dangers", "is_data_resource",
           "keeps_resource", "refused", "stack_policy"]

#: Stack-policy actions that lose a resource: replacing it, or deleting it in an update.
LOSING_ACTIONS = ["Update:Replace", "Update:Delete"]


@dataclass(frozen=True)
class Danger:
    """A change that would (or might) lose a data resource, and why."""

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
        elif change.action == "Modify" and change.replacement == "True":
            what = "would be replaced by a new, empty resource"
        elif change.action == "Modify":
            what = f"may be replaced by a new, empty resource (Replacement: {change.replacement or 'not given'})"
        elif change.action == "Dynamic":
            what = ("has action Dynamic: CloudFormation decides only while executing whether it is "
                    "replaced, so it may be replaced by a new, empty resource")
        else:
            what = (f"has action {change.action or '(none)'}, which the guard does not know to keep the data, "
                    "so it is treated as losing it")
        if change.recreation_causes:
            what += f", because of a change to {', '.join(change.recreation_causes)}"
        return f"{change.logical_id} ({change.resource_type}) {what}"


def is_data_resource(logical_id: str, resource_type: str) -> bool:
    """Whether a resource holds data: one of ours by logical ID, or anyone's by type."""
    return logical_id in DATA_RESOURCES or resource_type in DATA_TYPES


def keeps_resource(action: str, replacement: str) -> bool:
    """Whether a change is known to keep the resource it names: ``Add``, or ``Modify`` in place.

    The only two answers that are safe; everything else (including values
    CloudFormation does not use today) counts as losing it.
    """
    return action == "Add" or (action == "Modify" and replacement == "False")


def dangers(changes: Iterable[ResourceChange]) -> list[Danger]:
    """Every change on a data resource not known to keep it."""
    return [
        Danger(change) for change in changes
        if is_data_resource(change.logical_id, change.resource_type)
        and not keeps_resource(change.action, change.replacement)
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
