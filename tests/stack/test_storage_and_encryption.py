"""The table, the key, the secret and the log groups: the data and what protects it."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from template_helpers import PSEUDO, allowed, denied, props, resolve

from webhook_templates.stack import naming


def test_table_keeps_old_name_and_key_schema(resources: dict[str, Any]) -> None:
    table = props(resources, naming.TABLE_ID)
    assert table["TableName"] == {"Fn::Sub": "transactions-${Environment}"}
    assert table["KeySchema"] == [
        {"AttributeName": "transactionId", "KeyType": "HASH"},
        {"AttributeName": "timestamp", "KeyType": "RANGE"},
    ]
    assert table["AttributeDefinitions"] == [
        {"AttributeName": "transactionId", "AttributeType": "S"},
        {"AttributeName": "timestamp", "AttributeType": "N"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_deliveries_table_is_keyed_by_webhook_id_and_expires_markers(resources: dict[str, Any]) -> None:
    table = props(resources, naming.DELIVERIES_TABLE_ID)
    assert table["TableName"] == {"Fn::Sub": "webhook-deliveries-${Environment}"}
    assert table["KeySchema"] == [{"AttributeName": "deliveryId", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "deliveryId", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert "StreamSpecification" not in table  # markers are nobody's business downstream


def test_only_the_transactions_table_streams_and_only_when_asked(body: dict[str, Any]) -> None:
    table = body["Resources"][naming.TABLE_ID]["Properties"]
    assert table["StreamSpecification"] == {"Fn::If": ["HasTransactionStream", {"StreamViewType": "NEW_IMAGE"},
                                                       {"Ref": "AWS::NoValue"}]}
    assert body["Conditions"]["HasTransactionStream"] == {"Fn::Equals": [{"Ref": "TransactionStream"}, "true"]}
    assert body["Parameters"]["TransactionStream"]["Default"] == "false"
    output = body["Outputs"]["TransactionStreamArn"]
    assert output["Condition"] == "HasTransactionStream"
    assert output["Value"] == {"Fn::GetAtt": [naming.TABLE_ID, "StreamArn"]}


@pytest.mark.parametrize("logical_id", [naming.TABLE_ID, naming.DELIVERIES_TABLE_ID])
def test_table_is_recoverable_encrypted_and_protected(resources: dict[str, Any], logical_id: str) -> None:
    assert logical_id in naming.DATA_RESOURCES
    table = props(resources, logical_id)
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {
        "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": [naming.KEY_ID, "Arn"]},
    }
    assert table["DeletionProtectionEnabled"] == {"Fn::If": ["IsProduction", True, False]}


def test_every_data_resource_is_retained(resources: dict[str, Any]) -> None:
    for logical_id in naming.DATA_RESOURCES:
        assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id


def test_key_rotates_and_waits_seven_days_before_deletion(resources: dict[str, Any]) -> None:
    key = props(resources, naming.KEY_ID)
    assert key["EnableKeyRotation"] is True
    assert key["PendingWindowInDays"] == 7
    alias = props(resources, naming.KEY_ALIAS_ID)
    assert alias == {"AliasName": {"Fn::Sub": "alias/webhook-lambda-${Environment}"},
                     "TargetKeyId": {"Ref": naming.KEY_ID}}


def _statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in props(resources, naming.KEY_ID)["KeyPolicy"]["Statement"]}


#: Every KMS operation that encrypts, decrypts or hands the key on (grants), as
#: named in the Service Authorization Reference.  ``Sign``/``Verify``/MAC ones are
#: included so an asymmetric-style wildcard could not slip through either.
KMS_USE_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext", "kms:CreateGrant", "kms:Sign", "kms:Verify",
    "kms:GenerateMac", "kms:VerifyMac", "kms:DeriveSharedSecret",
)
#: Condition keys that say *how* the key is reached: through which service, for
#: which encrypted resource, or as a grant for an AWS resource.
HOW_KEYS = ("kms:ViaService", "kms:EncryptionContext:", "kms:GrantIsForAWSResource")

ACCOUNT = PSEUDO["AWS::AccountId"]
REGION = PSEUDO["AWS::Region"]
ROOT = ("AWS", f"arn:aws:iam::{ACCOUNT}:root")  # any principal of the account, as its IAM policy allows
LOGS = ("Service", f"logs.{REGION}.amazonaws.com")
REFS = {"Environment": "dev", "DeployRole": ""}
DEPLOY_ROLE_NAME = "webhook-cloudformation-deploy"
DEPLOY_ROLE = ("AWS", f"arn:aws:iam::{ACCOUNT}:role/{DEPLOY_ROLE_NAME}")


def _use_actions(statement: dict[str, Any]) -> set[str]:
    patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return {use for use in KMS_USE_ACTIONS for pattern in patterns if fnmatch.fnmatchcase(use, pattern)}


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for keys in statement.get("Condition", {}).values() for key in keys}


def test_no_principal_uses_the_key_without_a_condition_saying_how(resources: dict[str, Any]) -> None:
    policy = props(resources, naming.KEY_ID)["KeyPolicy"]
    users = [s for s in policy["Statement"] if s["Effect"] == "Allow" and _use_actions(s)]
    assert len(users) == 3, "logs, use through services, grants: each must be found and checked"
    for statement in users:
        keys = _condition_keys(statement)
        assert any(key.startswith(how) for key in keys for how in HOW_KEYS), statement["Sid"]
        if "kms:ViaService" in keys:  # through a service, but only for callers of this account
            assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}


def test_administration_statement_manages_the_key_but_cannot_use_it(resources: dict[str, Any]) -> None:
    admin = _statements(resources)["AccountAdministersKey"]
    # IAM reads the account ID as the account's root: its IAM policies decide; the deploy role beside it when named.
    assert resolve(admin["Principal"], REFS, {"HasDeployRole": False}) == {"AWS": ACCOUNT}
    assert resolve(admin["Principal"], {**REFS, "DeployRole": DEPLOY_ROLE_NAME}, {"HasDeployRole": True}) == {
        "AWS": [ACCOUNT, DEPLOY_ROLE[1]]}
    assert "Condition" not in admin
    assert _use_actions(admin) == set()
    assert not any("*" in action for action in admin["Action"]), "spell administration out: no wildcards"
    # What keeps the key manageable and its lifecycle in the account's hands.
    assert {"kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
            "kms:EnableKeyRotation", "kms:DisableKey", "kms:RevokeGrant"} <= set(admin["Action"])


def test_grants_only_for_aws_resources(resources: dict[str, Any]) -> None:
    granting = [s for s in _statements(resources).values() if "kms:CreateGrant" in _use_actions(s)]
    assert [s["Sid"] for s in granting] == ["AccountGrantsKeyToServiceResources"]
    assert granting[0]["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_use_goes_through_the_three_services_of_this_region(resources: dict[str, Any]) -> None:
    for sid in ("AccountUsesKeyThroughServices", "AccountGrantsKeyToServiceResources"):
        services = [s["Fn::Sub"] for s in _statements(resources)[sid]["Condition"]["StringEquals"]["kms:ViaService"]]
        expected = [f"{name}.${{AWS::Region}}.amazonaws.com" for name in ("dynamodb", "secretsmanager", "lambda")]
        assert services == expected


def _key_allows(resources: dict[str, Any], action: str, principal: tuple[str, str], deploy_role: str = "",
                **context: Any) -> bool:
    """Whether the key policy allows the request, with ``DeployRole`` = ``deploy_role``."""
    policy = resolve(props(resources, naming.KEY_ID)["KeyPolicy"], {**REFS, "DeployRole": deploy_role},
                     {"HasDeployRole": bool(deploy_role)})
    return allowed(policy, action, principal, context)


def test_the_named_deploy_role_administers_and_uses_this_key_by_its_key_policy(resources: dict[str, Any]) -> None:
    """The deploy role's IAM policy grants nothing on existing keys: this key's policy names it."""
    for action in ("kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:TagResource", "kms:ScheduleKeyDeletion",
                   "kms:GetKeyPolicy", "kms:CreateAlias"):
        assert _key_allows(resources, action, DEPLOY_ROLE, DEPLOY_ROLE_NAME), action
        assert not _key_allows(resources, action, DEPLOY_ROLE), action  # not named: not by this policy
    via = {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
    assert _key_allows(resources, "kms:CreateGrant", DEPLOY_ROLE, DEPLOY_ROLE_NAME, **via,
                       **{"kms:GrantIsForAWSResource": True})
    assert _key_allows(resources, "kms:Decrypt", DEPLOY_ROLE, DEPLOY_ROLE_NAME, **via)
    # Using it is still only through the services, for the deploy role too.
    assert not _key_allows(resources, "kms:Decrypt", DEPLOY_ROLE, DEPLOY_ROLE_NAME, **{"kms:CallerAccount": ACCOUNT})
    # Another role of the account is not named: only the account's IAM policies could let it.
    other = ("AWS", f"arn:aws:iam::{ACCOUNT}:role/other")
    assert not _key_allows(resources, "kms:PutKeyPolicy", other, DEPLOY_ROLE_NAME)


def test_the_functions_role_decrypts_only_through_its_services(resources: dict[str, Any]) -> None:
    """The role's IAM policy grants kms:Decrypt on the key; the key policy must allow it only via services."""
    mine = {"kms:CallerAccount": ACCOUNT}
    for service in ("secretsmanager", "lambda", "dynamodb"):
        via = {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}
        assert _key_allows(resources, "kms:Decrypt", ROOT, **mine, **via)
    assert _key_allows(resources, "kms:GenerateDataKey", ROOT, **mine,
                       **{"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"})
    # Called directly, through another service, from another region or by another account: no.
    assert not _key_allows(resources, "kms:Decrypt", ROOT, **mine)
    assert not _key_allows(resources, "kms:Decrypt", ROOT, **mine, **{"kms:ViaService": f"s3.{REGION}.amazonaws.com"})
    assert not _key_allows(resources, "kms:Decrypt", ROOT, **mine,
                           **{"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"})
    assert not _key_allows(resources, "kms:Decrypt", ROOT, **{"kms:CallerAccount": "444455556666",
                           "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"})


