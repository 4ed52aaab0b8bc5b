"""The table, the key, the secret and the log groups: the data and what protects it."""

from __future__ import annotations

from typing import Any

from template_helpers import props

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


def test_table_is_recoverable_encrypted_and_protected(resources: dict[str, Any]) -> None:
    table = props(resources, naming.TABLE_ID)
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


def test_key_policy_root_administers(resources: dict[str, Any]) -> None:
    root = _statements(resources)["AccountAdministersKey"]
    assert root["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert root["Action"] == ["kms:*"]


def test_key_policy_lets_logs_use_it_only_for_this_stacks_log_groups(resources: dict[str, Any]) -> None:
    logs = _statements(resources)["CloudWatchLogsEncryptsStackLogGroups"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    groups = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert [g["Fn::Sub"].rsplit(":", 1)[-1] for g in groups] == [
        "/aws/lambda/webhook-processor-${Environment}",
        "/aws/apigateway/webhook-api-${Environment}",
    ]
    assert "kms:*" not in logs["Action"]


def test_key_policy_lets_dynamodb_use_it_through_the_service(resources: dict[str, Any]) -> None:
    via = _statements(resources)["AccountUsesKeyThroughServices"]
    services = [s["Fn::Sub"] for s in via["Condition"]["StringEquals"]["kms:ViaService"]]
    assert "dynamodb.${AWS::Region}.amazonaws.com" in services
    assert via["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Fn::Sub": "${AWS::AccountId}"}


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
