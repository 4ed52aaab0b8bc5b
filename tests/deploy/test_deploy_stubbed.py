"""The deploy flow on real-AWS-shaped responses (botocore ``Stubber``): what moto cannot emulate.

Replacement flags, rollback and rollback-failure states, a stack left by a
failed first deploy, and CloudFormation's own "no changes" answer.  Each test
lists the exact calls the deploy makes, so an unexpected call fails it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_shapes import (
    ALARM_ARNS,
    CHANGE_SET,
    STACK_ID,
    STACK_NAME,
    change_set,
    event,
    events,
    resource_change,
    stack,
    stack_resources,
)
from botocore.stub import ANY, Stubber

from support.environments import SHIPPED as ENVIRONMENTS
from webhook_templates import data_guard
from webhook_templates.deploy.console import Console
from webhook_templates.deploy.flow import Deployer, DeployRequest, PollSettings
from webhook_templates.deploy.inputs import TemplateSource

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
OLD_STACK_ID = STACK_ID.replace("0001", "0009")
FULL_POLICY = json.dumps(data_guard.stack_policy())
COMPACT_POLICY = json.dumps(data_guard.stack_policy(), separators=(",", ":"))
TABLE_ALLOWED = frozenset({"TransactionsTable"})
LIFTED_POLICY = json.dumps(data_guard.stack_policy(allowed=TABLE_ALLOWED))


#: The smallest template that needs CAPABILITY_NAMED_IAM, as the real one does.
NAMED_ROLE_TEMPLATE = '{"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}}}'


@dataclass
class Deploy:
    """A stubbed CloudFormation client and what a deploy through it printed."""

    cfn: Any
    stubber: Stubber
    tmp_path: Path
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)

    def expect(self, operation: str, response: dict[str, Any], **params: Any) -> None:
        self.stubber.add_response(operation, response, params)

    def run(self, env: str = "staging", colour: bool = False, **options: Any) -> int:
        request = DeployRequest(
            stack_name=STACK_NAME, environment=ENVIRONMENTS[env],
            template=TemplateSource(Path("template.json"), NAMED_ROLE_TEMPLATE), parameters=[],
            outputs_file=self.tmp_path / "flat-outputs.json", **options,
        )
        console = Console(out=self.out, err=self.err, stdin=io.StringIO(""), colour=colour)
        deployer = Deployer(self.cfn, console, PollSettings(poll_seconds=0),
                            upload=lambda template: pytest.fail("no upload expected"))
        return deployer.deploy(request)

    # The usual openings, in the order the deploy makes the calls.
    def existing_stack(self, status: str = "UPDATE_COMPLETE") -> None:
        self.expect("describe_stacks", stack(status), StackName=STACK_NAME)

    def change_set_requested(self, kind: str = "UPDATE", status: str = "CREATE_COMPLETE", reason: str = "",
                             monitoring: int = 5, alarms: bool = True, **request: Any) -> None:
        """An UPDATE reads the stack's alarms first and passes them as rollback triggers,
        with the environment's monitoring time (staging: 5 minutes)."""
        rollback: dict[str, Any] = {}
        if kind == "UPDATE":
            self.expect("list_stack_resources", stack_resources(alarms), StackName=STACK_ID)
            if alarms:
                rollback = {"RollbackConfiguration": {
                    "RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"} for arn in ALARM_ARNS],
                    "MonitoringTimeInMinutes": monitoring}}
        self.expect("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID}, StackName=STACK_NAME,
                    ChangeSetName=ANY, ChangeSetType=kind, TemplateBody=ANY, Parameters=[],
                    Capabilities=["CAPABILITY_NAMED_IAM"], Description=ANY, **{"Tags": [], **rollback, **request})
        self.expect("describe_change_set", change_set(status, reason), ChangeSetName=CHANGE_SET)  # computed?

    def change_set_created(self, kind: str = "UPDATE", *changes: dict[str, Any], monitoring: int = 5,
                           alarms: bool = True) -> None:
        self.change_set_requested(kind, monitoring=monitoring, alarms=alarms)
        self.expect("describe_change_set", change_set(changes=list(changes)), ChangeSetName=CHANGE_SET)

    def executed(self, policy: str = FULL_POLICY) -> None:
        self.expect("describe_stack_events", events(event(0, STACK_NAME, "UPDATE_COMPLETE")), StackName=STACK_ID)
        self.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=policy)
        self.expect("execute_change_set", {}, ChangeSetName=CHANGE_SET, RetainExceptOnCreate=True)

    def discarded_first_deploy(self) -> None:
        """A CREATE change set deleted, then its stack, once checked to be an unused empty shell."""
        self.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)
        self.expect("describe_stacks", stack("REVIEW_IN_PROGRESS"), StackName=STACK_ID)
        self.expect("list_change_sets", {"Summaries": []}, StackName=STACK_ID)
        self.expect("delete_stack", {}, StackName=STACK_ID)

    def converged(self, policy: str | None = None, status: str = "UPDATE_COMPLETE", **extra: Any) -> None:
        """The stack read, its policy read (and set unless already ``policy``); the outputs come from the read."""
        self.expect("describe_stacks", stack(status, Outputs=[
            {"OutputKey": "TableName", "OutputValue": "transactions-staging"}], **extra), StackName=STACK_ID)
        self.expect("get_stack_policy", {"StackPolicyBody": policy} if policy else {}, StackName=STACK_ID)
        if policy != FULL_POLICY:
            self.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=COMPACT_POLICY)


