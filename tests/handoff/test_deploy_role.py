"""``deploy-role-policy.json``: every action the template's types need, scoped, and no wildcard action."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import re
from typing import Any

import pytest

from stack.template_helpers import allowed
from support.environments import SHIPPED
from webhook_templates.handoff import deploy_role
from webhook_templates.handoff.render import RenderedFile


def policy(files: dict[str, RenderedFile]) -> dict[str, Any]:
    return dict(json.loads(files[deploy_role.NAME].content))


def granted(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def test_every_action_the_registry_schemas_list_is_granted(
    files: dict[str, RenderedFile], body: dict[str, Any]
) -> None:
    needed = deploy_role.needed_permissions(body)
    # The ones any reader would expect, so an empty schema lookup cannot pass.
    assert {"dynamodb:CreateTable", "dynamodb:DeleteTable", "lambda:CreateFunction", "iam:PassRole",
            "kms:CreateKey", "logs:CreateLogGroup", "secretsmanager:CreateSecret", "apigateway:POST",
            "cloudwatch:PutMetricAlarm", "kms:PutKeyPolicy", "kms:CreateGrant"} <= needed
    # Key actions are the key policy's to grant (it names the role), but for creating and tagging a
    # new key and the alias side of aliases, which no key policy can grant.
    in_this_policy = needed - {a for a in needed if a.startswith("kms:")} | (needed & BEFORE_THE_KEY_EXISTS)
    assert granted(policy(files)) == in_this_policy
    assert needed - in_this_policy <= deploy_role.key_policy_grants(body)
    listed = deploy_role.handler_permissions(deploy_role.resource_types(body))
    assert needed <= listed


def test_drift_detection_and_import_can_read_every_resource(
    files: dict[str, RenderedFile], body: dict[str, Any],
) -> None:
    """The read handlers' permissions: without them a drift check with the role fails."""
    assert {"lambda:GetPolicy", "codedeploy:ListTagsForResource", "lambda:GetFunctionScalingConfig",
            "logs:DescribeLogGroups"} <= granted(policy(files))
    # The key's, by its key policy.
    assert {"kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
            "kms:DescribeKey"} <= deploy_role.key_policy_grants(body)


#: The KMS actions the role's own policy keeps: a key that does not exist yet has no key policy.
BEFORE_THE_KEY_EXISTS = {"kms:CreateKey", "kms:TagResource", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
                         "kms:ListAliases"}

#: What the role must never do, whatever the handlers list.
ITEM_ACTIONS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def test_the_role_cannot_read_or_delete_items(files: dict[str, RenderedFile], body: dict[str, Any]) -> None:
    assert ITEM_ACTIONS & deploy_role.handler_permissions(["AWS::DynamoDB::Table"]) == ITEM_ACTIONS
    assert not ITEM_ACTIONS & granted(policy(files))


def test_only_the_properties_the_template_sets_bring_their_permissions(body: dict[str, Any]) -> None:
    document = json.loads(deploy_role.to_json(deploy_role.deploy_role_policy(body, SHIPPED)))
    unused = {"ec2:DescribeVpcs", "lambda:GetLayerVersion", "dynamodb:ImportTable", "kinesis:PutRecords",
              "logs:PutResourcePolicy", "logs:DeleteResourcePolicy", "s3files:ListMountTargets",
              "secretsmanager:ReplicateSecretToRegions", "dynamodb:UpdateContributorInsights"}
    assert not unused & granted(document)
    # The deliveries table's TTL is a property the template sets, so its permission is granted.
    assert "dynamodb:UpdateTimeToLive" in granted(document)
    in_a_vpc = copy.deepcopy(body)
    in_a_vpc["Resources"]["WebhookFunction"]["Properties"]["VpcConfig"] = {"SubnetIds": ["subnet-1"]}
    in_a_vpc["Resources"]["TransactionsTable"]["Properties"]["ContributorInsightsSpecification"] = {"Enabled": True}
    widened = granted(json.loads(deploy_role.to_json(deploy_role.deploy_role_policy(in_a_vpc, SHIPPED))))
    assert widened - granted(document) == {"ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
                                           "dynamodb:UpdateContributorInsights"}
    without_ttl = copy.deepcopy(body)
    del without_ttl["Resources"]["DeliveriesTable"]["Properties"]["TimeToLiveSpecification"]
    narrowed = granted(json.loads(deploy_role.to_json(deploy_role.deploy_role_policy(without_ttl, SHIPPED))))
    assert granted(document) - narrowed == {"dynamodb:UpdateTimeToLive"}


