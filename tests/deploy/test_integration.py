"""The old integration checks, run against a deployed stack read from ``cfn-outputs/flat-outputs.json``.

Two modes, the same checks:

* ``make test``: deploys ``staging`` into moto's server, then checks it.
* ``make integration ENV=staging``: ``WEBHOOK_INTEGRATION_ENV`` is set, nothing
  is deployed or emulated; the checks read the caller's real account (standard
  credential chain) for the stack the outputs file describes.  Only what moto
  does not model is skipped, and only under moto.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from deploy_testkit import MOTO_SKIPS_TYPES

from support import moto_server
from support.environments import ENVIRONMENTS_FILE, SHIPPED
from webhook_templates import cli
from webhook_templates.deploy import stack_outputs
from webhook_templates.deploy.session import session
from webhook_templates.stack.handler_artifact import HANDLER

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)]

REAL_ENV = os.environ.get("WEBHOOK_INTEGRATION_ENV")


@dataclass(frozen=True)
class Deployed:
    """The stack under test: its environment, its outputs and clients for its account."""

    env: str
    outputs: dict[str, str]
    client: Callable[[str], Any]
    emulated: bool

    def not_in_moto(self, what: str) -> None:
        """Skip a check of something moto does not model (only when running against moto)."""
        if self.emulated:
            pytest.skip(f"moto does not model {what}")


def _real_account(env: str) -> Deployed:
    outputs = stack_outputs.read(stack_outputs.DEFAULT_OUTPUTS_FILE)
    if outputs.get("TableName") != f"transactions-{env}":
        pytest.fail(f"{stack_outputs.DEFAULT_OUTPUTS_FILE} is missing or describes another stack; "
                    f"run `webhook-templates outputs --env {env}` (or make deploy ENV={env}) first")
    # The deploy command's own session: standard chain, AWS_REGION honoured.
    return Deployed(env, outputs, session(None).client, emulated=False)


@pytest.fixture(scope="module")
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             build_dir: Path) -> Iterator[Deployed]:
    if REAL_ENV:
        yield _real_account(REAL_ENV)
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    moto_server.reset(endpoint)
    moto_server.with_api_gateway_role(endpoint)  # a first deploy checks for it
    outputs_file = tmp_path_factory.mktemp("cfn-outputs") / "flat-outputs.json"
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AWS_PROFILE", raising=False)
        for name, value in fake.items():
            env.setenv(name, value)
        code = cli.main(["deploy", "--env", "staging", "--yes", "--poll-interval", "0",
                         "--environments", str(ENVIRONMENTS_FILE),
                         "--template", str(build_dir / "template.json"), "--outputs-file", str(outputs_file)])
    assert code == 0

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    yield Deployed("staging", stack_outputs.read(outputs_file), client, emulated=True)


def test_table_name_billing_mode_and_key_schema(deployed: Deployed) -> None:
    table = deployed.client("dynamodb").describe_table(TableName=deployed.outputs["TableName"])["Table"]

    assert table["TableName"] == f"transactions-{deployed.env}"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "transactionId", "KeyType": "HASH"},
        {"AttributeName": "timestamp", "KeyType": "RANGE"},
    ]


def test_function_name_runtime_handler_and_table_name(deployed: Deployed) -> None:
    function = deployed.client("lambda").get_function(FunctionName=deployed.outputs["FunctionName"])["Configuration"]

    assert function["FunctionName"] == f"webhook-processor-{deployed.env}"
    assert function["Runtime"] == SHIPPED[deployed.env].runtime
    assert function["Handler"] == HANDLER
    assert function["Environment"]["Variables"]["TABLE_NAME"] == deployed.outputs["TableName"]


def test_function_is_traced(deployed: Deployed) -> None:
    deployed.not_in_moto("Lambda TracingConfig set through CloudFormation")
    function = deployed.client("lambda").get_function(FunctionName=deployed.outputs["FunctionName"])["Configuration"]

    assert function["TracingConfig"]["Mode"] == "Active"


def test_api_name(deployed: Deployed) -> None:
    api_id = deployed.outputs["ApiEndpoint"].removeprefix("https://").split(".", 1)[0]

    assert deployed.client("apigateway").get_rest_api(restApiId=api_id)["name"] == f"webhook-api-{deployed.env}"


def test_stage_serves_the_endpoint(deployed: Deployed) -> None:
    deployed.not_in_moto("AWS::ApiGateway::Stage in CloudFormation")
    api_id = deployed.outputs["ApiEndpoint"].removeprefix("https://").split(".", 1)[0]

    stage = deployed.client("apigateway").get_stage(restApiId=api_id, stageName=deployed.env)

    assert stage["tracingEnabled"] is True
    assert deployed.outputs["ApiEndpoint"].endswith(f"/{deployed.env}/webhook")


def test_api_gateway_can_write_the_stages_execution_logs(deployed: Deployed) -> None:
    """API Gateway creates the stage's execution log group at deployment, through the account's role.

    The stack's role grants only what pushing logs needs (no DescribeLogGroups,
    no reads); this is the check that it is enough.
    """
    deployed.not_in_moto("API Gateway execution logging")
    api_id = deployed.outputs["ApiEndpoint"].removeprefix("https://").split(".", 1)[0]
    name = f"API-Gateway-Execution-Logs_{api_id}/{deployed.env}"
    groups = deployed.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name]


def test_key_is_enabled_rotated_and_described_as_the_webhook_key(deployed: Deployed) -> None:
    kms = deployed.client("kms")
    key = kms.describe_key(KeyId=deployed.outputs["KmsKeyId"])["KeyMetadata"]

    assert key["Enabled"] is True
    assert key["Description"].lower().startswith("webhook key")
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


def test_role_trusts_lambda(deployed: Deployed) -> None:
    function = deployed.client("lambda").get_function(FunctionName=deployed.outputs["FunctionName"])["Configuration"]
    role_name = function["Role"].rsplit("/", 1)[-1]

    role = deployed.client("iam").get_role(RoleName=role_name)["Role"]

    assert role_name == f"webhook-lambda-role-{deployed.env}"
    principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert principals == [{"Service": "lambda.amazonaws.com"}]
    account = role["Arn"].split(":")[4]
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


#: The operations that use a key rather than manage it (CreateGrant hands use on).
_KEY_USE = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:CreateGrant")


def test_deployed_key_policy_allows_no_unconditioned_use(deployed: Deployed) -> None:
    kms = deployed.client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=deployed.outputs["KmsKeyId"], PolicyName="default")["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert {"AccountAdministersKey", "AccountUsesKeyThroughServices", "AccountGrantsKeyToServiceResources",
            "CloudWatchLogsEncryptsStackLogGroups"} <= set(statements)
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        uses = [a for a in actions if a == "kms:*" or a.startswith(_KEY_USE)]
        if statement["Effect"] == "Allow" and uses:
            assert statement.get("Condition"), statement["Sid"]
    assert "kms:PutKeyPolicy" in statements["AccountAdministersKey"]["Action"]


def test_signing_secret_is_readable_only_by_the_function_and_named_readers(deployed: Deployed) -> None:
    deployed.not_in_moto("AWS::SecretsManager::ResourcePolicy in CloudFormation")
    secrets = deployed.client("secretsmanager")
    policy = json.loads(secrets.get_resource_policy(SecretId=deployed.outputs["SigningSecretArn"])["ResourcePolicy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] in ("secretsmanager:GetSecretValue",
                                                           ["secretsmanager:GetSecretValue"])
    readers = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    readers = readers if isinstance(readers, list) else [readers]
    function = deployed.client("lambda").get_function(FunctionName=deployed.outputs["FunctionName"])["Configuration"]
    assert function["Role"] in readers


def test_log_groups_keep_30_days(deployed: Deployed) -> None:
    logs = deployed.client("logs")
    for name in (f"/aws/lambda/webhook-processor-{deployed.env}", f"/aws/apigateway/webhook-api-{deployed.env}"):
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(name, 30)]


def test_signing_secret_is_encrypted_with_the_stack_key(deployed: Deployed) -> None:
    deployed.not_in_moto("AWS::SecretsManager::Secret in CloudFormation")
    secret = deployed.client("secretsmanager").describe_secret(SecretId=deployed.outputs["SigningSecretArn"])

    key = deployed.client("kms").describe_key(KeyId=deployed.outputs["KmsKeyId"])["KeyMetadata"]
    assert secret["KmsKeyId"] in (key["Arn"], key["KeyId"])
