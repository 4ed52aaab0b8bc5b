"""Environments as data and the flags users know from SAM/the AWS CLI, against moto's HTTP server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result

from support.environments import ENVIRONMENTS_FILE
from support.stacks import stack
from webhook_templates.cli import build_parser

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
ROLE = "arn:aws:iam::123456789012:role/cfn-deployer"


def parameters_of(created: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in created["Parameters"]}


def environments_with(tmp_path: Path, extra: str) -> Path:
    """The shipped environments.toml with ``extra`` appended, in ``tmp_path``."""
    path = tmp_path / "environments.toml"
    path.write_text(ENVIRONMENTS_FILE.read_text() + "\n" + extra)
    return path


def test_adding_qa_to_a_fresh_clone_deploys_webhook_qa(
    aws: Clients, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environments_with(tmp_path, "[qa]\nmemory_mb = 512\n")
    monkeypatch.chdir(tmp_path)  # a fresh clone: environments.toml, no build/

    result = run("deploy", "--env", "qa", "--yes", defaults=True)

    assert result.code == 0, result.err
    assert json.loads((tmp_path / "build" / "parameters" / "qa.json").read_text())[0] == {
        "ParameterKey": "Environment", "ParameterValue": "qa"}
    created = stack(aws, "webhook-qa")
    assert created and created["StackStatus"] == "CREATE_COMPLETE"
    assert parameters_of(created)["LambdaMemorySize"] == "512"
    assert aws("dynamodb").describe_table(TableName="transactions-qa")["Table"]["TableStatus"] == "ACTIVE"
    assert created["EnableTerminationProtection"] is False


def test_a_name_not_in_the_file_is_refused_and_creates_nothing(aws: Clients, run: Run) -> None:
    result = run("deploy", "--env", "stagng", "--yes")

    assert result.code == 2
    assert "--env 'stagng' is not in" in result.err and "accepted: dev, staging, prod" in result.err
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


def test_based_on_deploys_an_ephemeral_environment_and_destroy_removes_it(aws: Clients, run: Run) -> None:
    deployed = run("deploy", "--env", "pr-123", "--based-on", "dev", "--yes", "--role-arn", ROLE)

    assert deployed.code == 0, deployed.err
    created = stack(aws, "webhook-pr-123")
    assert created and created["StackStatus"] == "CREATE_COMPLETE"
    values = parameters_of(created)
    assert values["Environment"] == "pr-123" and values["ThrottleRateLimit"] == "10"  # dev's
    # The role is not the one the key policy names: said, as with the bundle's role the key would fail.
    assert ("Note: CloudFormation deploys as cfn-deployer, but the key policy names no deploy role (DeployRole)"
            in deployed.out)
    table = aws("dynamodb").describe_table(TableName="transactions-pr-123")["Table"]
    assert table["TableName"] == "transactions-pr-123"

    destroyed = run("destroy", "--env", "pr-123", "--yes", "--role-arn", ROLE)

    assert destroyed.code == 0, destroyed.err
    assert stack(aws, "webhook-pr-123") is None
    assert "Deleted webhook-pr-123." in destroyed.out


def test_a_production_environment_of_the_file_gets_both_protections(aws: Clients, run: Run, tmp_path: Path) -> None:
    environments = environments_with(tmp_path, "[live]\nproduction = true\n")

    result = run("deploy", "--env", "live", "--yes", "--environments", str(environments))

    assert result.code == 0, result.err
    created = stack(aws, "webhook-live")
    assert created and created["EnableTerminationProtection"] is True
    assert parameters_of(created)["Production"] == "true"
    table = aws("dynamodb").describe_table(TableName="transactions-live")["Table"]
    assert table["DeletionProtectionEnabled"] is True
    assert run("destroy", "--env", "live", "--yes").code == 3


def test_stack_tags_come_from_the_file_and_from_tags(aws: Clients, run: Run, tmp_path: Path) -> None:
    environments = environments_with(tmp_path, '[qa]\ntags = { Owner = "qa-team", App = "webhooks" }\n')

    result = run("deploy", "--env", "qa", "--yes", "--environments", str(environments),
                 "--tags", "Owner=platform", "Ticket=PAY-1")

    assert result.code == 0, result.err
    created = stack(aws, "webhook-qa")
    assert created and {t["Key"]: t["Value"] for t in created["Tags"]} == {
        "App": "webhooks", "Owner": "platform", "Ticket": "PAY-1",
        "Environment": "qa", "Team": "payments-platform", "CostCenter": "fintech-webhooks"}


def test_no_execute_changeset_keeps_exactly_one_change_set_and_prints_how_to_run_it(aws: Clients, run: Run) -> None:
    result = run("deploy", "--env", "staging", "--no-execute-changeset")

    assert result.code == 0, result.err
    cfn = aws("cloudformation")
    kept = cfn.list_change_sets(StackName="webhook-staging")["Summaries"]
    assert len(kept) == 1
    assert stack(aws, "webhook-staging")["StackStatus"] == "REVIEW_IN_PROGRESS"  # type: ignore[index]
    name = kept[0]["ChangeSetName"]
    command = f"aws cloudformation execute-change-set --stack-name webhook-staging --change-set-name {name}"
    assert f"Kept change set {name}" in result.out and command in result.out
    assert "Executing" not in result.out

    # The printed command is what an approver runs; then a plain deploy finds nothing to do.
    cfn.execute_change_set(ChangeSetName=name, StackName="webhook-staging")
    assert stack(aws, "webhook-staging")["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]
    again = run("deploy", "--env", "staging", "--yes")
    assert again.code == 0 and "up to date" in again.out


def test_no_execute_changeset_on_an_update_changes_nothing(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("deploy", "--env", "staging", "--no-execute-changeset",
                 "--parameter-overrides", "LambdaMemorySize=512")

    assert result.code == 0, result.err
    assert len(aws("cloudformation").list_change_sets(StackName="webhook-staging")["Summaries"]) == 1
    function = aws("lambda").get_function(FunctionName="webhook-processor-staging")["Configuration"]
    assert function["MemorySize"] == 256


def test_parameter_overrides_win_over_the_parameter_file(aws: Clients, run: Run) -> None:
    result = run("deploy", "--env", "staging", "--yes", "--parameter-overrides", "LambdaMemorySize=1024",
                 "LogRetentionDays=90")

    assert result.code == 0, result.err
    values = parameters_of(stack(aws, "webhook-staging"))  # type: ignore[arg-type]
    assert values["LambdaMemorySize"] == "1024" and values["LogRetentionDays"] == "90"
    assert values["ThrottleRateLimit"] == "25"  # the rest is staging's


def test_diff_output_json_parses_and_is_all_of_stdout(aws: Clients, run: Run) -> None:
    result = run("diff", "--env", "staging", "--output", "json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["stack"] == "webhook-staging" and document["changeSetType"] == "CREATE"
    assert document["upToDate"] is False and document["refusedByGuard"] == [] and document["changeSet"] is None
    assert {"action": "Add", "logicalId": "TransactionsTable", "resourceType": "AWS::DynamoDB::Table",
            "replacement": ""} in document["changes"]
    assert "Creating a change set" in result.err  # the human account goes to stderr
    assert aws("cloudformation").list_stacks()["StackSummaries"] == [] or stack(aws, "webhook-staging") is None


def test_diff_output_json_of_an_up_to_date_stack(aws: Clients, run: Run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    document = json.loads(run("diff", "--env", "staging", "--output", "json").out)

    assert document["upToDate"] is True and document["changes"] == []


def test_diff_text_matches_deploy_dry_run(aws: Clients, run: Run) -> None:
    diff = run("diff", "--env", "staging")
    dry_run = run("deploy", "--env", "staging", "--dry-run")

    assert diff.code == dry_run.code == 0
    rows = [line for line in diff.out.splitlines() if line.startswith("Add ")]
    assert rows and rows == [line for line in dry_run.out.splitlines() if line.startswith("Add ")]
    assert stack(aws, "webhook-staging") is None


def test_outputs_output_json_is_the_flat_object(aws: Clients, run: Run, tmp_path: Path) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0

    result = run("outputs", "--env", "staging", "--output", "json")

    assert result.code == 0, result.err
    outputs = json.loads(result.out)
    assert outputs["TableName"] == "transactions-staging"
    assert json.loads((tmp_path / "flat-outputs.json").read_text()) == outputs


def test_profile_picks_the_profile_of_the_aws_config(
    aws: Clients, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    # A named profile takes its credentials from the profile, not from the environment.
    config.write_text("[profile sandbox]\nregion = eu-west-1\naws_access_key_id = sandbox\n"
                      "aws_secret_access_key = sandbox\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    result = run("outputs", "--env", "staging", "--profile", "sandbox")

    assert result.code == 1 and "webhook-staging does not exist in eu-west-1" in result.err
    missing = run("outputs", "--env", "staging", "--profile", "nosuch")
    assert missing.code == 2 and "nosuch" in missing.err and "accepted: a profile of your AWS config" in missing.err


@pytest.mark.parametrize(("flags", "message"), [
    (["--role-arn", "cfn-deployer"], "--role-arn 'cfn-deployer' is invalid; accepted: an IAM role ARN"),
    (["--notification-arns", "arn:aws:sqs:us-east-1:123456789012:q"], "accepted: SNS topic ARNs"),
    (["--notification-arns", *[f"arn:aws:sns:us-east-1:123456789012:t{i}" for i in range(6)]], "at most 5"),
    (["--tags", "Owner=a|b"], "--tags 'Owner' value 'a|b' is invalid; accepted: 1-256 letters"),
    (["--tags", "Owner=<script>"], "value '<script>' is invalid"),
    (["--tags", "Owner=`id`"], "value '`id`' is invalid"),
    (["--tags", "Owner=two\nlines"], "value 'two\\nlines' is invalid"),
    (["--tags", "Team=other"], "--tags key 'Team' is reserved"),
    (["--tags", "Owner=a", "Owner=b"], "--tags Owner is given twice"),
    (["--tags", "Owner"], "invalid value 'Owner'; accepted: KEY=VALUE"),
    (["--parameter-overrides", "LambdaMemorySize=64"], "LambdaMemorySize='64' is invalid; accepted: a number from 128"),
    (["--parameter-overrides", "LambdaRuntime=python2.7"], "accepted: python3.11, python3.12"),
    # CloudFormation's Number takes these, and the function would refuse them at every cold start.
    *((["--parameter-overrides", f"DeliveryRetentionDays={days}"],
       f"DeliveryRetentionDays={days!r} is invalid; accepted: a whole number") for days in ("35.0", "1e1", "+35")),
    (["--parameter-overrides", "LambdaMemorySize=512.5"], "accepted: a whole number"),
    (["--parameter-overrides", "Memory=512"], "'Memory' is not a parameter of"),
    (["--parameter-overrides", "Environment=prod"], "Environment=prod is refused"),
    (["--no-execute-changeset", "--allow-replacement", "TransactionsTable"], "accepted: one of them"),
    (["--based-on", "qa"], "--based-on 'qa' is not in"),
])
def test_bad_flag_values_exit_2_naming_the_value_and_what_is_accepted(
    aws: Clients, run: Run, flags: list[str], message: str
) -> None:
    result = run("deploy", "--env", "pr-9" if "--based-on" in flags else "staging", "--yes", *flags)

    assert result.code == 2, result.out
    assert message in result.err
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


def test_output_accepts_only_text_or_json(run: Run) -> None:
    result = run("diff", "--env", "staging", "--output", "yaml")
    assert result.code == 2 and "invalid choice: 'yaml'" in result.err


@pytest.mark.parametrize(("command", "flags"), [
    ("deploy", ["--profile", "--role-arn", "--parameter-overrides", "--tags", "--no-execute-changeset",
                "--notification-arns", "--based-on", "--environments", "--dry-run"]),
    ("diff", ["--profile", "--role-arn", "--parameter-overrides", "--tags", "--notification-arns", "--based-on",
              "--environments", "--output"]),
    ("outputs", ["--profile", "--output"]),
    ("destroy", ["--profile", "--role-arn"]),
])
def test_every_new_flag_is_in_help(command: str, flags: list[str]) -> None:
    subcommands = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    text = subcommands.choices[command].format_help()
    for flag in flags:
        assert re.search(rf"{flag}\b", text), f"{command} --help lacks {flag}"
