"""Checkov checks that do not fit this design, each skipped on one resource with its reason.

The skip lives in that resource's ``Metadata`` (where checkov reads it and a
reader of the template sees it).  HANDOFF.md lists the skips it finds in the
template; the README's hand-written table is checked against ``ALL`` by a test.
"""

from __future__ import annotations

from typing import Any

DEAD_LETTER_QUEUE = (
    "CKV_AWS_116",
    "Invoked synchronously: a failed delivery gets a 5xx and the sender retries (its retry queue is the DLQ).",
)
VPC = (
    "CKV_AWS_117",
    "Calls only AWS APIs: a VPC adds NAT or endpoint cost and cold-start latency, not safety.",
)
OPEN_METHOD = (
    "CKV_AWS_59",
    "Senders cannot use SigV4 or Cognito: the function checks each request's Standard Webhooks HMAC.",
)
CACHING = (
    "CKV_AWS_120",
    "A webhook POST must never be answered from a cache.",
)


def checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    """Resource ``Metadata`` that makes checkov skip ``skips`` (check id, reason)."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


#: Every skip the template uses, for the README and the handoff document.
ALL: tuple[tuple[str, str], ...] = (DEAD_LETTER_QUEUE, VPC, OPEN_METHOD, CACHING)
