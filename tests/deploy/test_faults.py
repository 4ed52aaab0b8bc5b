"""Deploy under injected faults: the real CLI against moto's server, a fault per operation.

Each test injects faults through a botocore ``before-send`` handler on the
session the CLI uses (``support/faults.py``) and asserts where things end:
the stack's state, its policy, its termination protection, leftover change
sets and the exit code.  The README's deploy section has the table of these
scenarios and outcomes.

The faults are in the deploy flow, not in the template, so the stack here is
the rendered template cut down to its data resources (key, table, function log
group) and one resource that a parameter modifies: the same parameters, the
same guard and stack policy, a tenth of moto's work per deploy.  The full
template's deploys are in ``test_deploy_moto.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import MOTO_SKIPS_TYPES, Result

from support.faults import Faults, install
from support.stacks import change_sets, stack
from webhook_templates import data_guard
from webhook_templates.stack import naming

pytestmark = pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)

Clients = Callable[[str], Any]
Run = Callable[..., Result]
FULL = data_guard.stack_policy()


KEPT = (naming.KEY_ID, naming.TABLE_ID, naming.FUNCTION_LOG_GROUP_ID)


def _write(template: dict[str, Any], folder: Path, build_dir: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "template.json").write_text(json.dumps(template))
    (folder / "parameters").mkdir(exist_ok=True)
    for env in ("dev", "staging", "prod"):
        (folder / "parameters" / f"{env}.json").write_text((build_dir / "parameters" / f"{env}.json").read_text())
    return folder / "template.json"


@pytest.fixture(scope="module")
def small_template(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The rendered template, cut down to the data resources and a parameter-driven setting."""
    full = json.loads((build_dir / "template.json").read_text())
    resources = {logical_id: full["Resources"][logical_id] for logical_id in KEPT}
    resources["FunctionSettings"] = {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": {"Fn::Sub": "/webhook/${Environment}/memory"}, "Type": "String",
        "Value": {"Ref": "LambdaMemorySize"}}}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": full["Parameters"],
            "Conditions": full["Conditions"], "Resources": resources,
            "Outputs": {key: full["Outputs"][key] for key in ("TableName", "KmsKeyId")}}


@pytest.fixture
def run(run: Run, small_template: dict[str, Any], build_dir: Path, tmp_path: Path) -> Run:
    """The CLI, deploying the small template (with the rendered parameter files) unless told otherwise."""
    path = _write(small_template, tmp_path / "small", build_dir)

    def invoke(*args: str, **options: Any) -> Result:
        if args[0] == "deploy" and "--template" not in args:
            args = (*args, "--template", str(path))
        return run(*args, **options)

    return invoke


def template_without_table(small_template: dict[str, Any], build_dir: Path, tmp_path: Path) -> str:
    """The small template with the transactions table (and its output) removed."""
    template = json.loads(json.dumps(small_template))
    del template["Resources"][naming.TABLE_ID]
    del template["Outputs"]["TableName"]
    return str(_write(template, tmp_path / "no-table", build_dir))


