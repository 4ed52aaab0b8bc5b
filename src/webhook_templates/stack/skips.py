"""Checkov checks that do not fit this design, each skipped on one resource with its reason.

The skip lives in that resource's ``Metadata`` (where checkov reads it and a
reader of the template sees it).  HANDOFF.md lists the skips it finds in the
template; the README's hand-written table is checked against ``ALL`` by a test.
"""

from __future__ import annotations

from typing import Any

DEAD_LETTER_QUEUE = (
    "CKV_AWS_116",
    "API Gateway invokes the function synchronously; a failed delivery gets a 5xx and the "
    "sender retries, so the sender's retry queue is the dead-letter queue (DLQs only apply "
    "to asynchronous invocations).",
)
VPC = (
    "CKV_AWS_117",
    "The function calls only AWS APIs (DynamoDB, Secrets Manager, KMS, X-Ray); a VPC would add "
    "NAT or endpoint cost and cold-start latency without reducing exposure.",
)
OPEN_METHOD = (
    "CKV_AWS_59",
    "Webhook senders cannot sign with SigV4 or hold Cognito tokens; every request is "
    "authenticated by its Standard Webhooks HMAC signature in the function and throttled "
    "at the stage.",
)
CACHING = (
    "CKV_AWS_120",
    "A POST webhook must never be answered from a cache: every delivery has to reach the "
    "function and be stored.",
)


def checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    """Resource ``Metadata`` that makes checkov skip ``skips`` (check id, reason)."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


#: Every skip the template uses, for the README and the handoff document.
ALL: tuple[tuple[str, str], ...] = (DEAD_LETTER_QUEUE, VPC, OPEN_METHOD, CACHING)
