"""The data guard and the stack policy, on plain change lists (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from webhook_templates import data_guard
from webhook_templates.deploy.changeset import ResourceChange
from webhook_templates.stack import naming

TABLE = "AWS::DynamoDB::Table"


def change(action: str, logical_id: str, resource_type: str, replacement: str = "") -> ResourceChange:
    return ResourceChange(action, logical_id, resource_type, replacement)


@pytest.mark.parametrize("logical_id", naming.DATA_RESOURCES)
@pytest.mark.parametrize(("action", "replacement"), [("Remove", ""), ("Modify", "True"), ("Modify", "Conditional")])
def test_every_data_resource_is_refused_when_lost(logical_id: str, action: str, replacement: str) -> None:
    refused = data_guard.refused([change(action, logical_id, "AWS::Whatever::Type", replacement)], allowed=())
    assert [danger.logical_id for danger in refused] == [logical_id]


@pytest.mark.parametrize(("action", "replacement", "says"), [
    ("Dynamic", "Conditional", "has action Dynamic: CloudFormation decides only while executing"),
    ("Dynamic", "", "has action Dynamic"),
    ("Modify", "", "may be replaced by a new, empty resource (Replacement: not given)"),
    ("Import", "", "has action Import, which the guard does not know"),
    ("SomeFutureAction", "False", "has action SomeFutureAction, which the guard does not know"),
])
def test_the_guard_fails_closed_on_anything_not_known_to_keep_the_data(action: str, replacement: str,
                                                                       says: str) -> None:
    refused = data_guard.refused([change(action, naming.TABLE_ID, TABLE, replacement)], allowed=())

    assert [danger.logical_id for danger in refused] == [naming.TABLE_ID]
    assert refused[0].reason().startswith(f"TransactionsTable (AWS::DynamoDB::Table) {says}")


def test_a_global_table_is_data() -> None:
    refused = data_guard.refused([change("Modify", "Transactions", "AWS::DynamoDB::GlobalTable", "Conditional")],
                            allowed=())
    assert [danger.logical_id for danger in refused] == ["Transactions"]


def test_every_type_the_template_retains_is_a_data_type(resources: dict[str, Any]) -> None:
    """A resource kept on deletion holds something worth keeping: the guard must cover its type too."""
    retained = {r["Type"] for r in resources.values() if r.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")}

    assert retained and retained <= set(naming.DATA_TYPES)


def test_the_verdict_needs_only_the_standard_library() -> None:
    """The handoff bundle ships the guard as a script: nothing but plain values may come from the package."""
    import ast
    import sys
    from pathlib import Path

    from webhook_templates import data_guard

    tree = ast.parse(Path(data_guard.__file__).read_text(encoding="utf-8"))
    runtime_imports = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    outside = {name for name in runtime_imports
               if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"}
    assert outside == {"stack.naming", "exit_codes"}


@pytest.mark.parametrize("resource_type", naming.DATA_TYPES)
def test_a_data_type_is_refused_under_any_logical_id(resource_type: str) -> None:
    """A platform team's edited template may rename or add data resources."""
    assert data_guard.refused([change("Remove", "RenamedByPlatformTeam", resource_type)], allowed=())


@pytest.mark.parametrize("changed", [
    change("Modify", naming.TABLE_ID, TABLE, "False"),
    change("Add", naming.TABLE_ID, TABLE),
    change("Remove", naming.FUNCTION_ID, "AWS::Lambda::Function"),
    change("Modify", naming.ROLE_ID, "AWS::IAM::Role", "True"),
])
def test_changes_that_keep_the_data_pass(changed: ResourceChange) -> None:
    assert data_guard.refused([changed], allowed=()) == []


def test_a_release_publishing_a_new_version_passes() -> None:
    """Every code or configuration change replaces the published version and moves the alias:
    that is a normal release, not data loss, and the stack policy does not deny it either."""
    release = [
        change("Add", "FunctionVersion0123456789", "AWS::Lambda::Version"),
        change("Remove", "FunctionVersionabcdefabcd", "AWS::Lambda::Version"),
        change("Modify", "FunctionVersion0123456789", "AWS::Lambda::Version", "True"),
        change("Modify", naming.ALIAS_ID, "AWS::Lambda::Alias", "False"),
        change("Modify", naming.FUNCTION_ID, "AWS::Lambda::Function", "False"),
    ]
    assert data_guard.dangers(release) == []
    assert not {"AWS::Lambda::Version", "AWS::Lambda::Alias"} & set(data_guard.DATA_TYPES)
    denied = [statement for statement in data_guard.stack_policy()["Statement"] if statement["Effect"] == "Deny"]
    assert all(naming.ALIAS_ID not in str(statement) and naming.VERSION_PREFIX not in str(statement)
               for statement in denied)