def test_stopping_a_deployment_is_granted_where_it_can_match(files: dict[str, RenderedFile]) -> None:
    """``codedeploy:StopDeployment`` takes no resource ARN: scoped to the application it never matched."""
    (stop,) = statements_granting(policy(files), "codedeploy:StopDeployment")
    assert stop["Resource"] == ["*"]


def test_no_action_is_a_wildcard_and_only_resource_less_actions_get_star(files: dict[str, RenderedFile]) -> None:
    document = policy(files)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action, action
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= deploy_role.UNSCOPED, statement["Sid"]


def test_scoped_services_name_this_stack(files: dict[str, RenderedFile]) -> None:
    resources = {statement["Sid"]: statement["Resource"] for statement in policy(files)["Statement"]}
    assert resources["DynamodbOnThisStack"][0] == "arn:aws:dynamodb:*:*:table/transactions-*"
    assert resources["LambdaOnThisStack"] == ["arn:aws:lambda:*:*:function:webhook-processor-*"]
    assert "arn:aws:iam::*:role/webhook-lambda-role-*" in resources["IamOnThisStack"]
    assert resources["SecretsmanagerOnThisStack"] == ["arn:aws:secretsmanager:*:*:secret:webhook-signing-secret-*"]
    assert set(resources["LogsOnThisStack"]) == {"arn:aws:logs:*:*:log-group:/aws/lambda/webhook-processor-*",
                                                 "arn:aws:logs:*:*:log-group:/aws/apigateway/webhook-api-*"}


def test_provisioned_concurrency_on_the_alias_is_granted_on_this_stacks_function(
    files: dict[str, RenderedFile]
) -> None:
    """The alias's registry schema brings these, so an environment may turn provisioned concurrency on
    (and off) with the same role; the function scope covers the alias's qualified ARN."""
    (lambda_statement,) = [st for st in policy(files)["Statement"] if st["Sid"] == "LambdaOnThisStack"]
    assert {"lambda:PutProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig"} <= set(lambda_statement["Action"])
    alias_arn = "arn:aws:lambda:eu-west-1:123456789012:function:webhook-processor-prod:live"
    assert any(fnmatch.fnmatchcase(alias_arn, pattern) for pattern in lambda_statement["Resource"])


def test_the_deploy_role_covers_both_tables_and_the_transaction_stream(files: dict[str, RenderedFile]) -> None:
    """Creating the deliveries table (TTL included) and turning the stream on and off are the table
    handlers' actions, on this stack's two table names; the stream's ARN sits under its table's."""
    (dynamodb,) = [st for st in policy(files)["Statement"] if st["Sid"] == "DynamodbOnThisStack"]
    assert {"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:UpdateTable",
            "dynamodb:DescribeTimeToLive"} <= set(dynamodb["Action"])
    for arn in ("arn:aws:dynamodb:eu-west-1:123456789012:table/webhook-deliveries-prod",
                "arn:aws:dynamodb:eu-west-1:123456789012:table/transactions-prod/stream/2025-01-01T00:00:00.000"):
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in dynamodb["Resource"]), arn
    assert not any(fnmatch.fnmatchcase("arn:aws:dynamodb:eu-west-1:123456789012:table/other", pattern)
                   for pattern in dynamodb["Resource"])


