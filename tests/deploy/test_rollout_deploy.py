"""Releases through deploy: rollback triggers on the change set, CodeDeploy's traffic-shifting progress.

Against moto's server, the change set request the CLI really sends is captured
with a botocore ``provide-client-params`` hook on the CLI's own session; CodeDeploy
states moto cannot reach (stopped on alarm, rolled back) use ``Stubber``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from deploy_testkit import MOTO_SKIPS_TYPES, Result, parameters_with

from webhook_templates.config import EnvironmentConfig
from webhook_templates.deploy import commands, rollout
from webhook_templates.handoff.procedure import Procedure
from webhook_templates.stack import naming

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
STACK = "webhook-staging"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def change_set_requests(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parameters of every ``CreateChangeSet`` the CLI sends, as sent."""
    sent: list[dict[str, Any]] = []
    original = commands.session

    def session(region: str | None, profile: str | None = None) -> Any:
        aws = original(region, profile)
        aws.events.register("provide-client-params.cloudformation.CreateChangeSet",
                            lambda params, **_: sent.append(copy.deepcopy(params)))
        return aws

    monkeypatch.setattr(commands, "session", session)
    return sent


def test_first_deploy_sends_no_triggers_and_the_update_sends_the_rollback_alarms(
    aws: Clients, run: Run, change_set_requests: list[dict[str, Any]], build_dir: Path, tmp_path: Path
) -> None:
    first = run("deploy", "--env", "staging", "--yes")
    assert first.code == 0, first.err
    assert "RollbackConfiguration" not in change_set_requests[0]
    assert "Rollback triggers: none yet" in first.out

    update = run("deploy", "--env", "staging", "--yes",
                 "--parameters", parameters_with(build_dir, tmp_path, LambdaMemorySize="512"))

    assert update.code == 0, update.err
    alarms = {alarm["AlarmName"]: alarm["AlarmArn"] for alarm in aws("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert change_set_requests[1]["RollbackConfiguration"] == {
        "RollbackTriggers": [{"Arn": alarms[f"{STACK}-FunctionErrors"], "Type": "AWS::CloudWatch::Alarm"},
                             {"Arn": alarms[f"{STACK}-Api5xxRate"], "Type": "AWS::CloudWatch::Alarm"}],
        "MonitoringTimeInMinutes": 5,  # staging's rollback_monitoring_minutes
    }
    assert "Rollback triggers: webhook-staging-FunctionErrors, webhook-staging-Api5xxRate" in update.out


def test_a_configuration_change_publishes_a_version_that_codedeploy_shifts_the_alias_to(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    lam = aws("lambda")
    before = lam.get_alias(FunctionName="webhook-processor-staging", Name="live")["FunctionVersion"]
    group = aws("codedeploy").get_deployment_group(applicationName="webhook-processor-staging",
                                                   deploymentGroupName="live")["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"

    update = run("deploy", "--env", "staging", "--yes",
                 "--parameters", parameters_with(build_dir, tmp_path, LambdaMemorySize="512"))

    assert update.code == 0, update.err
    after = lam.get_alias(FunctionName="webhook-processor-staging", Name="live")["FunctionVersion"]
    assert after != before
    published = lam.get_function(FunctionName="webhook-processor-staging", Qualifier=after)
    assert published["Configuration"]["MemorySize"] == 512
    (shift,) = [line for line in update.out.splitlines() if "traffic shifting" in line]
    assert ("Succeeded (CodeDeployDefault.LambdaLinear10PercentEvery1Minute): "
            "the live alias serves the new version") in shift


def test_an_unchanged_redeploy_publishes_nothing(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    again = run("deploy", "--env", "staging", "--yes")

    assert "up to date" in again.out
    versions = aws("lambda").list_versions_by_function(FunctionName="webhook-processor-staging")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


# --- the pieces, on real-AWS-shaped responses ----------------------------------------

STACK_ID = "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/webhook-prod/0000"


def test_alarm_arns_use_the_stacks_partition_region_and_account() -> None:
    assert rollout.alarm_arn(STACK_ID, "webhook-prod-FunctionErrors") == (
        "arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:webhook-prod-FunctionErrors")


def test_read_takes_only_the_rollback_alarms_that_exist() -> None:
    cfn = boto3.client("cloudformation", region_name="us-gov-west-1")

    def summary(logical_id: str, resource_type: str, physical_id: str,
                status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
        return {"LogicalResourceId": logical_id, "PhysicalResourceId": physical_id, "ResourceType": resource_type,
                "LastUpdatedTimestamp": NOW, "ResourceStatus": status}

    with Stubber(cfn) as stubber:
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": [
            summary(naming.FUNCTION_ERRORS_ALARM_ID, "AWS::CloudWatch::Alarm", "webhook-prod-FunctionErrors"),
            summary(naming.API_5XX_ALARM_ID, "AWS::CloudWatch::Alarm", "webhook-prod-Api5xxRate", "DELETE_COMPLETE"),
            summary("FunctionThrottlesAlarm", "AWS::CloudWatch::Alarm", "webhook-prod-FunctionThrottles"),
            summary(naming.CODEDEPLOY_APPLICATION_ID, "AWS::CodeDeploy::Application", "webhook-processor-prod"),
            summary(naming.DEPLOYMENT_GROUP_ID, "AWS::CodeDeploy::DeploymentGroup", "live"),
        ]}, {"StackName": STACK_ID})

        stack = rollout.read(cfn, STACK_ID)

    assert stack == rollout.StackRollout(
        ("arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:webhook-prod-FunctionErrors",),
        "webhook-processor-prod", "live")
    procedure = Procedure.of(EnvironmentConfig(name="prod", rollback_monitoring_minutes=10), [])
    assert procedure.rollback_configuration(stack.alarm_arns) == {
        "RollbackTriggers": [{"Arn": stack.alarm_arns[0], "Type": "AWS::CloudWatch::Alarm"}],
        "MonitoringTimeInMinutes": 10}
    assert procedure.rollback_configuration(rollout.StackRollout().alarm_arns) is None


def _deployment(status: str, **extra: Any) -> dict[str, Any]:
    return {"deploymentInfo": {"deploymentId": "d-NEW", "status": status,
                               "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes", **extra}}


def test_traffic_shift_reports_each_new_status_once_and_ignores_earlier_releases() -> None:
    codedeploy = boto3.client("codedeploy", region_name="us-east-1")
    stack = rollout.StackRollout((), "webhook-processor-prod", "live")
    listed = {"applicationName": "webhook-processor-prod", "deploymentGroupName": "live",
              "createTimeRange": {"start": datetime(2024, 12, 31, 23, 50, tzinfo=UTC)}}
    with Stubber(codedeploy) as stubber:
        stubber.add_response("list_deployments", {"deployments": ["d-OLD"]}, listed)  # before the update
        for status in ("InProgress", "InProgress"):
            stubber.add_response("list_deployments", {"deployments": ["d-OLD", "d-NEW"]}, listed)
            stubber.add_response("get_deployment", _deployment(status), {"deploymentId": "d-NEW"})
        stubber.add_response("list_deployments", {"deployments": ["d-OLD", "d-NEW"]}, listed)
        stubber.add_response("get_deployment", _deployment(
            "Stopped", errorInformation={"code": "ALARM_ACTIVE", "message": "One or more alarms have been activated"},
            rollbackInfo={"rollbackDeploymentId": "d-BACK", "rollbackMessage": "Automatic rollback on alarm"},
        ), {"deploymentId": "d-NEW"})

        watch = rollout.TrafficShift.start(codedeploy, stack, now=NOW)
        polls = [watch.poll() for _ in range(3)]

    assert polls[0] == [
        "traffic shifting: CodeDeploy d-NEW InProgress (CodeDeployDefault.LambdaCanary10Percent5Minutes)"]
    assert polls[1] == []
    assert polls[2] == [
        "traffic shifting: CodeDeploy d-NEW Stopped (CodeDeployDefault.LambdaCanary10Percent5Minutes): ALARM_ACTIVE: "
        "One or more alarms have been activated; rolled back (d-BACK: Automatic rollback on alarm)"]


def test_unreadable_codedeploy_is_said_once_and_does_not_fail_the_deploy() -> None:
    codedeploy = boto3.client("codedeploy", region_name="us-east-1")
    stack = rollout.StackRollout((), "webhook-processor-prod", "live")
    with Stubber(codedeploy) as stubber:
        stubber.add_client_error("list_deployments", "AccessDeniedException", "not authorized")

        watch = rollout.TrafficShift.start(codedeploy, stack, now=NOW)
        polls = [watch.poll(), watch.poll()]

    assert len(polls[0]) == 1 and "cannot read CodeDeploy" in polls[0][0] and "not authorized" in polls[0][0]
    assert polls[1] == []