def test_allow_replacement_lets_only_the_named_resources_through() -> None:
    changes = [change("Remove", naming.TABLE_ID, TABLE), change("Modify", naming.KEY_ID, "AWS::KMS::Key", "True")]

    refused = data_guard.refused(changes, allowed={naming.TABLE_ID})

    assert [danger.logical_id for danger in refused] == [naming.KEY_ID]
    assert data_guard.refused(changes, allowed={naming.TABLE_ID, naming.KEY_ID}) == []


def test_reasons_say_what_would_happen_and_why() -> None:
    replaced = ResourceChange("Modify", naming.TABLE_ID, TABLE, "True", ("KeySchema", "TableName"))
    maybe = change("Modify", naming.KEY_ID, "AWS::KMS::Key", "Conditional")
    removed = change("Remove", naming.SECRET_ID, "AWS::SecretsManager::Secret")

    reasons = [danger.reason() for danger in data_guard.dangers([replaced, maybe, removed])]

    assert reasons == [
        "TransactionsTable (AWS::DynamoDB::Table) would be replaced by a new, empty resource, "
        "because of a change to KeySchema, TableName",
        "EncryptionKey (AWS::KMS::Key) may be replaced by a new, empty resource (Replacement: Conditional)",
        "SigningSecret (AWS::SecretsManager::Secret) would be removed from the stack",
    ]


#: What an upgrade of a stack deployed with CreateApiGatewayAccountRole=true lists: the two gone from the template.
ACCOUNT_ROLE_REMOVED = [change("Remove", naming.LOGGING_ROLE_ID, "AWS::IAM::Role"),
                        change("Remove", naming.API_ACCOUNT_ID, "AWS::ApiGateway::Account"),
                        change("Modify", naming.STAGE_ID, "AWS::ApiGateway::Stage", "False")]


def test_an_upgrade_removing_the_old_account_logging_role_is_refused_saying_what_to_deploy_first() -> None:
    notes, refusal = data_guard.verdict(ACCOUNT_ROLE_REMOVED, allowed=())

    assert notes == []
    advice = ("; it is part of the account's API Gateway logging (role and setting), which moved to "
              "account-setup.json: deploy account-setup.json first, then re-run with "
              "--allow-replacement ApiGatewayLoggingRole --allow-replacement ApiGatewayAccount")
    assert refusal == [
        data_guard.REFUSED_HEADLINE,
        "  ApiGatewayLoggingRole (AWS::IAM::Role) would be removed from the stack" + advice,
        "  ApiGatewayAccount (AWS::ApiGateway::Account) would be removed from the stack" + advice,
    ]


def test_naming_both_lets_the_upgrade_through_and_the_stack_policy_lifts_only_them() -> None:
    allowed = set(naming.MOVED_TO_ACCOUNT_SETUP)
    assert data_guard.refused(ACCOUNT_ROLE_REMOVED, allowed={naming.LOGGING_ROLE_ID}) == [
        data_guard.Danger(ACCOUNT_ROLE_REMOVED[1])]
    assert data_guard.refused(ACCOUNT_ROLE_REMOVED, allowed=allowed) == []

    _, full, _ = data_guard.stack_policy()["Statement"]
    assert {f"LogicalResourceId/{logical_id}" for logical_id in allowed} <= set(full["Resource"])
    _, lifted, _ = data_guard.stack_policy(allowed=allowed)["Statement"]
    assert lifted["Resource"] == [f"LogicalResourceId/{logical_id}" for logical_id in naming.DATA_RESOURCES]


def test_stack_policy_denies_replacing_or_deleting_each_data_resource() -> None:
    allow, by_id, by_type = data_guard.stack_policy()["Statement"]

    assert allow == {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"}
    assert by_id["Effect"] == by_type["Effect"] == "Deny"
    assert by_id["Action"] == by_type["Action"] == ["Update:Replace", "Update:Delete"]
    assert by_id["Resource"] == [f"LogicalResourceId/{logical_id}"
                                 for logical_id in naming.DATA_RESOURCES + naming.MOVED_TO_ACCOUNT_SETUP]
    assert by_type["Resource"] == "*"
    assert by_type["Condition"] == {"StringEquals": {"ResourceType": list(naming.DATA_TYPES)}}


def test_stack_policy_for_an_allowed_replacement_lifts_only_that_resource() -> None:
    _, by_id, by_type = data_guard.stack_policy(allowed={naming.TABLE_ID})["Statement"]

    assert f"LogicalResourceId/{naming.TABLE_ID}" not in by_id["Resource"]
    assert len(by_id["Resource"]) == len(naming.DATA_RESOURCES + naming.MOVED_TO_ACCOUNT_SETUP) - 1
    assert by_type["NotResource"] == [f"LogicalResourceId/{naming.TABLE_ID}"]
    assert "Resource" not in by_type
