"""The command boundary: every failure is one line and a documented exit code, never a traceback.

Bad files (not UTF-8, parameter values that are not strings or numbers,
unknown keys, another environment's file), a closed stdout, a secret of an
unexpected shape, and the advice after a first deploy blocked by a retained
resource.  AWS faults proper are in ``test_faults.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deploy_testkit import MOTO_SKIPS_TYPES, Result

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
NOT_UTF8 = '{"Environment": "staging", "Team": "café"}'.encode("latin-1")


def one_line(result: Result) -> str:
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def staging_parameters(build_dir: Path) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"]
            for p in json.loads((build_dir / "parameters" / "staging.json").read_text())}


@pytest.mark.parametrize(("value", "shown"), [(None, "null"), (True, "true"), ({"a": 1}, '{"a": 1}'), ([1], "[1]")])
def test_a_parameter_value_that_is_not_a_string_or_number_is_a_usage_error(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path, value: Any, shown: str
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**staging_parameters(build_dir), "LambdaMemorySize": value}))

    result = run("deploy", "--env", "staging", "--yes", "--parameters", str(path))

    assert result.code == 2
    assert f"LambdaMemorySize is {shown}, not a string or a number" in one_line(result)


def test_numbers_are_written_out_as_cloudformation_takes_them(build_dir: Path, tmp_path: Path) -> None:
    from webhook_templates.deploy.inputs import load_parameters, load_template

    path = tmp_path / "p.json"
    path.write_text(json.dumps({"LambdaMemorySize": 512, "LambdaTimeout": 10.5}))

    loaded = load_parameters(path, load_template(build_dir / "template.json"), "staging")

    assert loaded == [{"ParameterKey": "LambdaMemorySize", "ParameterValue": "512"},
                      {"ParameterKey": "LambdaTimeout", "ParameterValue": "10.5"}]


def test_a_parameter_the_template_does_not_declare_is_a_usage_error(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**staging_parameters(build_dir), "LambdaMemorySise": "512"}))

    result = run("deploy", "--env", "staging", "--yes", "--parameters", str(path))

    assert result.code == 2
    line = one_line(result)
    assert "LambdaMemorySise not declared by" in line and "accepted: " in line and "LambdaMemorySize" in line


def test_an_entry_with_unknown_keys_is_a_usage_error(aws: Clients, run: Run, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"ParameterKey": "Environment", "ParameterValue": "staging", "UsePrevious": True}]))

    result = run("deploy", "--env", "staging", "--yes", "--parameters", str(path))

    assert result.code == 2
    assert "Environment has unknown key(s) UsePrevious" in one_line(result)


def test_another_environments_parameter_file_is_refused(aws: Clients, run: Run, build_dir: Path) -> None:
    result = run("deploy", "--env", "dev", "--yes", "--parameters", str(build_dir / "parameters" / "prod.json"))

    assert result.code == 2
    assert "is for Environment 'prod', not --env dev" in one_line(result)
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


@pytest.mark.parametrize("which", ["--template", "--parameters"])
def test_a_file_that_is_not_utf8_is_a_usage_error(
    aws: Clients, run: Run, build_dir: Path, tmp_path: Path, which: str
) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes(NOT_UTF8)
    files = {"--template": str(build_dir / "template.json"),
             "--parameters": str(build_dir / "parameters" / "staging.json"), which: str(bad)}

    result = run("deploy", "--env", "staging", "--yes", *[x for pair in files.items() for x in pair])

    assert result.code == 2
    assert f"{which} '{bad}' is not UTF-8 text" in one_line(result)


class ClosedAfter:
    """A stdout whose reader goes away after ``lines`` lines, as ``| head -1`` does."""

    def __init__(self, lines: int) -> None:
        self.left = lines
        self.written: list[str] = []

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.written.append(text)
        self.left -= text.count("\n")
        return len(text)

    def flush(self) -> None:
        if self.left < 0:
            raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("argv", [["deploy", "--env", "staging", "--dry-run"], ["outputs", "--env", "staging"]])
def test_a_closed_stdout_ends_quietly(aws: Clients, run: Run, monkeypatch: pytest.MonkeyPatch,
                                      argv: list[str]) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    monkeypatch.setattr("sys.stdout", ClosedAfter(1))

    result = run(*argv)

    assert result.code == 0
    assert result.err == ""
    assert aws("cloudformation").list_change_sets(StackName="webhook-staging")["Summaries"] == []


def test_send_env_with_a_secret_of_another_shape_is_one_line(
    aws: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook_templates.cli import main

    arn = aws("secretsmanager").create_secret(Name="odd", SecretString=json.dumps({"key": "x"}))["ARN"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfn-outputs").mkdir()
    (tmp_path / "cfn-outputs" / "flat-outputs.json").write_text(json.dumps({
        "ApiEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/dev/webhook", "SigningSecretArn": arn}))

    assert main(["send", "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == (f"the signing secret {arn} is not in the shape the handler reads; accepted: "
                           '{"current": "<base64 secret>", "previous": ...} or the secret itself as text')


def test_a_first_deploy_blocked_by_a_retained_table_names_it_and_says_what_to_do(aws: Clients, run: Run) -> None:
    aws("dynamodb").create_table(  # what a deleted earlier stack retained
        TableName="transactions-staging", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "transactionId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "transactionId", "KeyType": "HASH"}])

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert "Root cause: TransactionsTable (AWS::DynamoDB::Table) CREATE_FAILED" in result.err
    assert ("TransactionsTable (AWS::DynamoDB::Table) could not be created because a resource with its name "
            "already exists") in result.err
    assert "delete that resource (back its data up first) or import it into the stack" in result.err
    assert "creates it again" not in result.err
    try:
        status = aws("cloudformation").describe_stacks(StackName="webhook-staging")["Stacks"][0]["StackStatus"]
    except ClientError:
        status = None
    assert status == "ROLLBACK_COMPLETE"


def test_deploy_help_documents_exit_code_4(capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_templates.cli import main

    with pytest.raises(SystemExit):
        main(["deploy", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "4 deployed but protection not restored" in text
    assert "the command to restore it is printed" in text
