"""The bundle's ``guard-check.py`` and ``stack-policy.json`` are the CLI's guard, standalone."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from webhook_templates import data_guard
from webhook_templates.deploy import flow
from webhook_templates.deploy.console import Console
from webhook_templates.handoff.guard_script import POLICY_NAME, SCRIPT_NAME
from webhook_templates.handoff.render import RenderedFile
from webhook_templates.stack import naming


def description(*changes: tuple[str, str, str, str]) -> dict[str, Any]:
    """A ``describe-change-set`` answer with these (action, logical ID, type, replacement) rows."""
    rows = []
    for action, logical_id, resource_type, replacement in changes:
        row: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": resource_type}
        if replacement:
            row["Replacement"] = replacement
            row["Details"] = [{"Target": {"Attribute": "Properties", "Name": "KeySchema",
                                          "RequiresRecreation": "Always"}}]
        rows.append({"Type": "Resource", "ResourceChange": row})
    return {"ChangeSetName": "c", "Status": "CREATE_COMPLETE", "Changes": rows}


CASES = {
    "table removed": description(("Remove", naming.TABLE_ID, "AWS::DynamoDB::Table", "")),
    "key maybe replaced": description(("Modify", naming.KEY_ID, "AWS::KMS::Key", "Conditional"),
                                      ("Modify", naming.FUNCTION_ID, "AWS::Lambda::Function", "False")),
    "renamed table dynamic": description(("Dynamic", "OtherTable", "AWS::DynamoDB::Table", "")),
    "routine update": description(("Modify", naming.FUNCTION_ID, "AWS::Lambda::Function", "False"),
                                  ("Add", "NewAlarm", "AWS::CloudWatch::Alarm", "")),
}


@pytest.fixture(scope="module")
def script(files: dict[str, RenderedFile], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("guard") / SCRIPT_NAME
    path.write_text(files[SCRIPT_NAME].content, encoding="utf-8")
    return path


def run_script(script: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages, no user site, no PYTHONPATH: only the standard library is there.
    return subprocess.run([sys.executable, "-I", "-S", str(script), *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def cli_guard(changes: dict[str, Any], allowed: frozenset[str]) -> tuple[bool, str]:
    """What ``webhook-templates deploy`` says about the same change set (no colour)."""
    request = flow.DeployRequest("webhook-staging", None, None, [], allow_replacement=allowed)  # type: ignore[arg-type]
    err = io.StringIO()
    go_on = flow.check_guard(data_guard.resource_changes([changes]), request, Console(out=io.StringIO(), err=err))
    return go_on, err.getvalue()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("allowed", [frozenset(), frozenset({naming.TABLE_ID})])
def test_the_script_gives_the_cli_verdict_and_reasons(script: Path, case: str, allowed: frozenset[str]) -> None:
    changes = CASES[case]
    go_on, cli_said = cli_guard(changes, allowed)
    flags = [arg for name in sorted(allowed) for arg in ("--allow-replacement", name)]

    result = run_script(script, json.dumps(changes), *flags)

    assert result.returncode == (0 if go_on else 3), result.stderr
    script_lines, cli_lines = result.stderr.splitlines(), cli_said.splitlines()
    if go_on:
        assert script_lines == cli_lines
    else:
        # The same lines except the last, which says where to go from here (the CLI has deleted
        # the change set and says how to deploy again; the script says to delete it).
        assert script_lines[:-1] == cli_lines[:-1]
        assert data_guard.REFUSED_HEADLINE in script_lines
        assert len(script_lines) > 2


def test_the_script_reads_a_file_and_refuses_what_is_not_a_change_set(script: Path, tmp_path: Path) -> None:
    saved = tmp_path / "change-set.json"
    saved.write_text(json.dumps(CASES["table removed"]), encoding="utf-8")
    assert run_script(script, "", str(saved)).returncode == 3

    for junk in ("", "[1, 2]", '{"Changes": "none"}', "not json"):
        result = run_script(script, junk)
        assert result.returncode == 2, junk
        assert result.stderr.startswith("guard-check.py: error: standard input: not a change set description")
        assert "Traceback" not in result.stderr


def test_the_script_is_the_guard_module_with_its_values_inlined(files: dict[str, RenderedFile]) -> None:
    tree = ast.parse(files[SCRIPT_NAME].content)
    imported = {(node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
                for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert {name.split(".")[0] for name in imported} - {"__future__"} <= set(sys.stdlib_module_names)
    assigned = {target.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name) and target.id.isupper()
                and isinstance(node.value, (ast.Tuple, ast.Constant, ast.List))}
    assert assigned["DATA_RESOURCES"] == naming.DATA_RESOURCES
    assert assigned["MOVED_TO_ACCOUNT_SETUP"] == naming.MOVED_TO_ACCOUNT_SETUP
    assert assigned["DATA_TYPES"] == naming.DATA_TYPES
    assert assigned["EXIT_REFUSED"] == 3


def test_stack_policy_file_is_the_policy_deploy_sets(files: dict[str, RenderedFile]) -> None:
    policy = json.loads(files[POLICY_NAME].content)
    assert policy == data_guard.stack_policy()
    denied = {resource for statement in policy["Statement"] if statement["Effect"] == "Deny"
              for resource in statement.get("Resource", []) if resource != "*"}
    assert denied == {f"LogicalResourceId/{logical_id}"
                      for logical_id in naming.DATA_RESOURCES + naming.MOVED_TO_ACCOUNT_SETUP}
