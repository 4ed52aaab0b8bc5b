"""account-setup.json: API Gateway's logging role and account setting, once per account and region."""

from __future__ import annotations

from typing import Any

import pytest
from template_helpers import PSEUDO, allowed, props, resolve

from webhook_templates.handoff.render import template_dict
from webhook_templates.stack import account_setup, naming


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return template_dict(account_setup.build_account_template())


@pytest.fixture(scope="module")
def resources(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["Resources"])


def test_no_parameters_or_conditions(body: dict[str, Any]) -> None:
    assert list(body) == ["AWSTemplateFormatVersion", "Description", "Resources"]


def test_the_deploy_command_acknowledges_what_the_template_needs() -> None:
    assert account_setup.capabilities() == ["CAPABILITY_IAM"]
    assert account_setup.deploy_command("build/account-setup.json") == (
        "aws cloudformation deploy --template-file build/account-setup.json --stack-name webhook-account-setup "
        "--capabilities CAPABILITY_IAM")


def test_the_role_is_the_accounts_setting_and_nothing_else(resources: dict[str, Any]) -> None:
    assert {logical_id: r["Type"] for logical_id, r in resources.items()} == {
        naming.LOGGING_ROLE_ID: "AWS::IAM::Role", naming.API_ACCOUNT_ID: "AWS::ApiGateway::Account"}
    assert props(resources, naming.API_ACCOUNT_ID)["CloudWatchRoleArn"] == {
        "Fn::GetAtt": [naming.LOGGING_ROLE_ID, "Arn"]}
    assert all("Condition" not in r for r in resources.values())
    assert "ManagedPolicyArns" not in props(resources, naming.LOGGING_ROLE_ID)
    assert "RoleName" not in props(resources, naming.LOGGING_ROLE_ID)  # CAPABILITY_IAM, not NAMED_IAM


def _logging_role_policy(resources: dict[str, Any]) -> dict[str, Any]:
    (policy,) = props(resources, naming.LOGGING_ROLE_ID)["Policies"]
    return resolve(policy["PolicyDocument"], {})


def test_account_logging_role_only_pushes_logs(resources: dict[str, Any]) -> None:
    (statement,) = _logging_role_policy(resources)["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]


def test_account_logging_role_writes_execution_and_webhook_access_logs_only(resources: dict[str, Any]) -> None:
    policy = _logging_role_policy(resources)
    groups = f"arn:aws:logs:{PSEUDO['AWS::Region']}:{PSEUDO['AWS::AccountId']}:log-group:"
    execution = groups + "API-Gateway-Execution-Logs_a1b2c3d4e5/dev"
    access = groups + "/aws/apigateway/webhook-api-staging"  # any environment's stack may rely on it
    for group in (execution, access):
        assert allowed(policy, "logs:CreateLogStream", None, {}, group)
        assert allowed(policy, "logs:PutLogEvents", None, {}, group + ":log-stream:2026-01-01")
        assert not allowed(policy, "logs:GetLogEvents", None, {}, group + ":log-stream:2026-01-01")
        assert not allowed(policy, "logs:FilterLogEvents", None, {}, group)
    assert allowed(policy, "logs:CreateLogGroup", None, {}, execution)
    for elsewhere in (groups + "/aws/lambda/webhook-processor-dev", groups + "audit",
                      f"arn:aws:logs:{PSEUDO['AWS::Region']}:444455556666:log-group:API-Gateway-Execution-Logs_x/dev"):
        assert not allowed(policy, "logs:PutLogEvents", None, {}, elsewhere + ":log-stream:s"), elsewhere
    assert not allowed(policy, "logs:DescribeLogGroups", None, {}, "*")


def test_only_api_gateway_acting_for_this_account_assumes_the_role(resources: dict[str, Any]) -> None:
    trust = resolve(props(resources, naming.LOGGING_ROLE_ID)["AssumeRolePolicyDocument"], {})
    service = ("Service", "apigateway.amazonaws.com")
    assert allowed(trust, "sts:AssumeRole", service, {"aws:SourceAccount": PSEUDO["AWS::AccountId"]})
    assert not allowed(trust, "sts:AssumeRole", service, {"aws:SourceAccount": "444455556666"})
    assert not allowed(trust, "sts:AssumeRole", service, {})
    assert not allowed(trust, "sts:AssumeRole", ("Service", "lambda.amazonaws.com"),
                       {"aws:SourceAccount": PSEUDO["AWS::AccountId"]})
