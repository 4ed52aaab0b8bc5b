"""The webhook's request contract, derived from the handler's own limits.

API Gateway validates bodies against ``request_schema(limits)`` before Lambda
runs, and ``make serve`` applies the same schema and size limit locally, so a
payload is accepted or rejected the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from .handler_artifact import HandlerLimits

CONTENT_TYPE = "application/json"
#: API Gateway's own rejections answer in the handler's error format, so senders
#: parse one shape: ``{"error": <code>, "message": <text>}`` (gateway response type -> code, message).
GATEWAY_ERRORS = {
    "BAD_REQUEST_BODY": ("validation_failed", "$context.error.validationErrorString"),
    "THROTTLED": ("rate_limited", "Too many requests; retry later"),
    "REQUEST_TOO_LARGE": ("payload_too_large", "$context.error.message"),
    "DEFAULT_4XX": ("request_rejected", "$context.error.message"),
    "DEFAULT_5XX": ("gateway_error", "$context.error.message"),
}


def request_schema(limits: HandlerLimits) -> dict[str, Any]:
    """JSON Schema (draft 4, as API Gateway models require) for a transaction body within ``limits``.

    It checks shape and types only; exact-decimal amounts, per-currency minor
    units and size bounds need the handler's parser.
    """
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Transaction",
        "type": "object",
        "required": ["transactionId", "amount", "currency"],
        "properties": {
            "transactionId": {
                "type": "string",
                "minLength": 1,
                "maxLength": limits.transaction_id_max_length,
                "pattern": limits.transaction_id_pattern,
            },
            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True,
                       "maximum": int(limits.max_amount)},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "status": {"type": "string", "enum": list(limits.statuses)},
            # The handler treats null metadata as absent, so the gateway must let it through.
            "metadata": {"type": ["object", "null"]},
        },
    }
