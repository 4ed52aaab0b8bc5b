"""Each pipeline's format carries what the change-set block sends, and reads the template from S3 past the limit.

``aws cloudformation deploy`` runs for real (AWS CLI v1, ``.venv-awscli`` or
``AWS_CLI``) against the patched moto server, as in test_procedure_awscli.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from support import moto_server
from support.awscli import cli_environment
from support.environments import WITH_TAGS
from webhook_templates import data_guard
from webhook_templates.handoff import pipelines
from webhook_templates.handoff.bundle import build_files, write_bundle
from webhook_templates.handoff.render import RenderedFile
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT
from webhook_templates.stack.parameters import parameter_file
from webhook_templates.stack.tags import stack_tags

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning")

ENVIRONMENTS = WITH_TAGS
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


def formats(template_bytes: int) -> dict[str, str]:
    return {f.path: f.content for f in pipelines.pipeline_files(ENVIRONMENTS, CAPABILITIES, template_bytes)}


def test_every_environment_has_every_format_and_the_bundle_and_handoff_list_them(files: dict[str, RenderedFile],
                                                                                 handoff: str) -> None:
    for name in ("dev", "staging", "prod"):
        for fmt in pipelines.FORMATS:
            assert f"pipelines/{name}/{fmt.file_name}" in files
            assert f"`pipelines/{name}/{fmt.file_name}`" in handoff  # the bundle's file list
    assert pipelines.LIMITATIONS_NAME in files
    manifest = json.loads(files["manifest.json"].content)
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed >= {f"pipelines/prod/{f.file_name}" for f in pipelines.FORMATS}
    section = handoff[handoff.index("## Deploying from a pipeline"):]
    for fmt in pipelines.FORMATS:
        assert f"`pipelines/<env>/{fmt.file_name}` | {fmt.title} |" in section


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
def test_codepipeline_and_git_sync_carry_the_parameter_file_the_tags_and_the_policy(environment: str) -> None:
    config = ENVIRONMENTS[environment]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(config)}
    rendered = formats(1000)
    codepipeline = json.loads(rendered[f"pipelines/{environment}/codepipeline.json"])
    assert codepipeline == {"Parameters": parameters, "Tags": stack_tags(config),
                            "StackPolicy": data_guard.stack_policy()}
    git_sync = yaml.safe_load(rendered[f"pipelines/{environment}/git-sync.yaml"])
    assert git_sync == {"template-file-path": "template.json", "parameters": parameters, "tags": stack_tags(config)}
    assert ("update-termination-protection" in rendered[f"pipelines/{environment}/git-sync.yaml"]) == (
        environment == "prod")


def test_the_qa_tags_reach_every_format() -> None:
    rendered = formats(1000)
    assert ("--tags CostCenter=fintech-webhooks Environment=qa 'Owner=qa team' Team=payments-platform Ticket=PAY-123 \\"
            in rendered["pipelines/qa/deploy.sh"])
    assert '"Owner" = "qa team"' in rendered["pipelines/qa/main.tf"]
    assert '"Owner": "qa team"' in rendered["pipelines/qa/cdk_app.py"]


def test_past_the_body_limit_every_format_that_names_the_template_reads_it_from_s3() -> None:
    inline, past = formats(TEMPLATE_BODY_LIMIT), formats(TEMPLATE_BODY_LIMIT + 1)
    for environment in ENVIRONMENTS:
        folder = f"pipelines/{environment}"
        assert "--s3-bucket" not in inline[f"{folder}/deploy.sh"]
        assert '--s3-bucket "$TEMPLATE_BUCKET" --s3-prefix webhook-templates' in past[f"{folder}/deploy.sh"]
        assert "template_body" in inline[f"{folder}/main.tf"] and "template_url" not in inline[f"{folder}/main.tf"]
        assert "template_url" in past[f"{folder}/main.tf"] and "template_body" not in past[f"{folder}/main.tf"]
    assert "--template-url" in past[pipelines.LIMITATIONS_NAME]
    assert "--template-body" in inline[pipelines.LIMITATIONS_NAME]


def test_the_deploy_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = Path(os.environ.get("SHELLCHECK", Path(__file__).resolve().parents[2] / ".venv/bin/shellcheck"))
    scripts = []
    for path, content in {**formats(1000), **{k.replace("pipelines/", "past/"): v for k, v in
                                             formats(TEMPLATE_BODY_LIMIT + 1).items()}}.items():
        if path.endswith(".sh"):
            scripts.append(tmp_path / path.replace("/", "-"))
            scripts[-1].write_text(content, encoding="utf-8")
    done = subprocess.run([str(shellcheck), "--shell=sh", *map(str, scripts)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


# --- aws cloudformation deploy, for real ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server.running() as url:
        yield url


@pytest.fixture
def account(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    moto_server.reset(endpoint)
    moto_server.with_api_gateway_role(endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return lambda service: boto3.client(service)


def run_script(folder: Path, environment: str, endpoint: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", f"pipelines/{environment}/deploy.sh"], cwd=folder,
                          env=cli_environment(folder, endpoint, extra), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def _as_sent(value: str) -> str:
    """A parameter's value as it was sent: moto describes a CommaDelimitedList as a Python list's repr."""
    return ",".join(ast.literal_eval(value)) if value.startswith("[") else value


def deployed(account: Callable[[str], Any], stack: str) -> dict[str, Any]:
    cfn = account("cloudformation")
    found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {"status": found["StackStatus"],
            "parameters": {p["ParameterKey"]: _as_sent(p.get("ParameterValue", ""))
                           for p in found.get("Parameters", [])},
            "tags": {t["Key"]: t["Value"] for t in found.get("Tags", [])},
            "protected": found.get("EnableTerminationProtection"),
            "policy": json.loads(cfn.get_stack_policy(StackName=stack)["StackPolicyBody"])}


@pytest.mark.parametrize("environment", ["qa", "prod"])
def test_aws_cloudformation_deploy_creates_the_stack_the_block_would_and_reruns_cleanly(
        environment: str, account: Callable[[str], Any], endpoint: str, tmp_path: Path) -> None:
    write_bundle(build_files(ENVIRONMENTS), tmp_path)
    config = ENVIRONMENTS[environment]

    first = run_script(tmp_path, environment, endpoint)
    assert first.returncode == 0, first.stdout + first.stderr
    state = deployed(account, config.stack_name)
    assert state["status"] == "CREATE_COMPLETE"
    expected = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(config)}
    assert {key: state["parameters"][key] for key in expected} == expected
    assert state["tags"] == stack_tags(config)
    assert state["policy"] == data_guard.stack_policy()
    assert state["protected"] is config.is_production

    again = run_script(tmp_path, environment, endpoint)
    assert again.returncode == 0, again.stdout + again.stderr
    # moto executes the empty change set CloudFormation would report as "no changes" (which
    # --no-fail-on-empty-changeset turns into success): either way the stack stands, still protected.
    rerun = deployed(account, config.stack_name)
    assert rerun["status"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE") and rerun["policy"] == state["policy"]


def test_aws_cloudformation_deploy_uploads_a_template_past_the_limit_to_the_bucket(
        account: Callable[[str], Any], endpoint: str, tmp_path: Path) -> None:
    files = build_files(ENVIRONMENTS)
    write_bundle(files, tmp_path)
    body = json.loads((tmp_path / "template.json").read_text(encoding="utf-8"))
    body["Metadata"] = {"Padding": "x" * (TEMPLATE_BODY_LIMIT + 1 - len(json.dumps(body)))}
    padded = json.dumps(body)
    assert len(padded.encode()) > TEMPLATE_BODY_LIMIT
    (tmp_path / "template.json").write_text(padded, encoding="utf-8")
    script = pipelines.pipeline_files(ENVIRONMENTS, CAPABILITIES, len(padded.encode()))
    for file in script:
        if file.path == "pipelines/qa/deploy.sh":
            (tmp_path / file.path).write_text(file.content, encoding="utf-8")
    account("s3").create_bucket(Bucket="handoff-templates")

    # AWS CLI v1 names the upload by a path-style URL on the endpoint, which moto reads back only
    # when the endpoint's host is "localhost" (on AWS it is s3.amazonaws.com/<bucket>/<key>).
    endpoint = endpoint.replace("127.0.0.1", "localhost")
    without_bucket = run_script(tmp_path, "qa", endpoint)
    assert without_bucket.returncode != 0
    assert "set TEMPLATE_BUCKET to an S3 bucket for the template" in without_bucket.stderr

    result = run_script(tmp_path, "qa", endpoint, TEMPLATE_BUCKET="handoff-templates")
    assert result.returncode == 0, result.stdout + result.stderr
    assert deployed(account, "webhook-qa")["status"] == "CREATE_COMPLETE"
    keys = [o["Key"] for o in account("s3").list_objects_v2(Bucket="handoff-templates").get("Contents", [])]
    assert keys and all(key.startswith("webhook-templates/") for key in keys)
