"""The stack in each pipeline's own format: one set of files per environment of ``environments.toml``.

Platform teams deploy handed-off CloudFormation through CodePipeline,
CloudFormation Git sync, ``aws cloudformation deploy``, Terraform's
``aws_cloudformation_stack`` or CDK's ``CfnInclude``; each wants the
parameters and tags the change-set blocks send, in its own shape.  Python
derives the facts once (``PipelineFacts``: the parameter file's values, the
stack tags, the capabilities, the stack policy, production's protection and
whether the template needs an S3 URL); the shapes are template files in
``handoff/templates/`` (``pipeline-*``).  Past ``TEMPLATE_BODY_LIMIT`` every
format that names the template reads it from S3, from the bucket in
``TEMPLATE_BUCKET`` (a variable, as for the change-set blocks).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import data_guard
from ..config import EnvironmentConfig
from ..stack import account_setup, naming
from ..stack.limits import TEMPLATE_BODY_LIMIT, TEMPLATE_BUCKET_VARIABLE, TEMPLATE_S3_PREFIX
from ..stack.parameters import parameter_file
from ..stack.tags import stack_tags
from .guard_script import POLICY_NAME
from .procedure import DEPLOY_TEMPLATE
from .render import RenderedFile
from .templating import render

#: The bundle folder the formats are written to, one subfolder per environment.
FOLDER = "pipelines"
BUCKET_VARIABLE = TEMPLATE_BUCKET_VARIABLE
BUCKET_PREFIX = TEMPLATE_S3_PREFIX
#: What works and what does not with StackSets and Service Catalog (one file for every environment).
LIMITATIONS_NAME = f"{FOLDER}/stacksets-and-service-catalog.md"
#: The template of what works, and what does not, with StackSets and Service Catalog.
LIMITATIONS_TEMPLATE = "pipeline-stacksets-and-service-catalog.md.j2"


@dataclass(frozen=True)
class PipelineFormat:
    """One pipeline's file: its name in an environment's folder, its template, and how it is used."""

    file_name: str
    template: str
    title: str
    #: The command (or setting) that uses the file, run from the bundle folder; ``{path}`` is the file,
    #: ``{folder}`` its folder.
    usage: str


FORMATS: tuple[PipelineFormat, ...] = (
    PipelineFormat("codepipeline.json", "pipeline-codepipeline.json.j2", "CodePipeline template configuration",
                   "CloudFormation action `TemplateConfiguration: <artifact>::{path}`, "
                   f"`TemplatePath: <artifact>::{DEPLOY_TEMPLATE}`"),
    PipelineFormat("git-sync.yaml", "pipeline-git-sync.yaml.j2", "CloudFormation Git sync deployment file",
                   "the stack deployment file of a Git sync configuration "
                   "(`aws codeconnections create-sync-configuration --sync-type CFN_STACK_SYNC --config-file {path}`)"),
    PipelineFormat("deploy.sh", "pipeline-deploy.sh.j2", "`aws cloudformation deploy`", "`sh {path}`"),
    PipelineFormat("main.tf", "pipeline-terraform.tf.j2", "Terraform `aws_cloudformation_stack`",
                   "`terraform -chdir={folder} init && terraform -chdir={folder} apply`"),
    PipelineFormat("cdk_app.py", "pipeline-cdk.py.j2", "CDK `CfnInclude`", "`cdk deploy --app 'python3 {path}'`"),
)


@dataclass(frozen=True)
class PipelineFacts:
    """What every format of one environment states: the values the change-set block sends."""

    environment: str
    stack: str
    parameters: Mapping[str, str]
    tags: Mapping[str, str]
    capabilities: Sequence[str]
    production: bool
    #: The template is past the TemplateBody limit: read it from S3.
    from_s3: bool
    template: str = DEPLOY_TEMPLATE
    policy: str = POLICY_NAME
    bucket_variable: str = BUCKET_VARIABLE
    bucket_prefix: str = BUCKET_PREFIX
    body_limit: int = TEMPLATE_BODY_LIMIT

    @property
    def folder(self) -> str:
        """This environment's folder in the bundle."""
        return f"{FOLDER}/{self.environment}"

    @property
    def bundle_root(self) -> str:
        """The bundle folder, relative to this environment's folder."""
        return "../.."


def pipeline_facts(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> PipelineFacts:
    """The facts of ``config``'s formats, for a deployed template of ``template_bytes`` bytes."""
    return PipelineFacts(
        environment=config.name,
        stack=config.stack_name,
        parameters={entry["ParameterKey"]: entry["ParameterValue"] for entry in parameter_file(config)},
        tags=stack_tags(config),
        capabilities=tuple(capabilities),
        production=config.is_production,
        from_s3=template_bytes > TEMPLATE_BODY_LIMIT,
    )


def _json(value: Any) -> str:
    return json.dumps(value, indent=2)


def format_files(facts: PipelineFacts) -> list[RenderedFile]:
    """One environment's files, one per ``FORMATS`` entry."""
    return [RenderedFile(f"{facts.folder}/{fmt.file_name}",
                         render(fmt.template, facts=facts, stack_policy=data_guard.stack_policy(), to_json=_json,
                                quote=shlex.quote))
            for fmt in FORMATS]


def pipeline_files(environments: Mapping[str, EnvironmentConfig], capabilities: Sequence[str],
                   template_bytes: int) -> list[RenderedFile]:
    """Every environment's formats (environments in name order, as the parameter files), then the limitations."""
    files: list[RenderedFile] = []
    for _, config in sorted(environments.items()):
        files += format_files(pipeline_facts(config, capabilities, template_bytes))
    files.append(RenderedFile(LIMITATIONS_NAME, render(LIMITATIONS_TEMPLATE,
                                                       from_s3=template_bytes > TEMPLATE_BODY_LIMIT,
                                                       bucket_variable=BUCKET_VARIABLE,
                                                       capabilities=capabilities, template=DEPLOY_TEMPLATE,
                                                       policy=POLICY_NAME, account_setup=naming.ACCOUNT_SETUP_TEMPLATE,
                                                       account_setup_capabilities=account_setup.capabilities())))
    return files


def facts(environments: Mapping[str, EnvironmentConfig]) -> dict[str, Any]:
    """What HANDOFF.md's list of formats (``section-pipelines.md.j2``) is rendered from."""
    return {"formats": FORMATS, "folder": FOLDER, "environments": sorted(environments),
            "limitations": LIMITATIONS_NAME, "bucket_variable": BUCKET_VARIABLE}