@pytest.fixture
def stubbed(tmp_path: Path) -> Iterator[Deploy]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        yield Deploy(cfn, stubber, tmp_path)
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("replacement", "says"), [
    ("True", "would be replaced by a new, empty resource, because of a change to KeySchema"),
    ("Conditional", "may be replaced by a new, empty resource (Replacement: Conditional), because of a change"),
])
def test_guard_refuses_a_replaced_table_and_deletes_the_change_set(
    stubbed: Deploy, replacement: str, says: str
) -> None:
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "TransactionsTable", "AWS::DynamoDB::Table",
                                                         replacement, recreate="KeySchema"))
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(assume_yes=True) == 3
    assert f"TransactionsTable (AWS::DynamoDB::Table) {says}" in stubbed.err.getvalue()
    assert "--allow-replacement TransactionsTable" in stubbed.err.getvalue()


def test_guard_refuses_a_dynamic_change_to_the_table(stubbed: Deploy) -> None:
    """``Dynamic``: CloudFormation decides while executing, so the guard cannot know the data is kept."""
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Dynamic", "TransactionsTable", "AWS::DynamoDB::Table",
                                                         "Conditional"))
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(assume_yes=True) == 3
    assert "TransactionsTable (AWS::DynamoDB::Table) has action Dynamic" in stubbed.err.getvalue()


def test_guard_refuses_a_data_type_under_a_platform_teams_own_logical_id(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "AuditKey", "AWS::KMS::Key", "True"))
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(assume_yes=True) == 3
    assert "AuditKey (AWS::KMS::Key) would be replaced" in stubbed.err.getvalue()


def test_a_stack_left_rolled_back_by_a_failed_first_deploy_is_deleted_then_created(stubbed: Deploy) -> None:
    stubbed.expect("describe_stacks", stack("ROLLBACK_COMPLETE", OLD_STACK_ID), StackName=STACK_NAME)
    stubbed.expect("delete_stack", {}, StackName=OLD_STACK_ID)
    stubbed.expect("describe_stacks", stack("DELETE_COMPLETE", OLD_STACK_ID), StackName=OLD_STACK_ID)
    stubbed.change_set_created("CREATE", resource_change("Add", "TransactionsTable", "AWS::DynamoDB::Table"))
    # No terminal and no --yes: refused, and the new REVIEW_IN_PROGRESS shell goes too.
    stubbed.discarded_first_deploy()

    assert stubbed.run() == 3
    assert "ROLLBACK_COMPLETE: its first deploy failed" in stubbed.out.getvalue()


def test_a_stack_left_in_review_gets_a_create_change_set(stubbed: Deploy) -> None:
    stubbed.existing_stack("REVIEW_IN_PROGRESS")
    stubbed.change_set_created("CREATE", resource_change("Add", "TransactionsTable", "AWS::DynamoDB::Table"))
    stubbed.discarded_first_deploy()

    assert stubbed.run(dry_run=True) == 0
    assert "Dry run: nothing executed" in stubbed.out.getvalue()


def test_a_failed_change_set_that_didnt_contain_changes_means_up_to_date(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_requested("UPDATE", "FAILED", NO_CHANGES)
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)
    stubbed.converged(policy=FULL_POLICY)

    assert stubbed.run(assume_yes=True) == 0
    assert "up to date" in stubbed.out.getvalue()
    assert json.loads((stubbed.tmp_path / "flat-outputs.json").read_text()) == {"TableName": "transactions-staging"}


