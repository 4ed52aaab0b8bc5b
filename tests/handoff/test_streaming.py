"""HANDOFF's stream section: read from the template, shown only when the template can stream."""

from __future__ import annotations

import copy
import json
from typing import Any

from webhook_templates.handoff import streaming
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack import naming


def _section(handoff: str) -> str:
    return handoff.split("## Reading new transactions: the stream", 1)[1].split("\n## ", 1)[0]


def test_the_section_names_the_parameter_output_and_what_a_consumer_needs(handoff: str) -> None:
    lines = _section(handoff)
    assert "`TransactionStream=true`" in lines and "`TransactionStreamArn`" in lines and "`NEW_IMAGE`" in lines
    assert "aws lambda create-event-source-mapping" in lines and "aws pipes create-pipe" in lines
    policy = json.loads(lines.split("```json\n", 1)[1].split("\n```", 1)[0])
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert actions == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "dynamodb:ListStreams", "kms:Decrypt"}


def test_the_filter_passes_inserted_transactions_only() -> None:
    pattern = json.loads(streaming.FILTER["Filters"][0]["Pattern"])
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"recordType": {"S": ["transaction"]}}}}


def test_no_section_for_a_template_without_the_stream_output(template: Any) -> None:
    body = copy.deepcopy(template_dict(template))
    body["Outputs"] = {k: v for k, v in body["Outputs"].items()
                       if v["Value"] != {"Fn::GetAtt": [naming.TABLE_ID, "StreamArn"]}}
    assert streaming.facts(body) is None


def test_handoff_has_the_section(handoff: str) -> None:
    assert "## Reading new transactions: the stream" in handoff
