"""A change set as the deploy command reads it: resource changes, the table, "no changes".

Pure functions over ``DescribeChangeSet`` responses, so they are tested on
real-AWS-shaped data without any AWS.
"""

from __future__ import annotations

from ..data_guard import ResourceChange, resource_changes
from .console import Console

__all__ = ["NO_CHANGES_MARKERS", "ResourceChange", "is_no_changes", "resource_changes", "summary", "table"]

#: How CloudFormation says a change set is empty: a ``FAILED`` change set whose
#: reason says it "didn't contain changes"; some emulators (and ``UpdateStack``)
#: answer ``ValidationError: No updates are to be performed`` instead.
NO_CHANGES_MARKERS = ("didn't contain changes", "No updates are to be performed")

_ACTION_STYLE = {"Add": "green", "Modify": "yellow", "Remove": "red", "Import": "cyan", "Dynamic": "yellow"}
_HEADERS = ("Action", "Logical ID", "Resource type", "Replacement")


def is_no_changes(reason: str | None) -> bool:
    """Whether a failed change set (or a ValidationError) only means "nothing to change"."""
    return any(marker in (reason or "") for marker in NO_CHANGES_MARKERS)


def summary(changes: list[ResourceChange]) -> str:
    """``3 changes: 1 to add, 1 to modify (1 replaced), 1 to remove``."""
    counts = {action: sum(c.action == action for c in changes) for action in ("Add", "Modify", "Remove")}
    replaced = sum(c.replacement in ("True", "Conditional") for c in changes)
    parts = [f"{counts['Add']} to add", f"{counts['Modify']} to modify"]
    if replaced:
        parts[-1] += f" ({replaced} replaced or possibly replaced)"
    parts.append(f"{counts['Remove']} to remove")
    noun = "change" if len(changes) == 1 else "changes"
    return f"{len(changes)} {noun}: " + ", ".join(parts)


def table(changes: list[ResourceChange], console: Console) -> str:
    """The change set as an aligned table: action, logical id, resource type, replacement."""
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    widths = [max(len(row[i]) for row in [_HEADERS, *rows]) for i in range(len(_HEADERS))]

    def line(cells: tuple[str, ...], styles: tuple[tuple[str, ...], ...]) -> str:
        # Pad before styling (escape codes would count towards the width), all
        # but the last cell, so lines carry no trailing blanks.
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)] + [cells[-1]]
        return "  ".join(console.style(cell, *style) for cell, style in zip(padded, styles, strict=False))

    lines = [line(_HEADERS, (("bold",),) * len(_HEADERS))]
    for change, row in zip(changes, rows, strict=False):
        replacement_style = ("red", "bold") if change.replacement in ("True", "Conditional") else ()
        action_style = (_ACTION_STYLE[change.action],) if change.action in _ACTION_STYLE else ()
        lines.append(line(row, (action_style, (), (), replacement_style)))
    return "\n".join(lines)
