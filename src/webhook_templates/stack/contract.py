"""The webhook's request contract, derived from the handler's own limits.

API Gateway validates bodies against ``request_schema()`` before Lambda runs,
and ``make serve`` applies the same schema and size limit locally, so a
payload is accepted or rejected the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from .packaging import handler_module

CONTENT_TYPE = "application/json"


def max_body_bytes() -> int:
    """The largest body the handler accepts (it answers 413 above it)."""
    return int(handler_module().MAX_BODY_BYTES)


def request_schema() -> dict[str, Any]:
    """JSON Schema (draft 4, as API Gateway models require) for a transaction body.

    It checks shape and types only; exact-decimal amounts, per-currency minor
    units and size bounds need the handler's parser.
    """
    handler = handler_module()
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Transaction",
        "type": "object",
        "required": ["transactionId", "amount", "currency"],
        "properties": {
            "transactionId": {
                "type": "string",
                "minLength": 1,
                "maxLength": handler.TRANSACTION_ID_MAX_LENGTH,
                "pattern": handler.TRANSACTION_ID_PATTERN,
            },
            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                       "maximum": int(handler.MAX_AMOUNT)},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "status": {"type": "string", "enum": list(handler.STATUSES)},
            # The handler treats null metadata as absent, so the gateway must let it through.
            "metadata": {"type": ["object", "null"]},
        },
    }
