"""The Lambda code as the template needs it: a ``HandlerArtifact`` resolved once, at the edge.

The handler is one standard-library module, so CloudFormation's ``ZipFile``
can carry it and the template stays a single self-contained file.  Its limits
(body size, identifier pattern, statuses, amount bound, currencies) feed the
API model, the handoff document and the local server; they are read from the
handler's source with ``ast``, never by importing it: the handler imports
botocore, and building the template must not.  ``minify`` shrinks the source
for the template.

``HandlerArtifact.from_path`` is the only function here that touches the
disk; the CLI and the bundle call it, and every template part receives the
artifact it made.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..config import ConfigError
from .minify import inline_source, parsed

#: ``ZipFile`` code is written to ``index.py``.
HANDLER = "index.lambda_handler"

#: ``handler/app.py`` in this checkout, where the handler is developed and tested.
CHECKOUT_HANDLER_PATH = Path(__file__).resolve().parents[3] / "handler" / "app.py"
#: The same file as an installed package ships it (setup.cfg maps ``handler/`` to ``webhook_templates.handler``).
PACKAGED_HANDLER_PATH = Path(__file__).resolve().parents[1] / "handler" / "app.py"


def shipped_handler_path() -> Path:
    """The handler this installation ships: the package's copy when installed, else the checkout's.

    The packaged copy is looked for first: a checkout has none (its ``src/``
    holds no ``handler/``), and an installed package must never pick up a
    ``handler/app.py`` that happens to lie beside its site-packages.
    """
    return PACKAGED_HANDLER_PATH if PACKAGED_HANDLER_PATH.is_file() else CHECKOUT_HANDLER_PATH


class HandlerUnavailable(ConfigError):
    """The handler's source cannot be read, or does not define its limits as the contract says.

    A ``ConfigError``: a command that meets it ends with this one line, never a traceback.
    """


@dataclass(frozen=True)
class HandlerLimits:
    """The handler's module-level limits: what it accepts, as the template and documents state it."""

    max_body_bytes: int
    transaction_id_max_length: int
    transaction_id_pattern: str
    statuses: tuple[str, ...]
    metadata_max_bytes: int
    max_amount: Decimal
    max_json_depth: int
    tolerance_seconds: int
    #: ISO 4217 code -> number of minor-unit digits, from ``CURRENCIES_BY_MINOR_UNIT``.
    currency_minor_units: Mapping[str, int]

    def __hash__(self) -> int:  # the mapping is read-only, so the limits can key a cache
        return hash((self.max_body_bytes, self.transaction_id_pattern, self.statuses, self.max_amount,
                     tuple(sorted(self.currency_minor_units.items()))))


#: Handler name -> (field of ``HandlerLimits``, the Python type its value must have).
_LIMITS: dict[str, tuple[str, type]] = {
    "MAX_BODY_BYTES": ("max_body_bytes", int),
    "TRANSACTION_ID_MAX_LENGTH": ("transaction_id_max_length", int),
    "TRANSACTION_ID_PATTERN": ("transaction_id_pattern", str),
    "STATUSES": ("statuses", tuple),
    "METADATA_MAX_BYTES": ("metadata_max_bytes", int),
    "MAX_AMOUNT": ("max_amount", Decimal),
    "MAX_JSON_DEPTH": ("max_json_depth", int),
    "TOLERANCE_SECONDS": ("tolerance_seconds", int),
    "CURRENCIES_BY_MINOR_UNIT": ("currency_minor_units", dict),
}


def _literal(node: ast.expr) -> Any:
    """``node``'s value: a literal, or ``Decimal("<literal>")`` (the one call the contract allows)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Decimal"
            and len(node.args) == 1 and not node.keywords):
        return Decimal(ast.literal_eval(node.args[0]))
    return ast.literal_eval(node)


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = value`` and ``NAME: type = value`` statements (the last one wins, as at run time)."""
    found: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            found[statement.target.id] = statement.value
    return found


def _currency_table(value: Any, origin: str) -> Mapping[str, int]:
    """``{digits: "AAA BBB ..."}`` -> ``{"AAA": digits, ...}``, read-only."""
    table: dict[str, int] = {}
    for digits, codes in value.items():
        if not isinstance(digits, int) or not isinstance(codes, str):
            raise HandlerUnavailable(f"{origin}: CURRENCIES_BY_MINOR_UNIT must map digits (int) to "
                                     f"space-separated currency codes (str), not {digits!r}: {codes!r}")
        table.update(dict.fromkeys(codes.split(), digits))
    return MappingProxyType(dict(sorted(table.items())))


def read_limits(source: str, origin: str = "handler") -> HandlerLimits:
    """The limits ``source`` (the handler module's text) defines, without executing it.

    ``HandlerUnavailable`` names the limit that is missing, not a literal, or of the wrong type.
    """
    try:
        assignments = _assignments(parsed(source))
    except SyntaxError as error:
        raise HandlerUnavailable(f"{origin}: not valid Python (line {error.lineno}: {error.msg})") from None
    values: dict[str, Any] = {}
    for name, (field, kind) in _LIMITS.items():
        if name not in assignments:
            raise HandlerUnavailable(f"{origin}: no module-level {name}; the template reads it from the handler")
        try:
            value = _literal(assignments[name])
        except (ValueError, TypeError, SyntaxError, InvalidOperation):
            raise HandlerUnavailable(f"{origin}: {name} must be a literal (or Decimal(\"<literal>\") for "
                                     "MAX_AMOUNT), so it can be read without importing the handler") from None
        if kind is Decimal and isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise HandlerUnavailable(f"{origin}: {name} is {type(value).__name__}; accepted: {kind.__name__}")
        values[field] = _currency_table(value, origin) if kind is dict else value
    return HandlerLimits(**values)


@dataclass(frozen=True)
class HandlerArtifact:
    """The handler as the template ships it: its source text and the limits that source defines."""

    source: str
    limits: HandlerLimits
    #: Where the source came from (a path, for messages); not part of the template.
    origin: str = "handler/app.py"

    @classmethod
    def from_source(cls, source: str, origin: str = "handler/app.py") -> HandlerArtifact:
        """The artifact for ``source``; ``HandlerUnavailable`` if its limits cannot be read."""
        return cls(source, read_limits(source, origin), origin)

    @classmethod
    def from_path(cls, path: Path) -> HandlerArtifact:
        """Read the handler at ``path`` (the one read of it); ``HandlerUnavailable`` with the reason."""
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise HandlerUnavailable(f"cannot read the handler at {path} ({reason}); run from a checkout "
                                     "of webhook-templates (handler/app.py), install its wheel or sdist "
                                     "(they ship the handler), or set WEBHOOK_HANDLER_PATH to the "
                                     "handler's file") from None
        return cls.from_source(source, str(path))

    def inline_code(self) -> str:
        """The source as the template inlines it (``inline_source``)."""
        return inline_source(self.source)