def test_grants_need_an_aws_resource_and_the_account_still_administers(resources: dict[str, Any]) -> None:
    via = {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
    assert _key_allows(resources, "kms:CreateGrant", ROOT, **via, **{"kms:GrantIsForAWSResource": True})
    assert not _key_allows(resources, "kms:CreateGrant", ROOT, **via, **{"kms:GrantIsForAWSResource": False})
    assert not _key_allows(resources, "kms:CreateGrant", ROOT, **via)
    assert _key_allows(resources, "kms:PutKeyPolicy", ROOT)
    assert _key_allows(resources, "kms:ScheduleKeyDeletion", ROOT)


def test_cloudwatch_logs_uses_the_key_only_for_this_stacks_log_groups(resources: dict[str, Any]) -> None:
    logs = _statements(resources)["CloudWatchLogsEncryptsStackLogGroups"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    context = "kms:EncryptionContext:aws:logs:arn"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    for name in ("/aws/lambda/webhook-processor-dev", "/aws/apigateway/webhook-api-dev"):
        assert _key_allows(resources, "kms:GenerateDataKey", LOGS, **{context: group + name})
    # Another environment's group, another group, the same name in another account: no.
    assert not _key_allows(resources, "kms:Decrypt", LOGS, **{context: group + "/aws/lambda/webhook-processor-prod"})
    assert not _key_allows(resources, "kms:Decrypt", LOGS, **{context: group + "/aws/lambda/other"})
    assert not _key_allows(resources, "kms:Decrypt", LOGS, **{
        context: f"arn:aws:logs:{REGION}:444455556666:log-group:/aws/lambda/webhook-processor-dev"})
    assert not _key_allows(resources, "kms:Decrypt", LOGS)


def test_log_groups_expire_and_are_encrypted(resources: dict[str, Any]) -> None:
    for logical_id, name in (
        (naming.FUNCTION_LOG_GROUP_ID, "/aws/lambda/webhook-processor-${Environment}"),
        (naming.ACCESS_LOG_GROUP_ID, "/aws/apigateway/webhook-api-${Environment}"),
    ):
        group = props(resources, logical_id)
        assert group["LogGroupName"] == {"Fn::Sub": name}
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["KmsKeyId"] == {"Fn::GetAtt": [naming.KEY_ID, "Arn"]}


def test_signing_secret_is_generated_only_without_an_existing_one(resources: dict[str, Any]) -> None:
    secret = resources[naming.SECRET_ID]
    assert secret["Condition"] == "CreateSigningSecret"
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [naming.KEY_ID, "Arn"]}
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "current"
    assert generated["ExcludePunctuation"] is True
    # Standard Webhooks secrets are base64: alphanumerics of a length divisible by 4 decode.
    assert generated["PasswordLength"] % 4 == 0 and generated["PasswordLength"] >= 32


# --- who may read the signing secret ------------------------------------------------

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/webhook-lambda-role-dev"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:role/Administrator"


def _secret_policy(resources: dict[str, Any], readers: list[str], deploy_role: str = "") -> dict[str, Any]:
    refs = {**REFS, "FunctionRole.Arn": ROLE_ARN, "SigningSecretReaders": readers or [""], "DeployRole": deploy_role}
    return resolve(props(resources, naming.SECRET_POLICY_ID)["ResourcePolicy"], refs,
                   {"HasSigningSecretReaders": bool(readers)})


def _reads(policy: dict[str, Any], principal_arn: str, action: str = "secretsmanager:GetSecretValue",
           called_via: list[str] | None = None) -> bool:
    """Whether the resource policy leaves ``principal_arn`` free to read (its IAM policy then decides)."""
    context: dict[str, Any] = {"aws:PrincipalArn": principal_arn}
    if called_via:  # the services a request came through; the last one made it
        context["aws:CalledViaLast"] = called_via[-1]
    return not denied(policy, action, ("AWS", principal_arn), context)


def test_the_deploy_role_reads_the_secret_only_as_cloudformations_handlers_do(resources: dict[str, Any]) -> None:
    """Drift detection and updates read the value in CloudFormation's forward access session."""
    named = _secret_policy(resources, [], DEPLOY_ROLE_NAME)
    via_cloudformation = ["cloudformation.amazonaws.com"]
    assert _reads(named, DEPLOY_ROLE[1], called_via=via_cloudformation)
    assert not _reads(named, DEPLOY_ROLE[1])  # directly: no
    assert not _reads(named, DEPLOY_ROLE[1], called_via=["athena.amazonaws.com"])
    assert not _reads(named, DEPLOY_ROLE[1], called_via=["cloudformation.amazonaws.com", "athena.amazonaws.com"])
    # Nobody else gains anything from coming through CloudFormation, and the function still reads.
    assert not _reads(named, ADMIN_ARN, called_via=via_cloudformation)
    assert _reads(named, ROLE_ARN)
    # No DeployRole: the role is one more principal the secret is fenced off from.
    unnamed = _secret_policy(resources, [])
    assert not _reads(unnamed, DEPLOY_ROLE[1], called_via=via_cloudformation)


def test_secret_policy_protects_the_created_secret_and_blocks_public_policies(resources: dict[str, Any]) -> None:
    resource = resources[naming.SECRET_POLICY_ID]
    assert resource["Type"] == "AWS::SecretsManager::ResourcePolicy"
    assert resource["Condition"] == "CreateSigningSecret"  # an existing secret is its owner's (HANDOFF.md)
    assert resource["DeletionPolicy"] == "Retain"  # the retained secret stays protected
    assert resource["Properties"]["SecretId"] == {"Ref": naming.SECRET_ID}
    assert resource["Properties"]["BlockPublicPolicy"] is True
    statements = resource["Properties"]["ResourcePolicy"]["Statement"]
    assert [s["Sid"] for s in statements] == [
        "OnlyNamedPrincipalsReadSecret", "DeployRoleReadsOnlyThroughCloudFormation"]
    for statement in statements:
        assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
        assert statement["Action"] == ["secretsmanager:GetSecretValue"]


def test_only_the_function_reads_the_secret_by_default(resources: dict[str, Any]) -> None:
    policy = _secret_policy(resources, [])
    assert _reads(policy, ROLE_ARN)
    assert not _reads(policy, ADMIN_ARN)
    assert not _reads(policy, f"arn:aws:iam::{ACCOUNT}:root")
    assert not _reads(policy, f"arn:aws:iam::{ACCOUNT}:role/webhook-lambda-role-prod")  # another env's function
    assert _reads(policy, ADMIN_ARN, "secretsmanager:DescribeSecret")  # only the value is fenced off


def test_named_readers_read_the_secret_wildcards_included(resources: dict[str, Any]) -> None:
    breakglass = f"arn:aws:iam::{ACCOUNT}:role/break-glass"
    sso = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Onboarding_*"
    policy = _secret_policy(resources, [breakglass, sso])
    assert _reads(policy, ROLE_ARN)
    assert _reads(policy, breakglass)
    assert _reads(policy, f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Onboarding_0a1b")
    assert not _reads(policy, ADMIN_ARN)
    assert not _reads(policy, f"arn:aws:iam::{ACCOUNT}:role/break-glass-2")


def test_readers_parameter_is_an_arn_list_defaulting_to_none(body: dict[str, Any]) -> None:
    parameter = body["Parameters"]["SigningSecretReaders"]
    assert parameter["Type"] == "CommaDelimitedList" and parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.match("") and pattern.match(f"arn:aws:iam::{ACCOUNT}:role/ops/*")
    assert not pattern.match("Administrator") and not pattern.match(f"arn:aws:s3:::{ACCOUNT}")
    assert not pattern.match(f"arn:aws:iam::{ACCOUNT}:root")  # the root user only, not the account's roles
    assert body["Conditions"]["HasSigningSecretReaders"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SigningSecretReaders"}]}, ""]}]}
