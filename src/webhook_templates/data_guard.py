"""The data guard's verdict: no change set removes or replaces what holds the data.

It fails closed.  On a data resource only two actions are known to keep the
data: ``Add``, and ``Modify`` with ``Replacement: False``.  Anything else is
refused unless the resource is named with ``--allow-replacement``: ``Remove``,
``Modify`` replacing it (``True``) or possibly replacing it (``Conditional``,
or no answer at all), ``Dynamic`` (CloudFormation decides only while
executing), and any action CloudFormation adds later.  "Data resource" means a
logical ID in ``naming.DATA_RESOURCES`` *or* any resource of a type in
``naming.DATA_TYPES``, so a platform team deploying an edited copy of the
template (other logical IDs, an extra table) is protected too.  So are the
logical IDs in ``naming.MOVED_TO_ACCOUNT_SETUP``: API Gateway's logging role and
account setting, which older stacks created and which now live in the bundle's
account setup template; removing them first would leave every API of the
account without its logging role, so the refusal says what to deploy first.

The same lists become the stack policy, so CloudFormation itself refuses such
an update even when it is started by another tool.

One module, two uses.  ``webhook-templates deploy`` imports it; the handoff
bundle ships *this module's source* as ``guard-check.py``
(``handoff/guard_script.py`` replaces the package imports below with their
values), so a pipeline without this repository gets the same verdicts and
messages.  Hence: standard library only, apart from the ``from ..`` imports of
plain values.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .exit_codes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from .stack.naming import ACCOUNT_SETUP_TEMPLATE, DATA_RESOURCES, DATA_TYPES, MOVED_TO_ACCOUNT_SETUP

__all__ = ["DATA_RESOURCES", "DATA_TYPES", "LOSING_ACTIONS", "MOVED_TO_ACCOUNT_SETUP", "PROTECTED_IDS",
           "REFUSED_HEADLINE", "Danger", "ResourceChange",
           "allow_flags", "dangers", "is_data_resource", "keeps_resource", "main", "refused", "resource_changes",
           "stack_policy", "verdict"]

#: Stack-policy actions that lose a resource: replacing it, or deleting it in an update.
LOSING_ACTIONS = ["Update:Replace", "Update:Delete"]
#: The first line of every refusal, from the CLI and from the bundle's script alike.
REFUSED_HEADLINE = "Refused by the data guard: this change set would lose data."
#: Every logical ID the guard and the stack policy protect by name.
PROTECTED_IDS = DATA_RESOURCES + MOVED_TO_ACCOUNT_SETUP


@dataclass(frozen=True)
class ResourceChange:
    """One row of a change set."""

    action: str
    logical_id: str
    resource_type: str
    #: "True", "False" or "Conditional" for ``Modify``; empty for other actions.
    replacement: str = ""
    #: Properties whose change requires (or may require) recreating the resource.
    recreation_causes: tuple[str, ...] = ()


def resource_changes(descriptions: Iterable[dict[str, Any]]) -> list[ResourceChange]:
    """The resource changes of every ``DescribeChangeSet`` page, in CloudFormation's order."""
    changes = []
    for page in descriptions:
        for change in page.get("Changes", []):
            if change.get("Type", "Resource") != "Resource":
                continue
            resource = change["ResourceChange"]
            causes = tuple(dict.fromkeys(
                detail["Target"].get("Name") or detail["Target"].get("Attribute", "")
                for detail in resource.get("Details", [])
                if detail.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")
            ))
            changes.append(ResourceChange(
                action=resource.get("Action", ""),
                logical_id=resource["LogicalResourceId"],
                resource_type=resource.get("ResourceType", ""),
                replacement=resource.get("Replacement", "") if resource.get("Action") == "Modify" else "",
                recreation_causes=causes,
            ))
    return changes


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
        if change.logical_id in MOVED_TO_ACCOUNT_SETUP:
            what += ("; it is part of the account's API Gateway logging (role and setting), which moved to "
                     f"{ACCOUNT_SETUP_TEMPLATE}: deploy {ACCOUNT_SETUP_TEMPLATE} first, then re-run with "
                     + " ".join(f"--allow-replacement {logical_id}" for logical_id in MOVED_TO_ACCOUNT_SETUP))
        return f"{change.logical_id} ({change.resource_type}) {what}"


