"""Stack tags reach every place a deploy is described: the handoff's commands and destroy's role."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
from botocore.stub import Stubber

from webhook_templates.config import parse_environments
from webhook_templates.deploy.console import Console
from webhook_templates.deploy.destroy import destroy
from webhook_templates.handoff.procedure import change_set_block


def test_handoff_deploy_command_sends_the_environments_stack_tags() -> None:
    env = parse_environments('[qa]\ntags = { Owner = "qa team", App = "webhooks" }\n')["qa"]

    command = change_set_block(env, ["CAPABILITY_NAMED_IAM"], 1000)

    # The same tags, in the same order, that `webhook-templates deploy` sends; quoted for the shell.
    assert ("--capabilities CAPABILITY_NAMED_IAM --tags Key=App,Value=webhooks 'Key=Owner,Value=qa team' "
            in command)


def test_handoff_deploy_command_without_tags_sends_an_empty_list_as_deploy_does() -> None:
    env = parse_environments("[qa]\n")["qa"]
    # An empty list removes the tags an earlier deploy set (`deploy` sends Tags=[] too); no flag would keep them.
    assert "--tags '[]' " in change_set_block(env, ["CAPABILITY_NAMED_IAM"], 1000)


def test_destroy_deletes_with_the_service_role(tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/cfn-deployer"
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/webhook-pr-1/1"
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [{
            "StackName": "webhook-pr-1", "StackId": stack_id, "StackStatus": "REVIEW_IN_PROGRESS",
            "CreationTime": "2026-01-01T00:00:00Z"}]}, {"StackName": "webhook-pr-1"})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id})
        stubber.add_response("delete_stack", {}, {"StackName": stack_id, "RoleARN": role})
        stubber.add_response("describe_stacks", {"Stacks": [{
            "StackName": "webhook-pr-1", "StackId": stack_id, "StackStatus": "DELETE_COMPLETE",
            "CreationTime": "2026-01-01T00:00:00Z"}]}, {"StackName": stack_id})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id})
        stubber.add_response("describe_stacks", {"Stacks": [{
            "StackName": "webhook-pr-1", "StackId": stack_id, "StackStatus": "DELETE_COMPLETE",
            "CreationTime": "2026-01-01T00:00:00Z"}]}, {"StackName": stack_id})
        console = Console(out=io.StringIO(), err=io.StringIO(), stdin=io.StringIO(""))

        code = destroy(cfn, "webhook-pr-1", console, assume_yes=True, poll_seconds=0,
                       outputs_file=tmp_path / "flat.json", role_arn=role)

    assert code == 0, console.err.getvalue()  # type: ignore[attr-defined]
