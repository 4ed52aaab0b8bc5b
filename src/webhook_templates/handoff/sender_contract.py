"""The whole sender contract for HANDOFF.md, from the handler's own source.

Limits come from ``HandlerLimits`` (read with ``ast`` by ``stack/handler_artifact.py``);
the error answers are read here, with ``ast`` too, from the handler's
``Reject(<status>, "<code>", "<message>")`` calls and its ``_SERVER_ERRORS``
table, so a new error code reaches the document without anyone remembering to
add it.  Nothing imports the handler.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


#: What API Gateway answers for each gateway response type the template overrides, when the
#: override sets no ``StatusCode`` (AWS's "Gateway response types" table). A new override
#: without its statuses here is an error, so the retry table cannot miss an answer.
GATEWAY_STATUSES: Mapping[str, tuple[int, ...]] = {
    "BAD_REQUEST_BODY": (400,),
    "REQUEST_TOO_LARGE": (413,),
    "THROTTLED": (429,),
    # Missing authentication token (another path or method) and unsupported media type.
    "DEFAULT_4XX": (403, 415),
    # Configuration errors, the function failing (502) or timing out (504).
    "DEFAULT_5XX": (500, 502, 504),
}
#: Standard Webhooks senders disable an endpoint that answers it.
GONE = 410


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


def _gateway_statuses(response: Mapping[str, Any]) -> tuple[int, ...]:
    if "StatusCode" in response:
        return (int(response["StatusCode"]),)
    try:
        return GATEWAY_STATUSES[response["ResponseType"]]
    except KeyError:
        raise KeyError(f"no statuses for gateway response {response['ResponseType']!r}: "
                       "add them to sender_contract.GATEWAY_STATUSES") from None


def answered_statuses(errors: Sequence[HandlerError], body: Mapping[str, Any]) -> dict[int, str]:
    """Every status a sender can get, and who answers it: 200, the handler's ``errors`` and the
    template's (``body``) gateway responses."""
    answered: dict[int, list[str]] = {200: ["the function"]}
    for error in errors:
        answered.setdefault(error.status, ["the function"])
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse":
            for status in _gateway_statuses(resource["Properties"]):
                by = answered.setdefault(status, [])
                if "API Gateway" not in by:
                    by.append("API Gateway")
    return {status: " and ".join(answered[status]) for status in sorted(answered)}


def retry_advice(status: int) -> str:
    """Whether a sender retries an answer with ``status``: 429 and 5xx yes, any other 4xx no."""
    if status == 503:
        return "retry after `Retry-After` seconds, same `webhook-id`"
    if status == 429 or status >= 500:
        return "retry with backoff, same `webhook-id`"
    return "do not retry: the same request gets the same answer"


def retry_rows(answered: Mapping[int, str]) -> list[tuple[str, str, str]]:
    """The contract's retry table: every status but 200, who answers it, what the sender does."""
    return [(str(status), by, retry_advice(status)) for status, by in answered.items() if status != 200]


def currency_groups(limits: HandlerLimits) -> list[tuple[int, list[str]]]:
    """``(decimals, codes)`` for each number of minor-unit digits, fewest first."""
    groups: dict[int, list[str]] = {}
    for currency, digits in sorted(limits.currency_minor_units.items()):
        groups.setdefault(digits, []).append(currency)
    return sorted(groups.items())
