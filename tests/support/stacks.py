"""What the moto-server tests read back from the emulated account, and the template they edit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

#: A client factory for the emulated account: ``aws("cloudformation")``.
Clients = Callable[[str], Any]
#: The stack ``deploy --env staging`` creates.
STAGING = "webhook-staging"


def stack(aws: Clients, name: str = STAGING) -> dict[str, Any] | None:
    """The stack called ``name`` as DescribeStacks answers, or None if there is none."""
    try:
        return aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]  # type: ignore[no-any-return]
    except ClientError:
        return None


def change_sets(aws: Clients, name: str = STAGING) -> list[str]:
    """The names of the change sets pending on the stack (none without a stack)."""
    if stack(aws, name) is None:
        return []
    return [s["ChangeSetName"] for s in aws("cloudformation").list_change_sets(StackName=name)["Summaries"]]


def without_resource(body: dict[str, Any], resource: str) -> dict[str, Any]:
    """``body`` with ``resource`` deleted and its ``Ref`` and ``GetAtt Arn`` pointed at one elsewhere,
    as a template that moved a table out of the stack would be."""
    name = f"{resource}-elsewhere"
    replacements = {"Ref": name, "Fn::GetAtt": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"}

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            if node in ({"Ref": resource}, {"Fn::GetAtt": [resource, "Arn"]}):
                return replacements[next(iter(node))]
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(item) for item in node]
        return node

    return swap({**body, "Resources": {key: value for key, value in body["Resources"].items() if key != resource}})