def test_no_updates_validation_error_also_means_up_to_date(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.expect("list_stack_resources", stack_resources(), StackName=STACK_ID)
    stubbed.stubber.add_client_error("create_change_set", "ValidationError", "No updates are to be performed.")
    stubbed.converged(policy=FULL_POLICY)

    assert stubbed.run(assume_yes=True) == 0
    assert "up to date" in stubbed.out.getvalue()


def test_a_change_set_failing_for_another_reason_fails_the_deploy(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_requested("UPDATE", "FAILED", "Template format error: Unresolved dependencies [X]")
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(assume_yes=True) == 1
    assert "Template format error: Unresolved dependencies [X]" in stubbed.err.getvalue()


def test_failed_update_names_the_root_cause_and_how_to_continue_a_failed_rollback(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "TransactionsTable", "AWS::DynamoDB::Table",
                                                         "True", recreate="KeySchema"))
    stubbed.executed(policy=LIFTED_POLICY)
    stubbed.expect("describe_stacks", stack("UPDATE_ROLLBACK_IN_PROGRESS"), StackName=STACK_ID)
    stubbed.expect("describe_stack_events", events(
        event(0, STACK_NAME, "UPDATE_COMPLETE"),
        event(1, "TransactionsTable", "UPDATE_IN_PROGRESS", resource_type="AWS::DynamoDB::Table"),
        event(2, "TransactionsTable", "UPDATE_FAILED", "transactions-staging already exists",
              resource_type="AWS::DynamoDB::Table"),
        event(3, STACK_NAME, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "
              "[TransactionsTable]."),
    ), StackName=STACK_ID)
    stubbed.expect("describe_stacks", stack("UPDATE_ROLLBACK_FAILED"), StackName=STACK_ID)
    stubbed.expect("describe_stack_events", events(
        event(3, STACK_NAME, "UPDATE_ROLLBACK_IN_PROGRESS"),
        event(4, "WebhookFunction", "UPDATE_FAILED", "Role webhook-lambda-role-staging was deleted"),
        event(5, STACK_NAME, "UPDATE_ROLLBACK_FAILED"),
    ), StackName=STACK_ID)
    stubbed.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=COMPACT_POLICY)  # put back

    assert stubbed.run(assume_yes=True, allow_replacement=TABLE_ALLOWED) == 1
    err = stubbed.err.getvalue()
    assert ("Root cause: TransactionsTable (AWS::DynamoDB::Table) UPDATE_FAILED: "
            "transactions-staging already exists") in err
    assert "aws cloudformation continue-update-rollback --stack-name webhook-staging" in err
    assert "UPDATE_ROLLBACK_FAILED" in stubbed.out.getvalue()


def _table_replacement_lifted(stubbed: Deploy) -> None:
    """An UPDATE replacing the table, allowed: the policy is lifted just before executing."""
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "TransactionsTable", "AWS::DynamoDB::Table",
                                                         "True", recreate="KeySchema"))
    stubbed.expect("describe_stack_events", events(event(0, STACK_NAME, "UPDATE_COMPLETE")), StackName=STACK_ID)
    stubbed.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=LIFTED_POLICY)


def test_a_change_set_cloudformation_will_not_execute_is_deleted_and_the_policy_put_back(stubbed: Deploy) -> None:
    _table_replacement_lifted(stubbed)
    stubbed.stubber.add_client_error(
        "execute_change_set", "InvalidChangeSetStatus",
        "ChangeSet [webhook-templates-20250101-000000-abcdef] cannot be executed in its current status of [OBSOLETE]",
        expected_params={"ChangeSetName": CHANGE_SET, "RetainExceptOnCreate": True})
    # Described again: OBSOLETE, so it never ran and never will.
    stubbed.expect("describe_change_set", {**change_set("CREATE_COMPLETE"), "ExecutionStatus": "OBSOLETE"},
                   ChangeSetName=CHANGE_SET)
    stubbed.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=COMPACT_POLICY)  # put back
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(assume_yes=True, allow_replacement=TABLE_ALLOWED) == 1
    assert "cannot be executed in its current status of [OBSOLETE]" in stubbed.err.getvalue()


def test_losing_the_event_stream_mid_update_puts_the_full_policy_back_and_says_it_lost_track(
    stubbed: Deploy
) -> None:
    _table_replacement_lifted(stubbed)
    stubbed.expect("execute_change_set", {}, ChangeSetName=CHANGE_SET, RetainExceptOnCreate=True)
    stubbed.expect("describe_stacks", stack("UPDATE_IN_PROGRESS"), StackName=STACK_ID)
    stubbed.stubber.add_client_error("describe_stack_events", "Throttling", "Rate exceeded",
                                     expected_params={"StackName": STACK_ID})  # retried
    stubbed.stubber.add_client_error("describe_stack_events", "AccessDenied", "not allowed any more",
                                     expected_params={"StackName": STACK_ID})  # not retried
    stubbed.expect("set_stack_policy", {}, StackName=STACK_ID, StackPolicyBody=COMPACT_POLICY)  # put back

    assert stubbed.run(assume_yes=True, allow_replacement=TABLE_ALLOWED) == 1
    err = stubbed.err.getvalue()
    assert "Lost track of the deploy on webhook-staging: AWS error AccessDenied: not allowed any more" in err
    assert "This is not a deploy failure" in err
    assert "aws cloudformation describe-stacks --stack-name webhook-staging --region us-east-1" in err


