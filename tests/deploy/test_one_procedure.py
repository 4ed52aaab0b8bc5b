"""``webhook-templates deploy`` and the bundle's block are one procedure: the same requests, the same protections.

Both deploy the same environment twice (a create, then an update that changes
a parameter) against moto's server, with a service role and a notification
topic.  ``CreateChangeSet`` and ``ExecuteChangeSet`` are captured at the
server, as the query parameters it received, so the in-process CLI (boto3) and
the block's ``aws`` subprocess (AWS CLI v1) are read the same way; the stack
policy and termination protection are read after each deploy.  Only the change
set's name (and so its ARN, which ``ExecuteChangeSet`` names) is normalised: it
is made unique per run.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result
from moto.cloudformation.responses import CloudFormationResponse

from support import awscli, moto_server
from webhook_templates.handoff.procedure import NOTIFICATION_VARIABLE, ROLE_VARIABLE

pytestmark = [pytest.mark.filterwarnings(MOTO_SKIPS_TYPES), pytest.mark.slow]

Clients = Callable[[str], Any]
ROLE = "arn:aws:iam::123456789012:role/cfn-deployer"
TOPIC_NAME = "stack-events"
CAPTURED = ("create_change_set", "execute_change_set")
#: What is unique per run, replaced before comparing.
NORMALISED = {"ChangeSetName": "<the change set's name or ARN>"}


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, list[str]]]]]:
    """Every captured request moto's server answers, as ``(action, query parameters)``."""
    seen: list[tuple[str, dict[str, list[str]]]] = []
    for action in CAPTURED:
        original = getattr(CloudFormationResponse, action)

        def capture(self: CloudFormationResponse, _action: str = action, _original: Any = original) -> Any:
            seen.append((_action, {key: list(values) for key, values in self.querystring.items()}))
            return _original(self)

        monkeypatch.setattr(CloudFormationResponse, action, capture)
    yield seen


def fresh_account(endpoint: str, aws: Clients) -> str:
    """An empty account with API Gateway's CloudWatch role and the notification topic; the topic's ARN."""
    moto_server.reset(endpoint)
    moto_server.with_api_gateway_role(endpoint)
    return str(aws("sns").create_topic(Name=TOPIC_NAME)["TopicArn"])


def protections(aws: Clients, stack: str) -> dict[str, Any]:
    """What the deploy left: the stack policy (parsed: the CLI sends it compact, the block the file) and
    termination protection."""
    cfn = aws("cloudformation")
    return {"policy": json.loads(cfn.get_stack_policy(StackName=stack)["StackPolicyBody"]),
            "termination": cfn.describe_stacks(StackName=stack)["Stacks"][0]["EnableTerminationProtection"]}


def normalised(captured: list[tuple[str, dict[str, list[str]]]]) -> list[tuple[str, dict[str, list[str]]]]:
    return [(action, {key: [NORMALISED[key]] if key in NORMALISED else values for key, values in query.items()})
            for action, query in captured]


def differences(cli: list[tuple[str, dict[str, list[str]]]],
                block: list[tuple[str, dict[str, list[str]]]]) -> list[tuple[int, str, str, Any, Any]]:
    """``(request number, action, field, the CLI's value, the block's)`` for every field that differs."""
    return [(number, action, key, sent.get(key), by_block.get(key))
            for number, ((action, sent), (_, by_block)) in enumerate(zip(cli, block, strict=True))
            for key in sorted(set(sent) | set(by_block)) if sent.get(key) != by_block.get(key)]


def changed_bundle(build_dir: Path, folder: Path, environment: str) -> Path:
    """A copy of the bundle whose parameter file for ``environment`` changes the function's memory."""
    shutil.copytree(build_dir, folder)
    path = folder / "parameters" / f"{environment}.json"
    values = json.loads(path.read_text(encoding="utf-8"))
    for entry in values:
        if entry["ParameterKey"] == "LambdaMemorySize":
            entry["ParameterValue"] = str(int(entry["ParameterValue"]) + 128)
    path.write_text(json.dumps(values, indent=2), encoding="utf-8")
    return folder


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_deploy_and_the_block_send_the_same_requests_and_leave_the_same_protections(
    environment: str, aws: Clients, run: Callable[..., Result], requests: list[Any], moto_endpoint: str,
    build_dir: Path, tmp_path: Path,
) -> None:
    stack = f"webhook-{environment}"
    changed = changed_bundle(build_dir, tmp_path / "changed", environment)

    topic = fresh_account(moto_endpoint, aws)
    cli_protections = []
    for parameters in (build_dir, changed):
        result = run("deploy", "--env", environment, "--yes", "--role-arn", ROLE, "--notification-arns", topic,
                     "--parameters", str(parameters / "parameters" / f"{environment}.json"))
        assert result.code == 0, result.out + result.err
        cli_protections.append(protections(aws, stack))
    cli = normalised(requests)
    requests.clear()

    assert fresh_account(moto_endpoint, aws) == topic
    block_protections = []
    for folder in (build_dir, changed):
        result = awscli.run_block(folder, environment, moto_endpoint, home=tmp_path,
                                  variables={ROLE_VARIABLE: ROLE, NOTIFICATION_VARIABLE: topic})
        assert result.returncode == 0, result.stdout + result.stderr
        block_protections.append(protections(aws, stack))
    block = normalised(requests)

    # The create, then the update: each a change set created and executed.
    assert [action for action, _ in cli] == [*CAPTURED, *CAPTURED]
    create, update = cli[0][1], cli[2][1]
    assert create["ChangeSetType"] == ["CREATE"] and update["ChangeSetType"] == ["UPDATE"]
    assert create["RoleARN"] == [ROLE] and create["NotificationARNs.member.1"] == [topic]
    assert not any(key.startswith("RollbackConfiguration") for key in create)  # no alarms before the stack exists
    assert update["RollbackConfiguration.RollbackTriggers.member.1.Arn"] == [
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{stack}-FunctionErrors"]
    assert cli[1][1]["RetainExceptOnCreate"] == ["true"]
    assert [action for action, _ in block] == [action for action, _ in cli]
    assert differences(cli, block) == []  # field by field, each difference named
    assert block_protections == cli_protections
    assert cli_protections[-1]["termination"] is (environment == "prod")