@pytest.fixture
def faults(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Faults on every session the CLI creates from now on (the test's own ``aws`` clients are spared)."""
    plan = Faults()
    install(plan, monkeypatch)
    return plan


def policy(aws: Clients, name: str) -> dict[str, Any] | None:
    body = aws("cloudformation").get_stack_policy(StackName=name).get("StackPolicyBody")
    return json.loads(body) if body else None


def assert_ends(aws: Clients, name: str, *, status: str | None, stack_policy: dict[str, Any] | None = FULL,
                protected: bool = False, pending: tuple[str, ...] = ()) -> None:
    """The stack's final state: status (None: no stack), policy, termination protection, change sets."""
    found = stack(aws, name)
    assert (found["StackStatus"] if found else None) == status
    if found:
        assert policy(aws, name) == stack_policy
        assert found.get("EnableTerminationProtection", False) is protected
    assert change_sets(aws, name) == list(pending)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out


def memory(build_dir: Path, tmp_path: Path, env: str, size: str) -> str:
    """The ``env`` parameter file with ``LambdaMemorySize`` set to ``size``."""
    parameters = json.loads((build_dir / "parameters" / f"{env}.json").read_text())
    for parameter in parameters:
        if parameter["ParameterKey"] == "LambdaMemorySize":
            parameter["ParameterValue"] = size
    path = tmp_path / f"{env}-{size}.json"
    path.write_text(json.dumps(parameters))
    return str(path)


# --- never lose track, never guess -------------------------------------------------------------------


def test_lost_execute_answer_on_a_first_deploy_follows_the_create_instead_of_deleting_it(
    aws: Clients, run: Run, faults: Faults, tmp_path: Path
) -> None:
    faults.add("ExecuteChangeSet", "lost")

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    assert faults.calls["ExecuteChangeSet"] == 1  # never sent again blindly
    assert faults.calls["DeleteStack"] == 0
    assert "CloudFormation is executing the change set: following it" in result.err
    assert_ends(aws, "webhook-staging", status="CREATE_COMPLETE")
    assert json.loads((tmp_path / "flat-outputs.json").read_text())["TableName"] == "transactions-staging"
    no_traceback(result)


def test_lost_execute_answer_on_an_update_reports_the_update_that_ran(
    aws: Clients, run: Run, faults: Faults, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    faults.calls.clear()
    faults.add("ExecuteChangeSet", "lost")

    result = run("deploy", "--env", "staging", "--yes", "--parameters", memory(build_dir, tmp_path, "staging", "512"))

    assert result.code == 0, result.err
    assert "did not execute" not in result.err
    assert "Deployed webhook-staging: UPDATE_COMPLETE" in result.out
    assert faults.calls["ExecuteChangeSet"] == 1
    assert aws("ssm").get_parameter(Name="/webhook/staging/memory")["Parameter"]["Value"] == "512"
    assert_ends(aws, "webhook-staging", status="UPDATE_COMPLETE")


def test_a_refused_connection_on_execute_is_retried_only_once_it_is_known_not_to_have_run(
    aws: Clients, run: Run, faults: Faults
) -> None:
    faults.add("ExecuteChangeSet", "refused")

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    assert faults.calls["ExecuteChangeSet"] == 2
    assert faults.calls["DescribeChangeSet"] >= 2  # computed?, shown, then "did it run?" before the retry
    assert_ends(aws, "webhook-staging", status="CREATE_COMPLETE")


def test_execute_that_never_gets_through_deletes_the_change_set_and_the_empty_stack(
    aws: Clients, run: Run, faults: Faults
) -> None:
    faults.add("ExecuteChangeSet", "refused", times=1000)

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert "CloudFormation did not execute the change set" in result.err
    assert_ends(aws, "webhook-staging", status=None)
    no_traceback(result)


def test_a_lost_create_change_set_answer_finds_the_change_set_by_name(
    aws: Clients, run: Run, faults: Faults
) -> None:
    faults.add("CreateChangeSet", "lost")

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 0, result.err
    assert faults.calls["CreateChangeSet"] == 1
    assert_ends(aws, "webhook-staging", status="CREATE_COMPLETE")


def test_a_dry_run_next_to_another_deploys_change_set_keeps_their_stack(
    aws: Clients, run: Run, faults: Faults, build_dir: Path, small_template: dict[str, Any]
) -> None:
    aws("cloudformation").create_change_set(
        StackName="webhook-staging", ChangeSetName="someone-elses", ChangeSetType="CREATE",
        TemplateBody=json.dumps(small_template),
        Parameters=json.loads((build_dir / "parameters" / "staging.json").read_text()),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )

    result = run("deploy", "--env", "staging", "--dry-run")

    assert result.code == 0, result.err
    assert "another change set (someone-elses) is waiting on it" in result.out
    assert faults.calls["DeleteStack"] == 0
    assert_ends(aws, "webhook-staging", status="REVIEW_IN_PROGRESS", stack_policy=None, pending=("someone-elses",))


# --- interrupts --------------------------------------------------------------------------------------


class InterruptedTerminal(io.StringIO):
    """A terminal at which the user presses Ctrl-C instead of answering."""

    def isatty(self) -> bool:
        return True

    def readline(self, *_: Any) -> str:
        raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_deletes_the_change_set_and_the_empty_stack(
    aws: Clients, run: Run, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", InterruptedTerminal())

    result = run("deploy", "--env", "staging", stdin=None)

    assert result.code == 130
    assert "Interrupted: nothing executed; the change set is deleted." in result.err
    assert faults.calls["ExecuteChangeSet"] == 0
    assert_ends(aws, "webhook-staging", status=None)
    no_traceback(result)


def test_ctrl_c_at_the_prompt_of_an_update_deletes_only_the_change_set(
    aws: Clients, run: Run, faults: Faults, monkeypatch: pytest.MonkeyPatch, build_dir: Path, tmp_path: Path
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    monkeypatch.setattr("sys.stdin", InterruptedTerminal())

    result = run("deploy", "--env", "staging", "--parameters", memory(build_dir, tmp_path, "staging", "512"),
                 stdin=None)

    assert result.code == 130
    assert_ends(aws, "webhook-staging", status="CREATE_COMPLETE")


def test_ctrl_c_while_events_stream_says_what_is_missing_and_the_next_deploy_converges(
    aws: Clients, run: Run, faults: Faults, tmp_path: Path
) -> None:
    faults.add("DescribeStackEvents", "interrupt", skip=1)  # the first read marks where the deploy starts

    result = run("deploy", "--env", "prod", "--yes")

    assert result.code == 130
    assert "Interrupted on webhook-prod: you stopped following it." in result.err
    assert "webhook-templates deploy --env prod" in result.err
    # CloudFormation carried on (moto finishes at once); nothing was protected yet.
    assert_ends(aws, "webhook-prod", status="CREATE_COMPLETE", stack_policy=None, protected=False)
    assert not (tmp_path / "flat-outputs.json").exists()

    again = run("deploy", "--env", "prod", "--yes")

    assert again.code == 0, again.err
    assert "up to date" in again.out
    assert "The stack policy was missing or not the full one: put it back." in again.err
    assert "Termination protection was off: turned it on." in again.err
    assert "flat-outputs.json was missing or out of date: rewrote it." in again.err
    assert_ends(aws, "webhook-prod", status="CREATE_COMPLETE", protected=True)
    assert json.loads((tmp_path / "flat-outputs.json").read_text())["TableName"] == "transactions-prod"


# --- protection converged ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["expired", "refused", "interrupt"])
def test_a_policy_that_cannot_be_restored_after_an_allowed_replacement_is_loud_and_exits_4(
    aws: Clients, run: Run, faults: Faults, build_dir: Path, tmp_path: Path, kind: str,
    small_template: dict[str, Any],
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    # The first SetStackPolicy (lifting the table's denial) gets through; putting it back does not.
    faults.add("SetStackPolicy", kind, skip=1, times=1000)
    no_table = ["--template", template_without_table(small_template, build_dir, tmp_path),
                "--parameters", str(build_dir / "parameters" / "staging.json")]

    result = run("deploy", "--env", "staging", "--yes", "--allow-replacement", naming.TABLE_ID, *no_table)

    assert result.code == 4
    assert "PROTECTION NOT RESTORED on webhook-staging: the full stack policy could not be put in place" in result.err
    command = next(line.strip() for line in result.err.splitlines() if "set-stack-policy" in line)
    assert command.startswith("aws cloudformation set-stack-policy --stack-name webhook-staging "
                              "--region us-east-1 --stack-policy-body '")
    assert json.loads(command.split("--stack-policy-body ", 1)[1].strip("'")) == FULL
    assert_ends(aws, "webhook-staging", status="UPDATE_COMPLETE",
                stack_policy=data_guard.stack_policy(allowed={naming.TABLE_ID}))
    no_traceback(result)

    faults.plan.clear()
    again = run("deploy", "--env", "staging", "--yes", *no_table)

    assert again.code == 0, again.err
    assert "The stack policy was missing or not the full one: put it back." in again.err
    assert_ends(aws, "webhook-staging", status="UPDATE_COMPLETE")


def test_a_policy_restore_that_fails_once_is_converged_after_the_update(
    aws: Clients, run: Run, faults: Faults, build_dir: Path, tmp_path: Path, small_template: dict[str, Any]
) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == 0
    faults.add("SetStackPolicy", "expired", skip=1)  # lifting passes, the restore right after fails once

    result = run("deploy", "--env", "staging", "--yes", "--allow-replacement", naming.TABLE_ID,
                 "--template", template_without_table(small_template, build_dir, tmp_path),
                 "--parameters", str(build_dir / "parameters" / "staging.json"))

    assert result.code == 0, result.err
    assert "PROTECTION NOT RESTORED" not in result.err
    assert "The stack policy was missing or not the full one: put it back." in result.err
    assert_ends(aws, "webhook-staging", status="UPDATE_COMPLETE")


def test_three_throttles_on_the_event_stream_still_end_with_prod_protected(
    aws: Clients, run: Run, faults: Faults, tmp_path: Path
) -> None:
    faults.add("DescribeStackEvents", "throttle", skip=1, times=3)

    result = run("deploy", "--env", "prod", "--yes")

    assert result.code == 0, result.err
    assert faults.calls["DescribeStackEvents"] >= 5
    assert_ends(aws, "webhook-prod", status="CREATE_COMPLETE", protected=True)
    assert json.loads((tmp_path / "flat-outputs.json").read_text())["TableName"] == "transactions-prod"


def test_status_reads_that_keep_failing_are_reported_as_lost_track_not_as_a_failed_deploy(
    aws: Clients, run: Run, faults: Faults
) -> None:
    # The first DescribeStacks picks the change set type; the ones while following fail for good.
    faults.add("DescribeStacks", "html500", skip=1, times=1000)

    result = run("deploy", "--env", "staging", "--yes")

    assert result.code == 1
    assert "Lost track of the deploy on webhook-staging" in result.err
    assert "This is not a deploy failure" in result.err
    assert "aws cloudformation describe-stacks --stack-name webhook-staging --region us-east-1" in result.err
    assert "Deploy failed" not in result.err
    faults.plan.clear()
    assert_ends(aws, "webhook-staging", status="CREATE_COMPLETE", stack_policy=None)
    no_traceback(result)


# --- one line, never a traceback ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "says"), [
    ("html500", "AWS answered with something that is not an AWS response (a proxy's error page?)"),
    ("expired", "AWS error ExpiredToken: The security token included in the request is expired "
                "(refresh your credentials"),
    ("refused", "AWS error: Could not connect to the endpoint URL"),
])
@pytest.mark.parametrize("command", ["deploy", "outputs", "destroy"])
def test_aws_failing_before_anything_changed_is_one_line_and_exit_1(
    aws: Clients, run: Run, faults: Faults, kind: str, says: str, command: str
) -> None:
    faults.add("DescribeStacks", kind, times=1000)

    result = run(command, "--env", "staging", "--yes") if command != "outputs" else run(command, "--env", "staging")

    assert result.code == 1
    assert result.err.strip().splitlines()[-1].startswith(says), result.err
    assert len(result.err.strip().splitlines()) == 1
    assert faults.calls["CreateChangeSet"] == faults.calls["DeleteStack"] == 0
    assert stack(aws, "webhook-staging") is None
    no_traceback(result)