def test_successful_prod_update_turns_termination_protection_on(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "WebhookFunction", "AWS::Lambda::Function",
                                                         "False"), monitoring=10)  # prod watches 10 minutes
    stubbed.executed()
    stubbed.expect("describe_stacks", stack("UPDATE_COMPLETE"), StackName=STACK_ID)
    stubbed.expect("describe_stack_events", events(
        event(0, STACK_NAME, "UPDATE_COMPLETE"),
        event(1, "WebhookFunction", "UPDATE_IN_PROGRESS"),
        event(2, "WebhookFunction", "UPDATE_COMPLETE"),
        event(3, STACK_NAME, "UPDATE_COMPLETE"),
    ), StackName=STACK_ID)
    stubbed.converged(policy=FULL_POLICY)  # put in place before the update
    stubbed.expect("update_termination_protection", {"StackId": STACK_ID}, StackName=STACK_ID,
                   EnableTerminationProtection=True)

    assert stubbed.run("prod", assume_yes=True) == 0
    assert "[1/1]  UPDATE_COMPLETE" in stubbed.out.getvalue()
    assert "termination protection on" in stubbed.out.getvalue()


@pytest.mark.parametrize(("status", "says"), [
    ("UPDATE_IN_PROGRESS", "another operation is running"),
    ("UPDATE_ROLLBACK_FAILED", "continue-update-rollback"),
    ("ROLLBACK_FAILED", "Delete it"),
])
def test_a_stack_no_change_set_can_start_from_fails_before_any_change(
    stubbed: Deploy, status: str, says: str
) -> None:
    stubbed.existing_stack(status)

    assert stubbed.run(assume_yes=True) == 1
    assert says in stubbed.err.getvalue()


def test_role_notification_topics_and_tags_reach_the_change_set(stubbed: Deploy) -> None:
    role, topic = "arn:aws:iam::123456789012:role/cfn-deployer", "arn:aws:sns:us-east-1:123456789012:stack-events"
    tags = ({"Key": "Owner", "Value": "platform"},)
    stubbed.existing_stack()
    stubbed.change_set_requested("UPDATE", RoleARN=role, NotificationARNs=[topic], Tags=list(tags))
    stubbed.expect("describe_change_set", change_set(changes=[resource_change("Modify", "WebhookFunction",
                                                                              "AWS::Lambda::Function", "False")]),
                   ChangeSetName=CHANGE_SET)
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)
    reports: list[dict[str, Any]] = []

    assert stubbed.run(dry_run=True, role_arn=role, notification_arns=(topic,), tags=tags,
                       report=reports.append) == 0
    assert reports == [{"stack": STACK_NAME, "environment": "staging", "changeSetType": "UPDATE", "upToDate": False,
                        "changes": [{"action": "Modify", "logicalId": "WebhookFunction",
                                     "resourceType": "AWS::Lambda::Function", "replacement": "False"}],
                        "refusedByGuard": [], "changeSet": None}]


def test_a_refused_dry_run_reports_what_the_guard_refuses(stubbed: Deploy) -> None:
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "TransactionsTable", "AWS::DynamoDB::Table", "True"))
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)
    reports: list[dict[str, Any]] = []

    assert stubbed.run(dry_run=True, report=reports.append) == 3
    assert [r["logicalId"] for r in reports[0]["refusedByGuard"]] == ["TransactionsTable"]


def test_an_update_of_a_stack_without_rollback_alarms_sends_no_rollback_triggers(stubbed: Deploy) -> None:
    """A stack deployed before the rollout existed has no alarms to name: no RollbackConfiguration."""
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "WebhookFunction", "AWS::Lambda::Function",
                                                         "False"), alarms=False)
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(dry_run=True) == 0
    assert "Rollback triggers: none yet" in stubbed.out.getvalue()


def test_only_the_guards_let_through_lines_are_warnings(stubbed: Deploy) -> None:
    """An allowed replacement is shown in yellow; a --allow-replacement that names nothing at stake is plain."""
    stubbed.existing_stack()
    stubbed.change_set_created("UPDATE", resource_change("Modify", "TransactionsTable", "AWS::DynamoDB::Table", "True"))
    stubbed.expect("delete_change_set", {}, ChangeSetName=CHANGE_SET)

    assert stubbed.run(dry_run=True, colour=True, allow_replacement=frozenset({"TransactionsTable", "SigningKey"})) == 0
    lines = stubbed.err.getvalue().splitlines()
    assert [line for line in lines if "SigningKey" in line] == [
        "note: --allow-replacement SigningKey: this change set does not remove or replace it; nothing to allow"]
    allowed = [line for line in lines if "allowed by --allow-replacement" in line]
    assert len(allowed) == 1 and allowed[0].startswith("\033[33mallowed by --allow-replacement: TransactionsTable")
