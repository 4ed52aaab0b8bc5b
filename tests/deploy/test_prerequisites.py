"""A first deploy checks the account's API Gateway CloudWatch role before creating anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result

from webhook_templates.deploy.prerequisites import account_setup_beside, missing_api_gateway_role

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)


class Account:
    """``apigateway:GetAccount`` answering with or without a CloudWatch role."""

    def __init__(self, role: str | None) -> None:
        self.role = role
        self.calls = 0

    def get_account(self) -> dict[str, Any]:
        self.calls += 1
        return {"cloudwatchRoleArn": self.role} if self.role else {"throttleSettings": {}}


SETUP = Path("build") / "account-setup.json"


def test_a_missing_role_is_a_problem_naming_the_command_that_sets_it() -> None:
    problem = missing_api_gateway_role(Account(None), SETUP)
    assert problem is not None
    assert "no CloudWatch role in this account and region" in problem
    # What the user runs: the account setup beside the template deployed, never a file to edit.
    assert ("Deploy the account setup once in this account and region (an administrator: it creates an IAM "
            "role): aws cloudformation deploy --template-file build/account-setup.json --stack-name "
            "webhook-account-setup --capabilities CAPABILITY_IAM; or point API Gateway at an existing role: "
            "aws apigateway update-account") in problem
    assert "environments.toml" not in problem and "CreateApiGatewayAccountRole" not in problem


def test_the_command_names_the_account_setup_beside_the_template_deployed() -> None:
    assert account_setup_beside(Path("/tmp/bundle/template.json")) == Path("/tmp/bundle/account-setup.json")
    problem = missing_api_gateway_role(Account(None), account_setup_beside(Path("/tmp/bundle/template.json")))
    assert problem is not None and "--template-file /tmp/bundle/account-setup.json " in problem


def test_a_role_is_enough() -> None:
    account = Account("arn:aws:iam::123456789012:role/x")
    assert missing_api_gateway_role(account, SETUP) is None
    assert account.calls == 1


def test_deploy_stops_before_creating_anything_without_the_role(
    aws: Callable[[str], Any], run: Callable[..., Result], build_dir: Path
) -> None:
    aws("apigateway").update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert "API Gateway has no CloudWatch role" in result.err
    assert (f"aws cloudformation deploy --template-file {build_dir / 'account-setup.json'} --stack-name "
            "webhook-account-setup --capabilities CAPABILITY_IAM;") in result.err
    assert "Nothing was created." in result.err
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


def test_deploy_goes_ahead_once_the_account_setup_is_deployed(
    aws: Callable[[str], Any], run: Callable[..., Result], build_dir: Path
) -> None:
    aws("apigateway").update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="webhook-account-setup", Capabilities=["CAPABILITY_IAM"],
                     TemplateBody=(build_dir / "account-setup.json").read_text())
    assert aws("apigateway").get_account()["cloudwatchRoleArn"].startswith("arn:aws:iam::")

    result = run("deploy", "--env", "staging", "--yes")

    assert "API Gateway has no CloudWatch role" not in result.err
    assert result.code == 0, result.err