def is_data_resource(logical_id: str, resource_type: str) -> bool:
    """Whether the guard protects a resource: one of ours by logical ID, or anyone's by type."""
    return logical_id in PROTECTED_IDS or resource_type in DATA_TYPES


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


def verdict(changes: Sequence[ResourceChange], allowed: Collection[str]) -> tuple[list[str], list[str]]:
    """``(notes, refusal)``: what to say about ``allowed``, and the refusal (empty: go on).

    The lines both the CLI and the bundle's script print, so their messages are the same.
    """
    found = dangers(changes)
    notes = [f"note: --allow-replacement {name}: this change set does not remove or replace it; nothing to allow"
             for name in sorted(set(allowed) - {danger.logical_id for danger in found})]
    stopped = refused(changes, allowed)
    notes += [f"allowed by --allow-replacement: {danger.reason()}" for danger in found if danger not in stopped]
    refusal = [REFUSED_HEADLINE, *[f"  {danger.reason()}" for danger in stopped]] if stopped else []
    return notes, refusal


def allow_flags(stopped: Iterable[Danger]) -> str:
    """The ``--allow-replacement`` flags that would let ``stopped`` through."""
    return " ".join(f"--allow-replacement {danger.logical_id}" for danger in stopped)


def _resources(logical_ids: Iterable[str]) -> list[str]:
    return [f"LogicalResourceId/{logical_id}" for logical_id in logical_ids]


def stack_policy(allowed: Collection[str] = ()) -> dict[str, Any]:
    """The stack policy: any update, except replacing or deleting a data resource.

    ``allowed`` lifts the denial for those logical IDs, for the one update that
    ``--allow-replacement`` lets through; the full policy is put back after it.
    """
    protected = [logical_id for logical_id in PROTECTED_IDS if logical_id not in allowed]
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


# --- the bundle's guard-check.py ------------------------------------------------------

def _pages(document: Any) -> list[dict[str, Any]]:
    """``describe-change-set`` output: one response, or a list of pages (as a paginating tool saves them)."""
    pages = document if isinstance(document, list) else [document]
    if not pages or not all(isinstance(page, dict) and isinstance(page.get("Changes", []), list) for page in pages):
        raise ValueError("expected the JSON of `aws cloudformation describe-change-set` "
                         "(an object with \"Changes\"), or a list of such pages")
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    """``guard-check.py [FILE] [--allow-replacement LOGICAL_ID]...``: the verdict on a change set.

    Exit 0 when the change set keeps every data resource, 3 when it would lose
    one (each named, with why), 2 when the input is not a change set description.
    """
    parser = argparse.ArgumentParser(
        prog="guard-check.py",
        description="The webhook stack's data guard: refuse a change set that would remove or replace "
                    "a data resource. Reads `aws cloudformation describe-change-set --output json`.",
        epilog="exit codes: 0 no data resource lost, 2 unreadable input, 3 refused",
    )
    parser.add_argument("file", nargs="?", default="-", help="the describe-change-set JSON (default: stdin)")
    parser.add_argument("--allow-replacement", action="append", default=[], metavar="LOGICAL_ID",
                        help="let this data resource be replaced or removed, on purpose (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
        changes = resource_changes(_pages(json.loads(text)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        source = "standard input" if args.file == "-" else args.file
        print(f"guard-check.py: error: {source}: not a change set description ({error})", file=sys.stderr)
        return EXIT_USAGE
    notes, refusal = verdict(changes, args.allow_replacement)
    for line in notes:
        print(line, file=sys.stderr)
    if refusal:
        for line in refusal:
            print(line, file=sys.stderr)
        stopped = refused(changes, args.allow_replacement)
        print(f"Do not execute this change set; delete it. If losing them is intended (back the data up "
              f"first), check again with: {allow_flags(stopped)}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"data guard: {len(changes)} changes, none removes or replaces a data resource")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
