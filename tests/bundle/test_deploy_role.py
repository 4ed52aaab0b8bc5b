"""``deploy-role-policy.json``: every action the template's types need, scoped, and no wildcard action."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from webhook_templates.handoff import deploy_role
from webhook_templates.handoff.render import RenderedFile


def policy(files: dict[str, RenderedFile]) -> dict[str, Any]:
    return dict(json.loads(files[deploy_role.NAME].content))


def granted(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def test_every_action_the_registry_schemas_list_is_granted(
    files: dict[str, RenderedFile], body: dict[str, Any]
) -> None:
    needed = deploy_role.handler_permissions(deploy_role.resource_types(body))
    # The ones any reader would expect, so an empty schema lookup cannot pass.
    assert {"dynamodb:CreateTable", "dynamodb:DeleteTable", "lambda:CreateFunction", "iam:PassRole",
            "kms:CreateKey", "logs:CreateLogGroup", "secretsmanager:CreateSecret", "apigateway:POST",
            "cloudwatch:PutMetricAlarm"} <= needed
    assert granted(policy(files)) == needed


def test_no_action_is_a_wildcard_and_only_resource_less_actions_get_star(files: dict[str, RenderedFile]) -> None:
    document = policy(files)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, action
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= deploy_role.UNSCOPED, statement["Sid"]


def test_scoped_services_name_this_stack(files: dict[str, RenderedFile]) -> None:
    resources = {statement["Sid"]: statement["Resource"] for statement in policy(files)["Statement"]}
    assert resources["DynamodbOnThisStack"][0] == "arn:aws:dynamodb:*:*:table/transactions-*"
    assert resources["LambdaOnThisStack"] == ["arn:aws:lambda:*:*:function:webhook-processor-*"]
    assert "arn:aws:iam::*:role/webhook-lambda-role-*" in resources["IamOnThisStack"]
    assert resources["SecretsmanagerOnThisStack"] == ["arn:aws:secretsmanager:*:*:secret:webhook-signing-secret-*"]
    assert set(resources["LogsOnThisStack"]) == {"arn:aws:logs:*:*:log-group:/aws/lambda/webhook-processor-*",
                                                 "arn:aws:logs:*:*:log-group:/aws/apigateway/webhook-api-*"}


def test_provisioned_concurrency_on_the_alias_is_granted_on_this_stacks_function(
    files: dict[str, RenderedFile]
) -> None:
    """The alias's registry schema brings these, so an environment may turn provisioned concurrency on
    (and off) with the same role; the function scope covers the alias's qualified ARN."""
    (lambda_statement,) = [st for st in policy(files)["Statement"] if st["Sid"] == "LambdaOnThisStack"]
    assert {"lambda:PutProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig"} <= set(lambda_statement["Action"])
    alias_arn = "arn:aws:lambda:eu-west-1:123456789012:function:webhook-processor-prod:live"
    assert any(fnmatch.fnmatchcase(alias_arn, pattern) for pattern in lambda_statement["Resource"])


def test_a_service_without_a_scope_is_an_error_not_a_wildcard(body: dict[str, Any]) -> None:
    extended = {**body, "Resources": {**body["Resources"], "Queue": {"Type": "AWS::SQS::Queue"}}}
    with pytest.raises(ValueError, match="no resource scope for sqs"):
        deploy_role.deploy_role_policy(extended)


def test_the_policy_fits_an_inline_role_policy(files: dict[str, RenderedFile]) -> None:
    # IAM's limit for a role's inline policies, counted without whitespace.
    assert len("".join(files[deploy_role.NAME].content.split())) <= 10_240


def test_handoff_says_how_to_create_and_use_the_role(handoff: str) -> None:
    for command in deploy_role.create_commands():
        assert command in handoff
    assert '${CFN_ROLE_ARN:+--role-arn "$CFN_ROLE_ARN"}' in handoff


def test_deploy_takes_a_role_arn_and_refuses_a_malformed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_templates import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["deploy", "--env", "staging", "--role-arn", "webhook-cloudformation-deploy"])
    assert exit_info.value.code == 2
    assert "--role-arn 'webhook-cloudformation-deploy' is invalid; accepted: an IAM role ARN" in capsys.readouterr().err


def test_schemas_read_from_disk_are_the_ones_cfn_lint_serves(body: dict[str, Any]) -> None:
    """render reads the files directly (importing cfn-lint costs about a second); they must agree."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    types = deploy_role.resource_types(body)
    assert "AWS::Lambda::Alias" in types and "AWS::DynamoDB::Table" in types
    for resource_type in types:
        served = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        assert deploy_role.handler_schema(resource_type)["handlers"] == served["handlers"], resource_type
    with pytest.raises(ValueError, match="no registry schema for AWS::Nothing::Here"):
        deploy_role.handler_schema("AWS::Nothing::Here")
