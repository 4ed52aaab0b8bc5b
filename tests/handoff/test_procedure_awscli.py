"""HANDOFF.md's change-set blocks, run as a platform team would: AWS CLI v1, the bundle folder, moto.

The blocks are extracted from the generated HANDOFF.md and run unchanged by
``sh`` with AWS CLI v1 (``support.awscli``) against the patched moto server
running in a thread of this process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support import awscli, moto_server
from support.environments import SHIPPED
from webhook_templates import data_guard
from webhook_templates.handoff.bundle import build_files, write_bundle
from webhook_templates.stack import naming

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server.running() as url:
        yield url


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    write_bundle(build_files(SHIPPED), out)
    return out


@pytest.fixture
def account(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """An empty moto account; returns a boto3 client factory for checking what the blocks did."""
    moto_server.reset(endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return lambda service: boto3.client(service)


@pytest.fixture
def run_block(endpoint: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    return lambda folder, environment: awscli.run_block(folder, environment, endpoint)


def stack(account: Callable[[str], Any], name: str) -> dict[str, Any]:
    return account("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def change_sets(account: Callable[[str], Any], name: str) -> list[dict[str, Any]]:
    return account("cloudformation").list_change_sets(StackName=name)["Summaries"]


def test_handoff_has_one_block_per_environment(bundle: Path) -> None:
    found = awscli.blocks((bundle / "HANDOFF.md").read_text(encoding="utf-8"))
    assert sorted(found) == ["dev", "prod", "staging"]
    for environment, block in found.items():
        assert f"STACK=webhook-{environment}\n" in block
        assert f"--parameters file://parameters/{environment}.json" in block
        assert "--retain-except-on-create" in block
        assert ("--enable-termination-protection" in block) == (environment == "prod")


def test_a_first_deploy_stops_before_creating_anything_without_the_api_gateway_role(
    account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path
) -> None:
    result = run_block(bundle, "staging")

    assert result.returncode == 1, result.stderr
    assert "API Gateway has no CloudWatch role in this account and region" in result.stderr
    # Right for both readers: the bundle's owner edits their copy, the repository's its environments file.
    assert ("Set CreateApiGatewayAccountRole to true in parameters/staging.json of your copy of this bundle "
            "(in the repository that renders it: create_api_gateway_account_role = true in [staging] of "
            "environments.toml, then render again)") in result.stderr
    assert "build/" not in result.stderr
    assert account("cloudformation").list_stacks()["StackSummaries"] == []


def test_staging_and_prod_deploy_protected_and_rerun_cleanly(
    account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path, endpoint: str
) -> None:
    moto_server.with_api_gateway_role(endpoint)
    cfn = account("cloudformation")

    for environment in ("staging", "prod"):
        name = f"webhook-{environment}"
        first = run_block(bundle, environment)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "data guard:" in first.stdout  # the guard ran on the change set
        assert stack(account, name)["StackStatus"] == "CREATE_COMPLETE"
        policy = json.loads(cfn.get_stack_policy(StackName=name)["StackPolicyBody"])
        assert policy == data_guard.stack_policy()
        assert stack(account, name)["EnableTerminationProtection"] is (environment == "prod")
        table = account("dynamodb").describe_table(TableName=f"transactions-{environment}")["Table"]
        assert table["TableStatus"] == "ACTIVE"

    for environment in ("staging", "prod"):
        again = run_block(bundle, environment)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"webhook-{environment} is up to date: the change set contained no changes." in again.stdout
        assert change_sets(account, f"webhook-{environment}") == []  # the empty one was deleted


def _without(resource: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``resource`` deleted and every reference to it replaced by a fixed string."""

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            if node in ({"Ref": resource}, {"Fn::GetAtt": [resource, "Arn"]}):
                return f"arn:aws:dynamodb:us-east-1:123456789012:table/{resource}-elsewhere"
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(item) for item in node]
        return node

    resources = {key: value for key, value in body["Resources"].items() if key != resource}
    return swap({**body, "Resources": resources})


def test_the_guard_in_the_block_refuses_a_change_set_that_removes_the_table(
    account: Callable[[str], Any], run_block: Callable[..., Any], bundle: Path, tmp_path: Path, endpoint: str
) -> None:
    moto_server.with_api_gateway_role(endpoint)
    assert run_block(bundle, "staging").returncode == 0
    edited = tmp_path / "edited"
    shutil.copytree(bundle, edited)
    body = json.loads((edited / "template.json").read_text(encoding="utf-8"))
    (edited / "template.json").write_text(json.dumps(_without(naming.TABLE_ID, body)), encoding="utf-8")

    result = run_block(edited, "staging")

    assert result.returncode == 3, result.stdout + result.stderr
    assert data_guard.REFUSED_HEADLINE in result.stderr
    assert "  TransactionsTable (AWS::DynamoDB::Table) would be removed from the stack" in result.stderr
    assert "Not executed; the change set was deleted." in result.stderr
    assert change_sets(account, "webhook-staging") == []
    assert stack(account, "webhook-staging")["StackStatus"] == "CREATE_COMPLETE"
    # botocore decodes a JSON template body into a dict.
    deployed = account("cloudformation").get_template(StackName="webhook-staging")["TemplateBody"]
    assert naming.TABLE_ID in deployed["Resources"]
