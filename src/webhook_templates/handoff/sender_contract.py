"""The whole sender contract for HANDOFF.md, from the handler's own source.

Limits come from ``HandlerLimits`` (read with ``ast`` by ``stack/handler_artifact.py``);
the error answers are read here, with ``ast`` too, from the handler's
``Reject(<status>, "<code>", "<message>")`` calls and its ``_SERVER_ERRORS``
table, so a new error code reaches the document without anyone remembering to
add it.  Nothing imports the handler.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from ..stack.handler_artifact import HandlerLimits
from ..stack.minify import parsed

#: What each transaction status means to the receiver; a status without words is an error.
STATUS_WORDS: Mapping[str, str] = {
    "pending": "initiated, not settled yet (the default when `status` is absent)",
    "completed": "settled: the money moved",
    "failed": "did not go through; nothing moved",
    "refunded": "settled, then paid back",
    "cancelled": "withdrawn before it settled",
}


@dataclass(frozen=True, order=True)
class HandlerError:
    """One answer the function gives besides 200."""

    status: int
    code: str
    message: str


def _message(node: ast.expr) -> str:
    """The message argument as a reader sees it: ``%d``-style placeholders as ``…``, a built one as code."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        text = _message(node.left)
        for placeholder in ("%d", "%s", "%r"):
            text = text.replace(placeholder, "…")
        return text
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # field + ": " + problem
        return _message(node.left) + _message(node.right)
    if isinstance(node, ast.Name):
        return f"<{node.id}>"
    return "…"  # built some other way at run time


def handler_errors(source: str) -> list[HandlerError]:
    """Every non-200 answer in the handler's ``source``, by status then code (first message of each code)."""
    tree = parsed(source)
    found: dict[str, HandlerError] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Reject"
                and len(node.args) == 3 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, int) and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            code = node.args[1].value
            found.setdefault(code, HandlerError(node.args[0].value, code, _message(node.args[2])))
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_SERVER_ERRORS"
                                                 for t in node.targets)):
            for code, (status, message) in ast.literal_eval(node.value).items():
                found.setdefault(code, HandlerError(int(status), code, message))
    return sorted(found.values())


def in_words(status: str) -> str:
    """A transaction status in plain words; a missing wording is an error, not a silent gap."""
    try:
        return STATUS_WORDS[status]
    except KeyError:
        raise KeyError(f"no plain-words meaning for status {status!r}: "
                       "add it to sender_contract.STATUS_WORDS") from None


def what_to_do(status: int) -> str:
    """What a sender does about an answer with this status."""
    if status == 503:
        return "retry the same delivery (same `webhook-id`) after `Retry-After` seconds"
    if status >= 500:
        return "retry the same delivery with backoff; nothing was stored"
    return "fix the request: resending it unchanged gets the same answer"


def currency_groups(limits: HandlerLimits) -> list[tuple[int, list[str]]]:
    """``(decimals, codes)`` for each number of minor-unit digits, fewest first."""
    groups: dict[int, list[str]] = {}
    for currency, digits in sorted(limits.currency_minor_units.items()):
        groups.setdefault(digits, []).append(currency)
    return sorted(groups.items())