def statements_granting(document: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [statement for statement in document["Statement"] if action in statement["Action"]]


#: Every resource of a kind: ``*``, or an ARN ending in ``<type>/*`` (``key/*``, ``role/aws-service-role/*``).
EVERY_RESOURCE_OF_A_KIND = re.compile(r"\*|arn:aws:[a-z0-9-]+:[^:]*:[^:]*:(?:[A-Za-z0-9-]+[:/])+\*")


def test_no_iam_or_kms_action_reaches_every_resource_of_a_kind_without_a_condition(
    files: dict[str, RenderedFile],
) -> None:
    """The property the two review findings broke: ``key/*`` unconditioned, ``iam:PassRole`` to any service."""
    assert EVERY_RESOURCE_OF_A_KIND.fullmatch("arn:aws:kms:*:*:key/*")
    assert not EVERY_RESOURCE_OF_A_KIND.fullmatch("arn:aws:kms:*:*:alias/webhook-lambda-*")
    unconditioned = set()
    for statement in policy(files)["Statement"]:
        if "Condition" in statement or not any(EVERY_RESOURCE_OF_A_KIND.fullmatch(r) for r in statement["Resource"]):
            continue
        unconditioned |= {action for action in statement["Action"] if action.startswith(("iam:", "kms:"))}
    # The one exception: a read-only listing with no resource and no condition key but the caller's account.
    assert deploy_role.UNCONDITIONED_LISTINGS == {"kms:ListAliases"}
    assert unconditioned == set(deploy_role.UNCONDITIONED_LISTINGS)


#: Administering a key: what an attacker with the role would want on another key.
KEY_ADMINISTRATION = {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:EnableKeyRotation",
                      "kms:DisableKeyRotation", "kms:UntagResource", "kms:UpdateKeyDescription", "kms:Decrypt",
                      "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"}
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_role_cannot_tag_or_administer_another_key(files: dict[str, RenderedFile]) -> None:
    """No grant on an existing key, and none conditioned on a key's tags: tagging another key gains nothing."""
    document = policy(files)
    tags = {"aws:ResourceTag/Team": "payments-platform", "aws:ResourceTag/CostCenter": "fintech-webhooks"}
    for action in KEY_ADMINISTRATION:
        assert not allowed(document, action, None, tags, OTHER_KEY), action
        assert not allowed(document, action, None, {}, OTHER_KEY), action
    # Tagging an existing key: only with tags in the request, which a tag on another key needs as well,
    # and it is the only key-resource grant left: nothing the role has is conditioned on a key's tags.
    assert not allowed(document, "kms:TagResource", None, {}, OTHER_KEY)
    assert "aws:ResourceTag" not in json.dumps(document)


def test_key_creation_requires_the_tags_the_template_puts_on_its_key(
    files: dict[str, RenderedFile], body: dict[str, Any],
) -> None:
    # The key's tags are stack tags, which CloudFormation passes to CreateKey.
    assert "Tags" not in body["Resources"]["EncryptionKey"]["Properties"]
    expected = {"Team": sorted({env.team for env in SHIPPED.values()}),
                "CostCenter": sorted({env.cost_center for env in SHIPPED.values()})}
    assert expected == {"Team": ["payments-platform"], "CostCenter": ["fintech-webhooks"]}
    on_requests = {f"aws:RequestTag/{tag}": values for tag, values in expected.items()}
    document = policy(files)
    request = {"aws:RequestTag/Team": "payments-platform", "aws:RequestTag/CostCenter": "fintech-webhooks"}
    assert allowed(document, "kms:CreateKey", None, request, "*")
    assert allowed(document, "kms:TagResource", None, request, OTHER_KEY)  # KMS checks a new key's tags so
    assert not allowed(document, "kms:CreateKey", None, {**request, "aws:RequestTag/Team": "other"}, "*")
    assert not allowed(document, "kms:CreateKey", None, {}, "*")
    (create,) = statements_granting(document, "kms:CreateKey")
    assert create["Resource"] == ["*"] and create["Condition"] == {"StringEquals": on_requests}
    assert {a for s in document["Statement"] for a in s["Action"] if a.startswith("kms:")} == BEFORE_THE_KEY_EXISTS


def test_the_key_policy_grants_the_role_what_the_key_handlers_need(body: dict[str, Any]) -> None:
    """Every KMS action a handler lists, but creating the key, is in a key policy statement naming ``DeployRole``;
    one missing is an error at render, not an AccessDenied mid-deploy."""
    needed = ({a for a in deploy_role.needed_permissions(body) if a.startswith("kms:")}
              - {"kms:CreateKey"} - deploy_role.UNCONDITIONED_LISTINGS)
    assert {"kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion", "kms:CreateGrant"} <= needed
    assert needed <= deploy_role.key_policy_grants(body)
    narrowed = copy.deepcopy(body)
    for statement in narrowed["Resources"]["EncryptionKey"]["Properties"]["KeyPolicy"]["Statement"]:
        if statement["Sid"] == "AccountAdministersKey":
            statement["Action"].remove("kms:PutKeyPolicy")
    with pytest.raises(ValueError, match="the key policy does not grant the deploy role kms:PutKeyPolicy"):
        deploy_role.deploy_role_policy(narrowed, SHIPPED)
    # The key handler calls KMS directly: granted only through a service, it would still fail.
    moved = copy.deepcopy(body)
    for statement in moved["Resources"]["EncryptionKey"]["Properties"]["KeyPolicy"]["Statement"]:
        if statement["Sid"] == "AccountAdministersKey":
            statement["Action"].remove("kms:EnableKeyRotation")
        if statement["Sid"] == "AccountUsesKeyThroughServices":
            statement["Action"].append("kms:EnableKeyRotation")
    with pytest.raises(ValueError, match="the key policy does not grant the deploy role kms:EnableKeyRotation"):
        deploy_role.deploy_role_policy(moved, SHIPPED)


BOUNDARY = "arn:aws:iam::${aws:PrincipalAccount}:policy/webhook-permissions-boundary"
FUNCTION_ROLE = "arn:aws:iam::123456789012:role/webhook-lambda-role-prod"


def test_the_role_creates_and_changes_roles_only_with_the_boundary(files: dict[str, RenderedFile]) -> None:
    document = policy(files)
    bounded = {"iam:PermissionsBoundary": BOUNDARY}
    own_policy = {"iam:PolicyARN": "arn:aws:iam::${aws:PrincipalAccount}:policy/webhook-extra"}
    for action, context in (("iam:CreateRole", {}), ("iam:PutRolePolicy", {}),
                            ("iam:PutRolePermissionsBoundary", {}), ("iam:AttachRolePolicy", own_policy)):
        assert allowed(document, action, None, {**context, **bounded}, FUNCTION_ROLE), action
        assert not allowed(document, action, None, context, FUNCTION_ROLE), action
        other = {"iam:PermissionsBoundary": "arn:aws:iam::${aws:PrincipalAccount}:policy/AdministratorAccess"}
        assert not allowed(document, action, None, {**context, **other}, FUNCTION_ROLE), action
    # The boundary, once on, stays on: removing it is never granted, whatever the role handler lists.
    assert "iam:DeleteRolePermissionsBoundary" in deploy_role.handler_permissions(["AWS::IAM::Role"])
    assert "iam:DeleteRolePermissionsBoundary" not in granted(document)


def test_the_templates_roles_carry_the_boundary_when_one_is_named(body: dict[str, Any]) -> None:
    boundary = {"Fn::If": ["HasPermissionsBoundary",
                           {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${PermissionsBoundary}"},
                           {"Ref": "AWS::NoValue"}]}
    roles = [r for r in body["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 2
    for role in roles:
        assert role["Properties"]["PermissionsBoundary"] == boundary
    assert body["Conditions"]["HasPermissionsBoundary"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "PermissionsBoundary"}, ""]}]}
    assert body["Parameters"]["PermissionsBoundary"]["Default"] == ""  # none unless asked for: still deploys
    # Named as the bundle's, the template's boundary is exactly the one the deploy role requires.
    arn = (boundary["Fn::If"][1]["Fn::Sub"]
           .replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", "111122223333"))
    required = deploy_role.BOUNDARY_ARN.replace("${aws:PrincipalAccount}", "111122223333")
    assert arn.replace("${PermissionsBoundary}", "webhook-permissions-boundary") == required


def test_the_boundary_allows_what_the_templates_roles_do_on_this_stack_only(
    files: dict[str, RenderedFile], body: dict[str, Any],
) -> None:
    from webhook_templates.handoff import permissions_boundary

    boundary = json.loads(files[permissions_boundary.NAME].content)
    for action, resource in (
        ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/transactions-prod"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/webhook-deliveries-prod"),
        ("secretsmanager:GetSecretValue",
         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-signing-secret-prod-AbCdEf"),
        ("lambda:UpdateAlias", "arn:aws:lambda:eu-west-1:123456789012:function:webhook-processor-prod:live"),
        ("xray:PutTraceSegments", "*"),
    ):
        assert allowed(boundary, action, None, {}, resource), action
    for action, resource in (
        ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/ledger"),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/transactions-prod"),
        ("iam:PassRole", "*"), ("iam:CreateRole", "*"), ("s3:GetObject", "*"), ("kms:PutKeyPolicy", OTHER_KEY),
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:payroll-db-AbCdEf"),
        ("kms:Decrypt", OTHER_KEY),  # directly: only through the services that encrypt with the key
        ("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:123456789012:function:webhook-processor-prod"),
    ):
        assert not allowed(boundary, action, None, {}, resource), action
    # Its actions are the template's own: a new action in a role's policy is in the boundary too.
    assert {a for s in boundary["Statement"] for a in s["Action"]} == {
        a for actions in permissions_boundary.role_actions(body).values() for a in actions}
    assert allowed(boundary, "kms:Decrypt", None, {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}, OTHER_KEY)
    # An environment's existing secret is the one more secret the function may read.
    existing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared-webhook-secret-AbCdEf"
    environments = {**SHIPPED, "prod": dataclasses.replace(SHIPPED["prod"], signing_secret_arn=existing)}
    with_existing = json.loads(deploy_role.to_json(
        permissions_boundary.boundary_policy(body, deploy_role.SCOPES, environments.values())))
    assert allowed(with_existing, "secretsmanager:GetSecretValue", None, {}, existing)
    assert not allowed(boundary, "secretsmanager:GetSecretValue", None, {}, existing)
    widened = copy.deepcopy(body)
    widened["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "*"})
    with pytest.raises(ValueError, match="no resource scope for sqs"):
        permissions_boundary.boundary_policy(widened, deploy_role.SCOPES, SHIPPED.values())


def test_handoff_creates_the_boundary_before_the_role_and_asks_environments_to_name_both(handoff: str) -> None:
    commands = deploy_role.create_commands()
    assert commands[0] == ("aws iam create-policy --policy-name webhook-permissions-boundary "
                           "--policy-document file://permissions-boundary-policy.json")
    assert 'deploy_role = "webhook-cloudformation-deploy"' in handoff
    assert 'permissions_boundary = "webhook-permissions-boundary"' in handoff


def test_key_tag_values_come_from_every_environment(body: dict[str, Any]) -> None:
    environments = {**SHIPPED, "qa": dataclasses.replace(SHIPPED["dev"], name="qa", team="risk", cost_center="cc-9")}
    document = json.loads(deploy_role.to_json(deploy_role.deploy_role_policy(body, environments)))
    (create,) = statements_granting(document, "kms:CreateKey")
    assert create["Condition"]["StringEquals"] == {"aws:RequestTag/CostCenter": ["cc-9", "fintech-webhooks"],
                                                   "aws:RequestTag/Team": ["payments-platform", "risk"]}


def test_no_environment_is_an_error_not_an_unmatchable_policy(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="no environment gives the key a value for Team, CostCenter"):
        deploy_role.deploy_role_policy(body, {})


EXPECTED_PASSES = {
    "lambda.amazonaws.com": ["arn:aws:iam::*:role/webhook-lambda-role-*"],
    "codedeploy.amazonaws.com": ["arn:aws:iam::*:role/webhook-*-CodeDeployRole-*"],
}


def test_each_role_is_passed_only_to_the_service_it_is_for(files: dict[str, RenderedFile]) -> None:
    passes = statements_granting(policy(files), "iam:PassRole")
    passed = {}
    for statement in passes:
        assert statement["Action"] == ["iam:PassRole"], statement["Sid"]
        assert list(statement["Condition"]) == ["StringEquals"], statement["Sid"]
        assert list(statement["Condition"]["StringEquals"]) == ["iam:PassedToService"], statement["Sid"]
        passed[statement["Condition"]["StringEquals"]["iam:PassedToService"]] = statement["Resource"]
    assert passed == EXPECTED_PASSES


def test_a_role_goes_to_the_service_its_trust_policy_names(body: dict[str, Any]) -> None:
    """The services come from the template's trust policies, not from a list beside them."""
    changed = copy.deepcopy(body)
    trust = changed["Resources"]["CodeDeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Principal"]["Service"] = "states.amazonaws.com"
    document = json.loads(deploy_role.to_json(deploy_role.deploy_role_policy(changed, SHIPPED)))
    passed = {s["Condition"]["StringEquals"]["iam:PassedToService"]: s["Resource"]
              for s in statements_granting(document, "iam:PassRole")}
    assert passed["states.amazonaws.com"] == EXPECTED_PASSES["codedeploy.amazonaws.com"]
    assert "codedeploy.amazonaws.com" not in passed


def test_a_role_without_a_known_arn_is_an_error(body: dict[str, Any]) -> None:
    extended = copy.deepcopy(body)
    extended["Resources"]["AnotherRole"] = body["Resources"]["CodeDeployRole"]
    with pytest.raises(ValueError, match="no ARN for the role AnotherRole"):
        deploy_role.deploy_role_policy(extended, SHIPPED)


def test_managed_policies_attach_only_from_this_account_and_service_linked_roles_only_for_dynamodb(
    files: dict[str, RenderedFile],
) -> None:
    document = policy(files)
    (attach,) = statements_granting(document, "iam:AttachRolePolicy")
    assert attach["Action"] == ["iam:AttachRolePolicy"]
    # Never an AWS-managed policy (arn:aws:iam::aws:policy/...): only this account's own webhook-* ones.
    own = "arn:aws:iam::${aws:PrincipalAccount}:policy/webhook-*"
    assert attach["Condition"] == {"ArnLike": {"iam:PolicyARN": own},
                                   "StringEquals": {"iam:PermissionsBoundary": BOUNDARY}}
    assert set(attach["Resource"]) == {arn for arns in EXPECTED_PASSES.values() for arn in arns}
    (linked,) = statements_granting(document, "iam:CreateServiceLinkedRole")
    assert linked["Resource"] == ["arn:aws:iam::*:role/aws-service-role/*"]
    assert linked["Condition"] == {"StringLike": {"iam:AWSServiceName": ["*.dynamodb.amazonaws.com"]}}
    # No other IAM action reaches the service-linked roles.
    for statement in document["Statement"]:
        if statement is not linked and any(a.startswith("iam:") for a in statement["Action"]):
            assert "arn:aws:iam::*:role/aws-service-role/*" not in statement["Resource"], statement["Sid"]


def test_a_service_without_a_scope_is_an_error_not_a_wildcard(body: dict[str, Any]) -> None:
    extended = {**body, "Resources": {**body["Resources"], "Queue": {"Type": "AWS::SQS::Queue"}}}
    with pytest.raises(ValueError, match="no resource scope for sqs"):
        deploy_role.deploy_role_policy(extended, SHIPPED)


def test_the_policy_fits_an_inline_role_policy(files: dict[str, RenderedFile]) -> None:
    # IAM's limit for a role's inline policies, counted without whitespace.
    assert len("".join(files[deploy_role.NAME].content.split())) <= 10_240


def test_handoff_says_how_to_create_and_use_the_role(handoff: str) -> None:
    for command in deploy_role.create_commands():
        assert command in handoff
    assert '${CFN_ROLE_ARN:+--role-arn "$CFN_ROLE_ARN"}' in handoff


def test_handoff_says_what_the_iam_and_kms_grants_are_conditioned_on(handoff: str) -> None:
    assert ("(`Team` is `payments-platform` and `CostCenter` is `fintech-webhooks`, the environments' `team` and "
            "`cost_center`, sent as stack tags;" in handoff)
    assert "`FunctionRole` to `lambda.amazonaws.com`" in handoff
    assert "`CodeDeployRole` to `codedeploy.amazonaws.com`" in handoff
    # The account setup's role is an administrator's to deploy, once: the deploy role never passes it.
    assert "ApiGatewayLoggingRole` to" not in handoff
    assert "key/*" not in handoff  # the unconditioned grant it used to describe


def test_deploy_takes_a_role_arn_and_refuses_a_malformed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from webhook_templates import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["deploy", "--env", "staging", "--role-arn", "webhook-cloudformation-deploy"])
    assert exit_info.value.code == 2
    assert "--role-arn 'webhook-cloudformation-deploy' is invalid; accepted: an IAM role ARN" in capsys.readouterr().err


def test_schemas_read_from_disk_are_the_ones_cfn_lint_serves(body: dict[str, Any]) -> None:
    """render reads the files directly (importing cfn-lint costs about a second); they must agree."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    types = deploy_role.resource_types(body)
    assert "AWS::Lambda::Alias" in types and "AWS::DynamoDB::Table" in types
    for resource_type in types:
        served = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        assert deploy_role.handler_schema(resource_type)["handlers"] == served["handlers"], resource_type
    with pytest.raises(ValueError, match="no registry schema for AWS::Nothing::Here"):
        deploy_role.handler_schema("AWS::Nothing::Here")
