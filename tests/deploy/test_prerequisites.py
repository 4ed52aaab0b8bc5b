"""A first deploy checks the account's API Gateway CloudWatch role before creating anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result

from webhook_templates.deploy.prerequisites import missing_api_gateway_role

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)


class Account:
    """``apigateway:GetAccount`` answering with or without a CloudWatch role."""

    def __init__(self, role: str | None) -> None:
        self.role = role
        self.calls = 0

    def get_account(self) -> dict[str, Any]:
        self.calls += 1
        return {"cloudwatchRoleArn": self.role} if self.role else {"throttleSettings": {}}


def params(create: str) -> list[dict[str, str]]:
    return [{"ParameterKey": "Environment", "ParameterValue": "staging"},
            {"ParameterKey": "CreateApiGatewayAccountRole", "ParameterValue": create}]


def test_missing_role_with_the_parameter_false_is_a_problem_naming_what_the_user_edits() -> None:
    problem = missing_api_gateway_role(Account(None), params("false"), "staging", Path("environments.toml"))
    assert problem is not None
    assert "no CloudWatch role in this account and region" in problem
    # The setting in the environments file, or the flag: never a rendered file, which the next render overwrites.
    assert ("For exactly one stack per account and region, set create_api_gateway_account_role = true in "
            "[staging] of environments.toml or pass --parameter-overrides CreateApiGatewayAccountRole=true") in problem
    assert "build/" not in problem and "parameters/" not in problem
    assert "aws apigateway update-account" in problem


def test_an_ephemeral_environment_without_the_role_is_told_the_override() -> None:
    # Its table is another environment's: setting it there would make that stack create the role too.
    problem = missing_api_gateway_role(Account(None), params("false"), None, Path("environments.toml"))
    assert problem is not None
    assert "For exactly one stack per account and region, pass --parameter-overrides " \
           "CreateApiGatewayAccountRole=true;" in problem
    assert "environments.toml" not in problem


def test_a_role_or_the_parameter_true_is_enough() -> None:
    toml = Path("environments.toml")
    assert missing_api_gateway_role(Account("arn:aws:iam::123456789012:role/x"), params("false"), "p", toml) is None
    account = Account(None)
    assert missing_api_gateway_role(account, params("true"), "p", toml) is None
    assert account.calls == 0  # the stack sets the role itself: no need to ask


def test_deploy_stops_before_creating_anything_without_the_role(
    aws: Callable[[str], Any], run: Callable[..., Result]
) -> None:
    aws("apigateway").update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert "API Gateway has no CloudWatch role" in result.err
    assert "set create_api_gateway_account_role = true in [staging] of " in result.err
    assert "Nothing was created." in result.err
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


def test_deploy_with_the_parameter_true_goes_ahead_without_the_role(
    aws: Callable[[str], Any], run: Callable[..., Result], build_dir: Path, tmp_path: Path
) -> None:
    aws("apigateway").update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    values = json.loads((build_dir / "parameters" / "staging.json").read_text())
    for entry in values:
        if entry["ParameterKey"] == "CreateApiGatewayAccountRole":
            entry["ParameterValue"] = "true"
    parameters = tmp_path / "staging.json"
    parameters.write_text(json.dumps(values))

    result = run("deploy", "--env", "staging", "--yes", "--parameters", str(parameters))

    assert "API Gateway has no CloudWatch role" not in result.err
    assert result.code == 0, result.err
