"""The Lambda code: read from ``handler/app.py`` and inlined into the template.

The handler is one standard-library module, so CloudFormation's ``ZipFile``
can carry it and the template stays a single self-contained file.
"""

from __future__ import annotations

import importlib.util
import io
import os
import tokenize
from functools import cache
from pathlib import Path
from types import ModuleType

#: ``ZipFile`` code is written to ``index.py``.
HANDLER = "index.lambda_handler"


def handler_path() -> Path:
    """Where the handler lives: ``WEBHOOK_HANDLER_PATH`` or ``handler/app.py`` in this checkout."""
    override = os.environ.get("WEBHOOK_HANDLER_PATH")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "handler" / "app.py"


@cache
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"handler source not found at {path}; run from a checkout of webhook-templates "
            "or set WEBHOOK_HANDLER_PATH"
        ) from None


def handler_source() -> str:
    """The handler module's source text, as kept in ``handler/app.py``."""
    return _read(handler_path())


def inline_source(source: str) -> str:
    """``source`` without comments and docstrings, on the same line numbers.

    CloudFormation takes at most 51,200 bytes of template body, and the
    handler's documentation is for its readers, not for Lambda.  Every
    remaining line keeps its number, so a traceback from the deployed function
    points at the right line of ``handler/app.py``.
    """
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, int, str]] = []  # (row, col, end_row, end_col, text)
    statement_start = True
    # A string that starts a statement is a docstring only if it is the whole
    # statement: `"".join(x)` must survive.
    docstring: tokenize.TokenInfo | None = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = token.type
        if kind == tokenize.COMMENT:
            edits.append((*token.start, *token.end, ""))
            continue
        if kind in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            continue
        if docstring is not None and kind == tokenize.NEWLINE:
            lines_spanned = docstring.end[0] - docstring.start[0]
            edits.append((*docstring.start, *docstring.end, '""' + "\n" * lines_spanned))
        docstring = token if kind == tokenize.STRING and statement_start else None
        statement_start = kind == tokenize.NEWLINE
    for row, col, end_row, end_col, text in reversed(edits):
        head = lines[row - 1][:col]
        tail = lines[end_row - 1][end_col:]
        lines[row - 1:end_row] = [head + text + tail]
    return "".join(line.rstrip() + "\n" for line in "".join(lines).splitlines())


def import_handler(path: Path, name: str = "webhook_handler_app") -> ModuleType:
    """A new, independent import of the handler at ``path``, with its own module state.

    The handler keeps its clients and secret per container in module globals,
    so the local server imports one copy per emulated Lambda container.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _load(path: Path) -> ModuleType:
    return import_handler(path)


def handler_module() -> ModuleType:
    """The handler imported as a module, for the limits it defines (one source of truth)."""
    handler_source()  # the same clear error when the file is missing
    return _load(handler_path())
