"""HANDOFF.md says what the template says: every parameter, output, resource, skip and command."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from support.environments import SHIPPED as ENVIRONMENTS
from webhook_templates.handoff import document as handoff_module
from webhook_templates.handoff.document import ACTION_WORDS, iam_actions, in_words
from webhook_templates.handoff.markdown import short_form
from webhook_templates.handoff.procedure import change_set_block
from webhook_templates.stack import naming
from webhook_templates.stack.capabilities import required_capabilities
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT


def mermaid_block(document: str) -> str:
    match = re.search(r"### Every resource\n.*?```mermaid\n(.*?)```", document, re.S)
    assert match, "HANDOFF.md has no Mermaid block of every resource"
    return match.group(1)


def test_every_parameter_appears_with_its_default_and_description(handoff: str, body: dict[str, Any]) -> None:
    for key, parameter in body["Parameters"].items():
        row = next((line for line in handoff.splitlines() if line.startswith(f"| `{key}` | {parameter['Type']}")), None)
        assert row, f"parameter {key} missing from the parameters table"
        assert parameter["Description"].split(";")[0] in row
        if "Default" in parameter:
            assert f"`{short_form(parameter['Default'])}`" in row
        for value in parameter.get("AllowedValues", []):
            assert f"`{value}`" in row


def test_every_output_appears(handoff: str, body: dict[str, Any]) -> None:
    for key, output in body["Outputs"].items():
        assert f"| `{key}` | {output['Description']} |" in handoff


def test_every_resource_and_condition_appears(handoff: str, body: dict[str, Any]) -> None:
    for logical_id, resource in body["Resources"].items():
        assert f"| `{logical_id}` | `{resource['Type']}` |" in handoff
    for condition in body["Conditions"]:
        assert f"| `{condition}` |" in handoff


def test_mermaid_graph_names_every_resource_and_its_references(handoff: str, body: dict[str, Any]) -> None:
    graph = mermaid_block(handoff)
    assert graph.startswith("flowchart LR\n")
    declared = set(re.findall(r"^\s+(\w+)\[\"", graph, re.M))
    assert declared == set(body["Resources"])
    edges = set(re.findall(r"^\s+(\w+) -->\|[^|]+\| (\w+)$", graph, re.M))
    # A few relations any reader of the architecture expects to see.
    assert {
        ("WebhookFunction", "FunctionRole"),
        ("WebhookFunction", "TransactionsTable"),
        ("WebhookPostMethod", "LiveAlias"),
        ("LiveAlias", "WebhookFunction"),
        ("TransactionsTable", "EncryptionKey"),
        ("ApiStage", "ApiAccessLogGroup"),
    } <= edges
    assert {source for source, _ in edges} | {target for _, target in edges} <= set(body["Resources"])


def test_block_per_environment_uses_the_bundle_files(handoff: str) -> None:
    for name, config in ENVIRONMENTS.items():
        block = change_set_block(config, ["CAPABILITY_NAMED_IAM"], 42_000)
        assert f"### {name}\n\n```sh\n{block}```" in handoff
        assert ("--template-body file://template.json --parameters file://parameters/"
                f"{name}.json --capabilities CAPABILITY_NAMED_IAM") in block
        assert ('aws cloudwatch put-dashboard --dashboard-name "$STACK" --dashboard-body '
                f'"$(sed "s/__REGION__/$REGION/g" dashboards/{name}.json)"') in block


def test_the_account_role_advice_names_the_command_to_run_and_who_runs_it(handoff: str) -> None:
    before = handoff.split("### Before the first deploy", 1)[1].split("\n### ", 1)[0]
    assert ("Then deploy `account-setup.json` of this bundle once in that account and region, from this folder: "
            "`aws cloudformation deploy --template-file account-setup.json --stack-name webhook-account-setup "
            "--capabilities CAPABILITY_IAM`") in before
    assert "An account administrator deploys it, once: the deploy role below covers the webhook template only." \
        in before
    assert "`aws apigateway update-account --patch-operations" in before
    # No setting to edit or parameter to override any more.
    assert "create_api_gateway_account_role" not in handoff and "--parameter-overrides CreateApi" not in handoff


def test_handoff_says_how_to_upgrade_a_stack_that_created_the_role(handoff: str) -> None:
    before = handoff.split("### Before the first deploy", 1)[1].split("\n### ", 1)[0]
    assert "**Upgrading a stack that created the role itself** (`CreateApiGatewayAccountRole=true`" in before
    assert ("Deploy `account-setup.json` first (the command above: it points the account at its own role), then "
            "deploy the stack once with `webhook-templates deploy --env <env> --allow-replacement "
            "ApiGatewayLoggingRole --allow-replacement ApiGatewayAccount`") in before


def test_the_bundle_lists_the_account_setup_and_its_role_permissions(handoff: str) -> None:
    assert "- `account-setup.json`\n" in handoff
    assert ("### ApiGatewayLoggingRole\n\nIn `account-setup.json`, not the webhook stack (once per account and "
            "region). Name: generated by CloudFormation. Assumed by `apigateway.amazonaws.com`.") in handoff


def test_block_goes_through_s3_for_a_large_template() -> None:
    config = ENVIRONMENTS["prod"]
    assert "TEMPLATE_BUCKET" not in change_set_block(config, ["CAPABILITY_IAM"], TEMPLATE_BODY_LIMIT)
    large = change_set_block(config, ["CAPABILITY_IAM"], TEMPLATE_BODY_LIMIT + 1)
    assert '--template-url "https://$TEMPLATE_BUCKET.s3.amazonaws.com/$KEY"' in large
    assert "--template-body" not in large
    assert 'aws s3 cp template.json "s3://$TEMPLATE_BUCKET/$KEY"' in large


def test_capabilities_follow_the_iam_resources(body: dict[str, Any]) -> None:
    assert required_capabilities(body) == ["CAPABILITY_NAMED_IAM"]
    unnamed = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {}}}}
    assert required_capabilities(unnamed) == ["CAPABILITY_IAM"]
    assert required_capabilities({"Resources": {}, "Transform": "AWS::Serverless-2016-10-31"}) == [
        "CAPABILITY_AUTO_EXPAND"
    ]


def test_every_granted_action_has_plain_words(body: dict[str, Any], handoff: str) -> None:
    granted = iam_actions(body)
    assert {"dynamodb:PutItem", "secretsmanager:GetSecretValue", "kms:Decrypt"} <= granted
    assert granted <= set(ACTION_WORDS), f"add wordings for {sorted(granted - set(ACTION_WORDS))}"
    for action in granted:
        assert ACTION_WORDS[action] in handoff


def test_an_action_without_wording_fails_loudly() -> None:
    with pytest.raises(KeyError, match="ACTION_WORDS"):
        in_words("dynamodb:DeleteTable")


def test_checkov_skips_with_their_reasons(handoff: str, body: dict[str, Any]) -> None:
    skips = handoff_module.checkov_skips(body)
    assert {check for check, _, _ in skips} >= {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_59", "CKV_AWS_120"}
    for check, resource, reason in skips:
        assert f"| `{check}` | `{resource}` | {reason} |" in handoff


def test_retained_resources_are_listed(handoff: str, body: dict[str, Any]) -> None:
    section = handoff.split("## What is retained when a stack is deleted")[1].split("\n## ")[0]
    retained = {k for k, r in body["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert retained == set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert "DeletionProtectionEnabled" in section


def test_request_contract_is_the_models_schema(handoff: str, handler_artifact: HandlerArtifact) -> None:
    assert f"| the whole body | at most {handler_artifact.limits.max_body_bytes:,} bytes;" in handoff
    assert '"required": [\n    "transactionId",' in handoff
    assert "`BAD_REQUEST_BODY`" in handoff


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "X"}, "!Ref X"),
        ({"Fn::GetAtt": ["T", "Arn"]}, "!GetAtt T.Arn"),
        ({"Fn::Sub": "a-${Environment}"}, "!Sub 'a-${Environment}'"),
        ({"Fn::If": ["C", True, {"Ref": "AWS::NoValue"}]}, "!If [C, true, !Ref AWS::NoValue]"),
        ("", "''"),
    ],
)
def test_short_form(value: Any, expected: str) -> None:
    assert short_form(value) == expected


def test_table_cells_escape_pipes(handoff: str) -> None:
    # next(), not a filtering loop: a row that is missing (or renamed) must fail, not pass vacuously.
    row = next((line for line in handoff.splitlines() if line.startswith("| `SigningSecretArn` | String")), None)
    assert row is not None, "the SigningSecretArn parameter row is missing"
    assert r"^$\|^arn:" in row
    assert len(re.split(r"(?<!\\)\|", row)) - 2 == 5  # the escaped pipe does not add a column


def test_the_yaml_is_presented_as_the_readable_copy_not_an_alternative(
    handoff: str, files: dict[str, Any]
) -> None:
    assert "either file can be used" not in handoff
    assert (
        "`template.yaml` is the same template in YAML, for reading and review. It is larger, closer "
        f"to CloudFormation's {TEMPLATE_BODY_LIMIT:,}-byte limit on a template body, so the blocks "
        f"above deploy `{handoff_module.DEPLOY_TEMPLATE}`."
    ) in handoff
    # What the sentence claims about the two files.
    assert handoff_module.DEPLOY_TEMPLATE == "template.json"
    assert len(files["template.yaml"].content.encode()) > len(files["template.json"].content.encode())


def _section(handoff: str, title: str) -> str:
    start = handoff.index(f"## {title}\n")
    end = handoff.find("\n## ", start + 1)
    return handoff[start:end if end != -1 else None]


def _json_blocks(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]


def test_handoff_says_who_reads_the_secret_and_what_an_existing_one_needs(handoff: str, body: dict[str, Any]) -> None:
    section = _section(handoff, "Who can use the key and read the signing secret")
    assert "`SigningSecretPolicy` denies `secretsmanager:GetSecretValue`" in section
    assert "`SigningSecretReaders`" in section and "`SigningSecretArn`" in section
    assert 'put-resource-policy --secret-id "$SECRET_ARN" --block-public-policy' in section
    secret_policy, key_statement = _json_blocks(section)
    role = f"arn:aws:iam::<account>:role/{naming.ROLE}-<env>"
    (deny,) = secret_policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] == ["secretsmanager:GetSecretValue"]
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"][0] == role
    # The same statement the stack attaches to the secret it creates, but for the readers.
    # (the created secret's has a second statement for the deploy role, which never reads an existing secret).
    created, for_the_deploy_role = body["Resources"]["SigningSecretPolicy"]["Properties"]["ResourcePolicy"]["Statement"]
    assert {k: v for k, v in deny.items() if k != "Condition"} == {k: v for k, v in created.items() if k != "Condition"}
    assert for_the_deploy_role["Sid"] == "DeployRoleReadsOnlyThroughCloudFormation"
    assert list(deny["Condition"]) == ["ArnNotLike"]
    assert key_statement["Principal"] == {"AWS": role} and key_statement["Action"] == ["kms:Decrypt"]
    assert key_statement["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.<region>.amazonaws.com"}}
