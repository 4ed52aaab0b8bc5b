"""What the stack commands print: the change table, colour rules, questions, event lines."""

from __future__ import annotations

import io
import re

import pytest
from deploy_testkit import Terminal

from webhook_templates.deploy.changeset import ResourceChange, is_no_changes, resource_changes, summary, table
from webhook_templates.deploy.console import Console, colour_wanted
from webhook_templates.deploy.events import Progress, format_event

CHANGES = [
    ResourceChange("Add", "EncryptionKey", "AWS::KMS::Key"),
    ResourceChange("Modify", "WebhookFunction", "AWS::Lambda::Function", "False"),
    ResourceChange("Modify", "TransactionsTable", "AWS::DynamoDB::Table", "True"),
    ResourceChange("Remove", "ApiUsagePlan", "AWS::ApiGateway::UsagePlan"),
]


def test_table_aligns_action_logical_id_type_and_replacement() -> None:
    assert table(CHANGES, Console(colour=False)).splitlines() == [
        "Action  Logical ID         Resource type               Replacement",
        "Add     EncryptionKey      AWS::KMS::Key               -",
        "Modify  WebhookFunction    AWS::Lambda::Function       False",
        "Modify  TransactionsTable  AWS::DynamoDB::Table        True",
        "Remove  ApiUsagePlan       AWS::ApiGateway::UsagePlan  -",
    ]


def test_table_in_colour_keeps_the_same_text() -> None:
    coloured = table(CHANGES, Console(colour=True))
    assert "\033[" in coloured
    plain = re.sub(r"\033\[[0-9;]*m", "", coloured)
    assert plain == table(CHANGES, Console(colour=False))


def test_summary_counts_actions_and_replacements() -> None:
    assert summary(CHANGES) == "4 changes: 1 to add, 2 to modify (1 replaced or possibly replaced), 1 to remove"
    assert summary([]) == "0 changes: 0 to add, 0 to modify, 0 to remove"


def test_changes_are_read_from_describe_change_set_pages() -> None:
    pages = [
        {"Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "TransactionsTable", "ResourceType": "AWS::DynamoDB::Table",
            "Replacement": "True", "Details": [
                {"Target": {"Attribute": "Properties", "Name": "KeySchema", "RequiresRecreation": "Always"}},
                {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"}},
            ]}}]},
        {"Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Add", "LogicalResourceId": "Extra", "ResourceType": "AWS::SNS::Topic"}}]},
    ]

    assert resource_changes(pages) == [
        ResourceChange("Modify", "TransactionsTable", "AWS::DynamoDB::Table", "True", ("KeySchema",)),
        ResourceChange("Add", "Extra", "AWS::SNS::Topic"),
    ]


@pytest.mark.parametrize(("reason", "empty"), [
    ("The submitted information didn't contain changes. Submit different information to create a change set.", True),
    ("No updates are to be performed.", True),
    ("Template format error: Unresolved resource dependencies [X]", False),
    (None, False),
])
def test_no_changes_is_recognised_in_both_shapes(reason: str | None, empty: bool) -> None:
    assert is_no_changes(reason) is empty


@pytest.mark.parametrize(("tty", "no_color", "expected"), [
    (True, None, True), (True, "", True), (True, "1", False), (False, None, False),
])
def test_colour_only_on_a_terminal_without_no_color(tty: bool, no_color: str | None, expected: bool) -> None:
    environ = {} if no_color is None else {"NO_COLOR": no_color}
    assert colour_wanted(Terminal() if tty else io.StringIO(), environ) is expected


def test_console_only_styles_with_colour() -> None:
    assert Console(colour=False).style("x", "red") == "x"
    assert Console(colour=True).style("x", "red", "bold") == "\033[31;1mx\033[0m"


def test_confirm_without_a_terminal_returns_none_and_asks_nothing() -> None:
    out = io.StringIO()
    assert Console(out=out, stdin=io.StringIO("y\n")).confirm("Go?") is None
    assert out.getvalue() == ""


def test_confirm_on_a_terminal_takes_only_yes() -> None:
    assert Console(out=io.StringIO(), stdin=Terminal("yes\n")).confirm("Go?") is True
    assert Console(out=io.StringIO(), stdin=Terminal("sure\n")).confirm("Go?") is False


def test_event_line_has_time_progress_status_resource_and_reason() -> None:
    progress = Progress(total=12, stack_id="stack-id", finished={"A", "B", "C"})
    event = {"ResourceStatus": "CREATE_FAILED", "LogicalResourceId": "FunctionRole",
             "ResourceType": "AWS::IAM::Role", "ResourceStatusReason": "Role already exists"}

    plain = format_event(event, progress, 75.4, Console(colour=False))
    coloured = format_event(event, progress, 75.4, Console(colour=True))

    assert plain.split() == ["1:15", "[", "3/12]", "CREATE_FAILED", "FunctionRole", "AWS::IAM::Role",
                             "Role", "already", "exists"]
    assert "\033[31;1mCREATE_FAILED" in coloured
