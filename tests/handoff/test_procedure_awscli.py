"""HANDOFF.md's change-set blocks, run as a platform team would: AWS CLI v1, the bundle folder, moto.

The blocks are extracted from the generated HANDOFF.md and run unchanged by
``sh`` with AWS CLI v1 (``support.awscli``) against the patched moto server
running in a thread of this process.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support import awscli, moto_server
from support.stacks import change_sets, stack, without_resource
from webhook_templates import dashboard, data_guard
from webhook_templates.stack import naming

# slow: AWS CLI v1 processes against moto's server
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning")]


@pytest.fixture(scope="module")
def bundle(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the build: the AWS CLI writes its cache under HOME, which is the bundle folder."""
    return Path(shutil.copytree(build_dir, tmp_path_factory.mktemp("bundle") / "build"))


@pytest.fixture
def run_block(moto_endpoint: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    return lambda folder, environment: awscli.run_block(folder, environment, moto_endpoint)


def test_handoff_has_one_block_per_environment(bundle: Path) -> None:
    found = awscli.blocks((bundle / "HANDOFF.md").read_text(encoding="utf-8"))
    assert sorted(found) == ["dev", "prod", "staging"]
    for environment, block in found.items():
        assert f"STACK=webhook-{environment}\n" in block
        assert f"--parameters file://parameters/{environment}.json" in block
        assert "--retain-except-on-create" in block
        assert ("--enable-termination-protection" in block) == (environment == "prod")


#: The command the block prints for a missing API Gateway role, from "Deploy the account setup ...: <it>;".
_ACCOUNT_SETUP_COMMAND = re.compile(r"it creates an IAM role\): (aws cloudformation deploy [^;]+);")


def test_a_first_deploy_stops_before_creating_anything_without_the_api_gateway_role(
    moto_account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path
) -> None:
    result = run_block(bundle, "staging")

    assert result.returncode == 1, result.stderr
    assert "API Gateway has no CloudWatch role in this account and region" in result.stderr
    # What the reader runs, from the bundle folder: no file to edit.
    assert ("Deploy the account setup once in this account and region, from this folder (an administrator: it "
            "creates an IAM role): aws cloudformation deploy --template-file account-setup.json --stack-name "
            "webhook-account-setup --capabilities CAPABILITY_IAM; or point API Gateway at an existing role: "
            "aws apigateway update-account") in result.stderr
    assert "build/" not in result.stderr and "parameters/" not in result.stderr
    assert "CreateApiGatewayAccountRole" not in result.stderr
    assert moto_account("cloudformation").list_stacks()["StackSummaries"] == []


def test_the_printed_account_setup_command_sets_the_role_and_the_first_deploy_then_passes(
    moto_account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path, moto_endpoint: str
) -> None:
    stopped = run_block(bundle, "staging")
    match = _ACCOUNT_SETUP_COMMAND.search(stopped.stderr)
    assert stopped.returncode == 1 and match, stopped.stderr

    setup = awscli.run_script(bundle, match.group(1), moto_endpoint)
    assert setup.returncode == 0, setup.stdout + setup.stderr

    account = awscli.run_script(bundle, "aws apigateway get-account --output json", moto_endpoint)
    assert account.returncode == 0, account.stderr
    role_arn = json.loads(account.stdout)["cloudwatchRoleArn"]
    resources = moto_account("cloudformation").describe_stack_resources(
        StackName=naming.ACCOUNT_SETUP_STACK)["StackResources"]
    role = next(r for r in resources if r["LogicalResourceId"] == naming.LOGGING_ROLE_ID)
    assert role_arn == moto_account("iam").get_role(RoleName=role["PhysicalResourceId"])["Role"]["Arn"]
    trust = moto_account("iam").get_role(RoleName=role["PhysicalResourceId"])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}

    # A bucket in case the template is over the body limit (the block then reads it from S3).
    moto_account("s3").create_bucket(Bucket="templates")
    first = awscli.run_block(bundle, "staging", moto_endpoint, variables={"TEMPLATE_BUCKET": "templates"})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "API Gateway has no CloudWatch role" not in first.stderr
    assert stack(moto_account, "webhook-staging")["StackStatus"] == "CREATE_COMPLETE"


def test_staging_and_prod_deploy_protected_and_rerun_cleanly(
    moto_account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path, moto_endpoint: str
) -> None:
    moto_server.with_api_gateway_role(moto_endpoint)
    cfn = moto_account("cloudformation")

    for environment in ("staging", "prod"):
        name = f"webhook-{environment}"
        first = run_block(bundle, environment)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "data guard:" in first.stdout  # the guard ran on the change set
        assert stack(moto_account, name)["StackStatus"] == "CREATE_COMPLETE"
        policy = json.loads(cfn.get_stack_policy(StackName=name)["StackPolicyBody"])
        assert policy == data_guard.stack_policy()
        assert stack(moto_account, name)["EnableTerminationProtection"] is (environment == "prod")
        table = moto_account("dynamodb").describe_table(TableName=f"transactions-{environment}")["Table"]
        assert table["TableStatus"] == "ACTIVE"
        # The dashboard, as deploy puts it: the bundle's file in the stack's region.
        put = json.loads(moto_account("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
        assert put == dashboard.body(environment, cfn.meta.region_name)

    for environment in ("staging", "prod"):
        again = run_block(bundle, environment)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"webhook-{environment} is up to date: the change set contained no changes." in again.stdout
        assert change_sets(moto_account, f"webhook-{environment}") == []  # the empty one was deleted


def test_the_guard_in_the_block_refuses_a_change_set_that_removes_the_table(
    moto_account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path, tmp_path: Path, moto_endpoint: str
) -> None:
    moto_server.with_api_gateway_role(moto_endpoint)
    assert run_block(bundle, "staging").returncode == 0
    edited = tmp_path / "edited"
    shutil.copytree(bundle, edited)
    body = json.loads((edited / "template.json").read_text(encoding="utf-8"))
    (edited / "template.json").write_text(json.dumps(without_resource(body, naming.TABLE_ID)), encoding="utf-8")

    result = run_block(edited, "staging")

    assert result.returncode == 3, result.stdout + result.stderr
    assert data_guard.REFUSED_HEADLINE in result.stderr
    assert "  TransactionsTable (AWS::DynamoDB::Table) would be removed from the stack" in result.stderr
    assert "Not executed; the change set was deleted." in result.stderr
    assert change_sets(moto_account, "webhook-staging") == []
    assert stack(moto_account, "webhook-staging")["StackStatus"] == "CREATE_COMPLETE"
    # botocore decodes a JSON template body into a dict.
    deployed = moto_account("cloudformation").get_template(StackName="webhook-staging")["TemplateBody"]
    assert naming.TABLE_ID in deployed["Resources"]
