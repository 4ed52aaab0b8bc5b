"""``cfn-outputs/flat-outputs.json`` as the commands read it back: a damaged file is absent, not a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from webhook_templates.deploy import stack_outputs
from webhook_templates.local import send

DEV_ENDPOINT = "https://dev123.execute-api.us-east-1.amazonaws.com/dev/webhook"

#: What an interrupted write or a hand edit can leave: cut-off JSON, and JSON that is no object.
DAMAGED = pytest.mark.parametrize("content", [
    '{"ApiEndpoint": "https://abc.execute-api.us-east-1.amazonaws.com/dev/web',
    '["ApiEndpoint", "TableName"]',
    '"transactions-dev"',
    "",
], ids=["truncated", "array", "string", "empty"])


class Session:
    """A boto3 session stand-in whose CloudFormation client is stubbed."""

    def __init__(self, cfn: Any) -> None:
        self._cfn = cfn

    def client(self, service: str) -> Any:
        assert service == "cloudformation"
        return self._cfn


def test_the_outputs_a_deploy_wrote_read_back(tmp_path: Path) -> None:
    path = stack_outputs.write({"TableName": "transactions-dev"}, tmp_path / "flat-outputs.json")

    assert stack_outputs.read(path) == {"TableName": "transactions-dev"}


def test_no_file_means_no_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_outputs.read(tmp_path / "flat-outputs.json") == {}
    assert capsys.readouterr().err == ""


@DAMAGED
def test_a_damaged_file_is_ignored_with_one_warning_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "flat-outputs.json"
    path.write_text(content)

    assert stack_outputs.read(path) == {}
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "ignored" in lines[0]


@DAMAGED
def test_send_env_with_a_damaged_file_asks_cloudformation_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "flat-outputs.json"
    path.write_text(content)
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [{
            "StackName": "webhook-dev", "StackStatus": "UPDATE_COMPLETE", "CreationTime": "2025-01-01T00:00:00Z",
            "Outputs": [{"OutputKey": "ApiEndpoint", "OutputValue": DEV_ENDPOINT}],
        }]}, {"StackName": "webhook-dev"})

        assert send.deployed_outputs("dev", Session(cfn), path) == {"ApiEndpoint": DEV_ENDPOINT}
        stubber.assert_no_pending_responses()
    assert "ignored" in capsys.readouterr().err


def test_a_file_that_cannot_be_read_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flat-outputs.json"
    path.mkdir()  # e.g. a mount or a mistaken mkdir: reading it raises IsADirectoryError

    assert stack_outputs.read(path) == {}
    assert str(path) in capsys.readouterr().err

