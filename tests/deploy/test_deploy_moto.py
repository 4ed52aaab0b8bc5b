"""``deploy``, ``outputs`` and ``destroy`` against moto's HTTP server, through the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result, parameters_with, template_without_table

from support.environments import ENVIRONMENTS_FILE
from support.stacks import stack
from webhook_templates import data_guard
from webhook_templates.stack import naming

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
STACK = "webhook-staging"


def deployed_template(aws: Clients) -> dict[str, Any]:
    return aws("cloudformation").get_template(StackName=STACK)["TemplateBody"]


def pending_change_sets(aws: Clients) -> list[Any]:
    return aws("cloudformation").list_change_sets(StackName=STACK)["Summaries"]


def test_first_deploy_renders_the_build_creates_the_stack_and_writes_outputs(
    aws: Clients, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ENVIRONMENTS_FILE, tmp_path)  # a fresh clone: the repository's files, no build/
    monkeypatch.chdir(tmp_path)
    result = run("deploy", "--env", "staging", "--yes", defaults=True)

    assert result.code == 0, result.err
    assert "build/ was out of date" in result.out
    assert (tmp_path / "build" / "template.json").is_file()
    created = stack(aws)
    assert created and created["StackStatus"] == "CREATE_COMPLETE"
    outputs = json.loads((tmp_path / "cfn-outputs" / "flat-outputs.json").read_text())
    assert outputs == {o["OutputKey"]: o["OutputValue"] for o in created["Outputs"]}
    assert outputs["TableName"] == "transactions-staging"
    assert outputs["FunctionName"] == "webhook-processor-staging"
    # The change table, then every resource counted to the end.
    rows = [line for line in result.out.splitlines() if line.startswith("Add ")]
    assert any(naming.TABLE_ID in row and "AWS::DynamoDB::Table" in row for row in rows)
    assert f"[{len(rows)}/{len(rows)}]" in result.out
    policy = json.loads(aws("cloudformation").get_stack_policy(StackName=STACK)["StackPolicyBody"])
    assert policy == data_guard.stack_policy()
    assert created["EnableTerminationProtection"] is False


def test_second_deploy_reports_no_changes_and_exits_0(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    again = run("deploy", "--env", "staging", "--yes")

    assert again.code == 0, again.err
    assert "up to date" in again.out
    assert "Executing" not in again.out
    assert pending_change_sets(aws) == []
    assert stack(aws)["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]


def test_changed_parameter_updates_the_function(aws: Clients, run: Run, build_dir: Path, tmp_path: Path) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("deploy", "--env", "staging", "--yes",
                 "--parameters", parameters_with(build_dir, tmp_path, LambdaMemorySize="512"))

    assert result.code == 0, result.err
    assert any(line.split()[:2] == ["Modify", naming.FUNCTION_ID] for line in result.out.splitlines())
    function = aws("lambda").get_function(FunctionName="webhook-processor-staging")["Configuration"]
    assert function["MemorySize"] == 512
    assert stack(aws)["StackStatus"] == "UPDATE_COMPLETE"  # type: ignore[index]


def test_guard_refuses_a_template_without_the_table_and_leaves_the_stack_alone(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("deploy", "--env", "staging", "--yes", "--template", template_without_table(build_dir, tmp_path),
                 "--parameters", str(build_dir / "parameters" / "staging.json"))

    assert result.code == 3
    assert "TransactionsTable (AWS::DynamoDB::Table) would be removed" in result.err
    assert "--allow-replacement TransactionsTable" in result.err
    assert "Executing" not in result.out
    assert pending_change_sets(aws) == []
    assert stack(aws)["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]
    assert naming.TABLE_ID in deployed_template(aws)["Resources"]
    assert aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]["TableStatus"] == "ACTIVE"


def test_allow_replacement_lets_the_named_removal_through_and_restores_the_policy(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("deploy", "--env", "staging", "--yes", "--template", template_without_table(build_dir, tmp_path),
                 "--parameters", str(build_dir / "parameters" / "staging.json"),
                 "--allow-replacement", naming.TABLE_ID)

    assert result.code == 0, result.err
    assert "allowed by --allow-replacement: TransactionsTable" in result.err
    assert naming.TABLE_ID not in deployed_template(aws)["Resources"]
    policy = json.loads(aws("cloudformation").get_stack_policy(StackName=STACK)["StackPolicyBody"])
    assert policy == data_guard.stack_policy()


def test_dry_run_of_a_new_stack_creates_nothing(aws: Clients, run: Run, tmp_path: Path) -> None:
    result = run("deploy", "--env", "staging", "--dry-run")

    assert result.code == 0, result.err
    assert "Add     TransactionsTable" in result.out
    assert "Dry run: nothing executed" in result.out
    assert stack(aws) is None
    assert not (tmp_path / "flat-outputs.json").exists()


def test_dry_run_shows_an_update_without_executing_it(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("deploy", "--env", "staging", "--dry-run",
                 "--parameters", parameters_with(build_dir, tmp_path, LambdaMemorySize="512"))

    assert result.code == 0, result.err
    assert "Modify  WebhookFunction" in result.out
    function = aws("lambda").get_function(FunctionName="webhook-processor-staging")["Configuration"]
    assert function["MemorySize"] == 256
    assert pending_change_sets(aws) == []
    assert stack(aws)["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]


def test_failing_deploy_exits_1_and_names_the_root_cause(aws: Clients, run: Run, tmp_path: Path) -> None:
    # A role of the same name already exists: CloudFormation cannot create ours.
    aws("iam").create_role(RoleName="webhook-lambda-role-staging", AssumeRolePolicyDocument="{}")

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert ("Root cause: FunctionRole (AWS::IAM::Role) CREATE_FAILED: "
            "Role with name webhook-lambda-role-staging already exists.") in result.err
    assert "webhook-staging is ROLLBACK_COMPLETE" in result.err
    assert stack(aws)["StackStatus"] == "ROLLBACK_COMPLETE"  # type: ignore[index]
    assert not (tmp_path / "flat-outputs.json").exists()


def test_without_a_terminal_or_yes_it_refuses_and_creates_nothing(aws: Clients, run: Run) -> None:
    result = run("deploy", "--env", "staging")

    assert result.code == 3
    assert "no terminal to ask on and no --yes" in result.err
    assert stack(aws) is None


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("yes\n", 0), ("n\n", 3), ("\n", 3)])
def test_the_answer_typed_at_the_terminal_decides(aws: Clients, run: Run, answer: str, code: int) -> None:
    result = run("deploy", "--env", "staging", answer=answer)

    assert "Execute this change set on webhook-staging? [y/N]" in result.out
    assert result.code == code
    assert (stack(aws) is not None) == (code == 0)


def test_outputs_rereads_the_deployed_stack(aws: Clients, run: Run, tmp_path: Path) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    written = tmp_path / "flat-outputs.json"
    first = written.read_text()
    written.unlink()

    result = run("outputs", "--env", "staging")

    assert result.code == 0, result.err
    assert written.read_text() == first
    assert "transactions-staging" in result.out


def test_outputs_of_a_missing_stack_fails(aws: Clients, run: Run) -> None:
    result = run("outputs", "--env", "dev")

    assert result.code == 1
    assert "webhook-dev does not exist" in result.err


def test_destroy_deletes_the_stack_and_retains_the_table_and_the_key(aws: Clients, run: Run, tmp_path: Path) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    key_id = json.loads((tmp_path / "flat-outputs.json").read_text())["KmsKeyId"]

    result = run("destroy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    retained = result.out.split("Retained", 1)[1]
    for logical_id in (naming.TABLE_ID, naming.KEY_ID, naming.FUNCTION_LOG_GROUP_ID):
        assert logical_id in retained
    assert stack(aws) is None
    assert aws("dynamodb").describe_table(TableName="transactions-staging")["Table"]["TableName"]
    assert aws("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"] is True
    assert not (tmp_path / "flat-outputs.json").exists()


def test_destroy_with_a_damaged_outputs_file_still_deletes_the_stack(
    aws: Clients, run: Run, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    written = tmp_path / "flat-outputs.json"
    written.write_text(written.read_text()[:40])  # cut off, as by a full disk or a killed write

    result = run("destroy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    assert f"{written}" in result.err and "ignored" in result.err
    assert stack(aws) is None


def test_destroy_without_a_terminal_or_yes_refuses(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("destroy", "--env", "staging")

    assert result.code == 3
    assert stack(aws) is not None


def test_prod_gets_termination_protection_which_destroy_respects(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "prod", "--yes").code == 0
    assert stack(aws, "webhook-prod")["EnableTerminationProtection"] is True  # type: ignore[index]

    result = run("destroy", "--env", "prod", "--yes")

    assert result.code == 3
    assert "update-termination-protection --no-enable-termination-protection" in result.err
    assert stack(aws, "webhook-prod") is not None


def test_template_over_the_body_limit_is_uploaded_to_s3_by_content_hash(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    template = json.loads((build_dir / "template.json").read_text())
    template.setdefault("Metadata", {})["Padding"] = "x" * 20_000
    body = json.dumps(template)
    assert len(body.encode()) > 51_200
    path = tmp_path / "big.json"
    path.write_text(body)

    result = run("deploy", "--env", "staging", "--yes", "--template", str(path),
                 "--parameters", str(build_dir / "parameters" / "staging.json"))

    assert result.code == 0, result.err
    bucket = "cfn-templates-123456789012-us-east-1"
    key = f"webhook-templates/{hashlib.sha256(body.encode()).hexdigest()}.json"
    assert f"uploaded to https://{bucket}.s3.us-east-1.amazonaws.com/{key}" in result.out
    s3 = aws("s3")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body.encode()
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert stack(aws)["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]


def test_destroy_removes_a_stack_left_in_review_by_an_unexecuted_first_deploy(
    aws: Clients, run: Run, build_dir: Path
) -> None:
    aws("cloudformation").create_change_set(
        StackName=STACK, ChangeSetName="never-executed", ChangeSetType="CREATE",
        TemplateBody=(build_dir / "template.json").read_text(),
        Parameters=json.loads((build_dir / "parameters" / "staging.json").read_text()),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    assert stack(aws)["StackStatus"] == "REVIEW_IN_PROGRESS"  # type: ignore[index]

    result = run("destroy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    assert "deletes all its resources" in result.out
    assert stack(aws) is None
