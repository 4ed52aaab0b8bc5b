"""Real-AWS-shaped CloudFormation responses for the ``Stubber`` tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

STACK_NAME = "webhook-staging"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/webhook-staging/6f1c2a40-0000-4000-8000-000000000001"
CHANGE_SET = ("arn:aws:cloudformation:us-east-1:123456789012:changeSet/"
              "webhook-templates-20250101-000000-abcdef/0e4f8c1a-0000-4000-8000-000000000002")
WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def stack(status: str, stack_id: str = STACK_ID, **extra: Any) -> dict[str, Any]:
    """A ``DescribeStacks`` response for one stack."""
    return {"Stacks": [{"StackName": STACK_NAME, "StackId": stack_id, "StackStatus": status,
                        "CreationTime": WHEN, **extra}]}


def event(number: int, logical_id: str, status: str, reason: str = "",
          resource_type: str = "AWS::Lambda::Function") -> dict[str, Any]:
    """A stack event; ``logical_id`` equal to the stack name makes it the stack's own."""
    own = logical_id == STACK_NAME
    item = {"StackId": STACK_ID, "EventId": f"e{number}", "StackName": STACK_NAME, "Timestamp": WHEN,
            "LogicalResourceId": logical_id, "ResourceStatus": status,
            "ResourceType": "AWS::CloudFormation::Stack" if own else resource_type,
            "PhysicalResourceId": STACK_ID if own else f"{logical_id}-physical"}
    if reason:
        item["ResourceStatusReason"] = reason
    return item


def events(*items: dict[str, Any]) -> dict[str, Any]:
    """A ``DescribeStackEvents`` page: ``items`` given oldest first, returned newest first."""
    return {"StackEvents": list(reversed(items))}


def change_set(status: str = "CREATE_COMPLETE", reason: str = "", changes: list[dict[str, Any]] | None = None,
               ) -> dict[str, Any]:
    """A ``DescribeChangeSet`` response."""
    response: dict[str, Any] = {"ChangeSetId": CHANGE_SET, "StackId": STACK_ID, "StackName": STACK_NAME,
                                "Status": status, "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE"
                                else "UNAVAILABLE", "Changes": changes or []}
    if reason:
        response["StatusReason"] = reason
    return response


def resource_change(action: str, logical_id: str, resource_type: str, replacement: str = "",
                    recreate: str = "") -> dict[str, Any]:
    """One ``Changes`` entry; ``recreate`` names the property forcing a replacement."""
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": resource_type}
    if replacement:
        change["Replacement"] = replacement
    if recreate:
        change["Details"] = [{"Target": {"Attribute": "Properties", "Name": recreate,
                                         "RequiresRecreation": "Always"}, "Evaluation": "Static",
                              "ChangeSource": "DirectModification"}]
    return {"Type": "Resource", "ResourceChange": change}


#: The rollback alarms' ARNs in the stack's account and region (from their physical IDs).
ALARM_ARNS = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{STACK_NAME}-{name}"
              for name in ("FunctionErrors", "Api5xxRate")]


def stack_resources(with_alarms: bool = True) -> dict[str, Any]:
    """A ``ListStackResources`` page of a deployed stack: the rollout's resources and a few others."""
    def summary(logical_id: str, resource_type: str, physical_id: str) -> dict[str, Any]:
        return {"LogicalResourceId": logical_id, "PhysicalResourceId": physical_id, "ResourceType": resource_type,
                "LastUpdatedTimestamp": WHEN, "ResourceStatus": "UPDATE_COMPLETE"}

    resources = [
        summary("TransactionsTable", "AWS::DynamoDB::Table", "transactions-staging"),
        summary("CodeDeployApplication", "AWS::CodeDeploy::Application", "webhook-processor-staging"),
        summary("DeploymentGroup", "AWS::CodeDeploy::DeploymentGroup", "live"),
        summary("FunctionThrottlesAlarm", "AWS::CloudWatch::Alarm", f"{STACK_NAME}-FunctionThrottles"),
    ]
    if with_alarms:
        resources += [summary("FunctionErrorsAlarm", "AWS::CloudWatch::Alarm", f"{STACK_NAME}-FunctionErrors"),
                      summary("Api5xxRateAlarm", "AWS::CloudWatch::Alarm", f"{STACK_NAME}-Api5xxRate")]
    return {"StackResourceSummaries": resources}
