"""HANDOFF.md's "Reading new transactions" section: how a consumer subscribes to the stream.

The facts (the parameter that turns the stream on, its view type, the output
naming its ARN, the key that encrypts it) are read from the template; the prose
and commands are the template file ``section-stream.md.j2``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awacs import awsencode

from ..stack import naming
from ..stack.policies import read_transaction_stream

#: Only transactions: an older version still writing its markers during the upgrade's
#: traffic shift puts ``recordType = delivery`` items into the stream too.
FILTER = {"Filters": [{"Pattern": json.dumps(
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"recordType": {"S": ["transaction"]}}}},
    separators=(",", ":"))}]}


def _stream_output(body: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The output whose value is the transactions table's stream ARN, if the template has one."""
    for key, output in body.get("Outputs", {}).items():
        if output.get("Value") == {"Fn::GetAtt": [naming.TABLE_ID, "StreamArn"]}:
            return key, output
    return None


def facts(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """What ``section-stream.md.j2`` needs, or None for a template without a transaction stream."""
    found = _stream_output(body)
    if found is None:
        return None
    output_key, output = found
    table = body["Resources"][naming.TABLE_ID]["Properties"]
    condition, view, _ = table["StreamSpecification"]["Fn::If"]
    (parameter,) = [ref["Ref"] for ref in body["Conditions"][condition]["Fn::Equals"] if isinstance(ref, dict)]
    policy = read_transaction_stream("<TransactionStreamArn>", "arn:aws:kms:<region>:<account>:key/<KmsKeyId>")
    return {
        "parameter": parameter,
        "view": view["StreamViewType"],
        "output": output_key,
        "condition": output.get("Condition", condition),
        "table": f"{naming.TABLE}-<env>",
        "policy": json.dumps(policy, cls=awsencode, indent=2),
        "filter": json.dumps(FILTER),
    }

