"""Markdown formatting for the generated documents: inline code, table cells, tables, short forms.

Registered as filters on the one template environment (``templating``), so the
section templates and the Python deriving their facts format values alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def short_form(value: Any) -> str:
    """A template value in CloudFormation's YAML short form (``!Ref X``, ``!Sub '...'``)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"!Ref {argument}"
        if key == "Fn::GetAtt":
            return "!GetAtt " + (".".join(argument) if isinstance(argument, list) else argument)
        if key.startswith("Fn::"):
            if isinstance(argument, str):
                return f"!{key[4:]} '{argument}'"
            return f"!{key[4:]} {short_form(argument)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short_form(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(short_form(item) for item in value) + "]"
    if value == "":
        return "''"
    return value if isinstance(value, str) else json.dumps(value)


def cell(text: object) -> str:
    """``text`` made safe for one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def code(text: object) -> str:
    """``text`` as inline code (safe in a table cell)."""
    return f"`{cell(text)}`"


def codes(values: Iterable[object], separator: str = ", ") -> str:
    """Each of ``values`` as inline code, joined by ``separator``."""
    return separator.join(code(value) for value in values)


def table(rows: Iterable[Sequence[object]], *headers: str) -> str:
    """A Markdown table of ``rows`` under ``headers`` (no trailing newline)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def grouped(number: object, spec: str = ",") -> str:
    """``number`` with thousands separators (``spec`` is a format spec such as ``,`` or ``,f``)."""
    return format(number, spec)
