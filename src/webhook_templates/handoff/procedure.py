"""The change-set procedure, described once: what ``webhook-templates deploy`` and the bundle's blocks send.

``Procedure`` states, per environment, what ``CreateChangeSet`` gets (template,
parameters, tags, capabilities, role, notification topics, rollback triggers on
an update and the monitoring minutes, description), how the change set is
executed (``RetainExceptOnCreate``) and the protections a deploy leaves (the
full stack policy, during an update too, and termination protection for
production).  The Deployer (``deploy/flow.py``) builds its API requests with
it; the shell block is rendered from the same requests, each field turned into
the AWS CLI option of that field (``aws_cli_options``), so the two cannot
drift apart field by field.  ``tests/deploy/test_one_procedure.py`` captures
both at moto's server and compares them.

The block does what ``webhook-templates deploy`` does, with only the AWS CLI,
``python3`` and the bundle's files: pick CREATE or UPDATE from the stack's
state, create the change set from ``template.json`` and
``parameters/<env>.json``, wait, show it, run the bundle's ``guard-check.py``
on it, execute it, wait, set ``stack-policy.json`` and, for production,
termination protection.  A change set that "didn't contain changes" is deleted
and the run still succeeds, so a pipeline can run the block on every commit.
The service role and the notification topics, which the CLI takes as
``--role-arn`` and ``--notification-arns``, come from ``CFN_ROLE_ARN`` and
``CFN_NOTIFICATION_ARNS`` (ARNs separated by spaces).

It is POSIX ``sh`` in a subshell ``( ... )``: pasted into a terminal, its
``exit`` ends the block, not the reader's shell.  Only ``--parameters
file://`` (the list format both CLI versions read) and options both versions
have are used; ``tests/handoff/test_procedure_awscli.py`` runs the blocks with
AWS CLI v1 against moto, and ``tests/handoff/test_shellcheck.py`` lints every block.
The shell itself is ``templates/change_set.sh.j2``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__, dashboard
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_REFUSED
from ..stack import naming
from ..stack.account_setup import SET_ACCOUNT_ROLE_COMMAND, deploy_command
from ..stack.limits import TEMPLATE_BODY_LIMIT, TEMPLATE_BUCKET_VARIABLE, TEMPLATE_S3_PREFIX
from ..stack.tags import as_cloudformation, stack_tags
from . import templating
from .guard_script import POLICY_NAME, SCRIPT_NAME

#: The template file the blocks deploy: the compact JSON, which leaves the most room
#: under the 51,200-byte body limit before a deploy needs an S3 bucket.
DEPLOY_TEMPLATE = "template.json"
#: The shell the blocks are rendered from.
BLOCK_TEMPLATE = "change_set.sh.j2"
#: How CloudFormation (and ``deploy/changeset.py``) recognise an empty change set.
_NO_CHANGES_PATTERNS = ('*"didn\'t contain changes"*', '*"No updates are to be performed"*')
#: The block's stand-ins for the CLI's ``--role-arn`` and ``--notification-arns``.
ROLE_VARIABLE = "CFN_ROLE_ARN"
NOTIFICATION_VARIABLE = "CFN_NOTIFICATION_ARNS"
#: The block's variable for the rollback triggers it read from the stack (JSON), empty when there are none.
ROLLBACK_VARIABLE = "ROLLBACK"
#: The rollback triggers' type, and the resource states in which an alarm is not there to be one.
ALARM_TYPE = "AWS::CloudWatch::Alarm"
GONE_STATUSES = ("CREATE_FAILED", "DELETE_IN_PROGRESS", "DELETE_COMPLETE")
#: Only an update has rollback triggers: a stack being created has no alarms yet.
ROLLBACK_ON = "UPDATE"
#: What the blocks tell a first deploy without API Gateway's CloudWatch role to run, from the bundle folder.
ACCOUNT_SETUP_COMMAND = deploy_command()


def termination_protection(config: EnvironmentConfig) -> bool:
    """Whether a deploy of this environment leaves termination protection on (production only)."""
    return config.is_production


@dataclass(frozen=True)
class Shell:
    """A value the block computes when it runs, as shell text.

    ``kind``: ``value`` puts ``text`` after the option; ``optional`` passes the
    option only when the variable ``text`` is set (and not empty); ``words``
    puts ``text`` in place of the option and its value (the block prepared them).
    """

    text: str
    kind: str = "value"

    def arguments(self, option: str) -> str:
        """The option and its value, as the block passes them."""
        if self.kind == "optional":
            return f'${{{self.text}:+{option} "${self.text}"}}'
        return self.text if self.kind == "words" else f"{option} {self.text}"


@dataclass(frozen=True)
class Procedure:
    """One environment's deploy as CloudFormation is asked for it, by the CLI and by the block alike."""

    stack_name: str
    environment: str
    capabilities: tuple[str, ...]
    #: The environment's stack tags (the CLI's ``--tags`` add to them).
    tags: tuple[tuple[str, str], ...]
    #: ``RollbackConfiguration.MonitoringTimeInMinutes``: the environment's ``rollback_monitoring_minutes``.
    monitoring_minutes: int
    #: Left on after every deploy of a production stack.
    termination_protection: bool
    #: The alarms (logical IDs) that roll an update back; their ARNs are read from the stack.
    rollback_alarms: tuple[str, ...] = naming.ROLLBACK_ALARMS
    #: ``ExecuteChangeSet``'s ``RetainExceptOnCreate``: if the operation fails, what it newly
    #: created is deleted too (Retain resources included), so no orphaned table blocks the retry.
    retain_except_on_create: bool = True
    #: The full stack policy (``data_guard.stack_policy``) is set before an update runs and after every deploy.
    stack_policy: str = POLICY_NAME
    version: str = __version__

    @classmethod
    def of(cls, config: EnvironmentConfig, capabilities: Sequence[str]) -> Procedure:
        """The procedure of one environment, for a template needing ``capabilities``."""
        return cls(config.stack_name, config.name, tuple(capabilities), tuple(stack_tags(config).items()),
                   config.rollback_monitoring_minutes, termination_protection(config))

    @property
    def description(self) -> str:
        """The change set's ``Description``."""
        return f"webhook-templates {self.version}: {self.environment}"

    @property
    def parameters_file(self) -> str:
        """The environment's parameter file in the bundle."""
        return f"parameters/{self.environment}.json"

    @staticmethod
    def has_rollback_triggers(kind: str) -> bool:
        """Whether a change set of ``kind`` (CREATE, UPDATE) gets the stack's alarms as rollback triggers."""
        return kind == ROLLBACK_ON

    def rollback_configuration(self, alarm_arns: Sequence[str]) -> dict[str, Any] | None:
        """``RollbackConfiguration`` for the alarms found on the stack; None when there are none."""
        if not alarm_arns:
            return None
        return {"RollbackTriggers": [{"Arn": arn, "Type": ALARM_TYPE} for arn in alarm_arns],
                "MonitoringTimeInMinutes": self.monitoring_minutes}

    def create_change_set(self, *, stack: Any, name: Any, kind: Any, template: Mapping[str, Any], parameters: Any,
                          tags: Any = None, role_arn: Any = None, notification_arns: Any = None,
                          rollback: Any = None) -> dict[str, Any]:
        """``CreateChangeSet``'s request.  The values only known at run time are given (or the block's
        ``Shell`` text for them); ``tags`` None: the environment's.

        Tags are always sent (an empty list removes tags the environment no longer has); the role,
        the topics and the rollback triggers only when there are any (omitted, CloudFormation keeps
        the stack's topics, as ``aws cloudformation deploy`` does).
        """
        request: dict[str, Any] = {
            "StackName": stack, "ChangeSetName": name, "ChangeSetType": kind, **template,
            "Parameters": parameters, "Capabilities": list(self.capabilities),
            "Tags": as_cloudformation(dict(self.tags)) if tags is None else tags,
            "Description": self.description,
        }
        optional = {"RoleARN": role_arn, "NotificationARNs": notification_arns, "RollbackConfiguration": rollback}
        return request | {key: value for key, value in optional.items() if value}

    def execute_change_set(self, change_set: Any) -> dict[str, Any]:
        """``ExecuteChangeSet``'s request for the change set's ARN."""
        return {"ChangeSetName": change_set, "RetainExceptOnCreate": self.retain_except_on_create}


#: The AWS CLI option of each request field the procedure sends.  Rendering must not import
#: botocore (whose ``xform_name`` names them), so they are listed; tests/handoff/test_procedure.py
#: checks every one against ``xform_name`` and the operations' input shapes.
CLI_OPTIONS = {field: "--" + option for field, option in {
    "StackName": "stack-name", "ChangeSetName": "change-set-name", "ChangeSetType": "change-set-type",
    "TemplateBody": "template-body", "TemplateURL": "template-url", "Parameters": "parameters",
    "Capabilities": "capabilities", "Tags": "tags", "Description": "description", "RoleARN": "role-arn",
    "NotificationARNs": "notification-arns", "RollbackConfiguration": "rollback-configuration",
    "RetainExceptOnCreate": "retain-except-on-create",
}.items()}


def aws_cli_option(field: str) -> str:
    """The AWS CLI option of an API request's field, as the CLI names it."""
    return CLI_OPTIONS[field]


def _cli_value(value: Any) -> list[str]:
    """A request value as AWS CLI words: lists word by word (structures in shorthand), mappings as JSON."""
    if isinstance(value, str):
        return [shlex.quote(value)]
    if isinstance(value, Mapping):
        return [shlex.quote(json.dumps(value, separators=(",", ":")))]
    if not value:
        return ["'[]'"]  # an empty list is sent (query protocol: ``Tags=``), as boto3 sends it
    return [shlex.quote(",".join(f"{key}={item[key]}" for key in item) if isinstance(item, Mapping) else str(item))
            for item in value]


def aws_cli_options(request: Mapping[str, Any]) -> str:
    """An API request as the AWS CLI's options, in the request's order."""
    words = []
    for field, value in request.items():
        option = aws_cli_option(field)
        if isinstance(value, Shell):
            words.append(value.arguments(option))
        elif value is True:
            words.append(option)
        else:
            words.append(" ".join([option, *_cli_value(value)]))
    return " ".join(words)


def block_requests(procedure: Procedure, via_s3: bool) -> dict[str, str]:
    """The block's ``create-change-set`` and ``execute-change-set`` options, from the procedure's requests."""
    template = ({"TemplateURL": Shell(f'"https://${TEMPLATE_BUCKET_VARIABLE}.s3.amazonaws.com/$KEY"')} if via_s3
                else {"TemplateBody": f"file://{DEPLOY_TEMPLATE}"})
    create = procedure.create_change_set(
        stack=Shell('"$STACK"'), name=Shell('"$CHANGE_SET"'), kind=Shell('"$TYPE"'), template=template,
        parameters=f"file://{procedure.parameters_file}", role_arn=Shell(ROLE_VARIABLE, "optional"),
        notification_arns=Shell('"$@"', "words"), rollback=Shell(ROLLBACK_VARIABLE, "optional"),
    )
    return {"create": aws_cli_options(create),
            "execute": aws_cli_options(procedure.execute_change_set(Shell('"$CHANGE_SET_ID"')))}


def change_set_facts(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> dict[str, Any]:
    """What one environment's block is rendered from."""
    procedure = Procedure.of(config, capabilities)
    # Over the TemplateBody limit CloudFormation reads the template from S3.
    via_s3 = template_bytes > TEMPLATE_BODY_LIMIT
    return {
        "stack": procedure.stack_name,
        "environment": procedure.environment,
        "template": DEPLOY_TEMPLATE,
        "via_s3": via_s3,
        "body_limit": TEMPLATE_BODY_LIMIT,
        "bucket_variable": TEMPLATE_BUCKET_VARIABLE,
        "s3_prefix": TEMPLATE_S3_PREFIX,
        "requests": block_requests(procedure, via_s3),
        "role_variable": ROLE_VARIABLE,
        "notification_variable": NOTIFICATION_VARIABLE,
        "rollback_variable": ROLLBACK_VARIABLE,
        "notification_option": aws_cli_option("NotificationARNs"),
        "rollback_on": ROLLBACK_ON,
        "rollback_alarms": procedure.rollback_alarms,
        "alarm_type": ALARM_TYPE,
        "gone_statuses": GONE_STATUSES,
        "monitoring_minutes": procedure.monitoring_minutes,
        "account_setup_command": ACCOUNT_SETUP_COMMAND,
        "set_account_role_command": SET_ACCOUNT_ROLE_COMMAND,
        "no_changes": _NO_CHANGES_PATTERNS,
        "guard_script": SCRIPT_NAME,
        "stack_policy": procedure.stack_policy,
        "exit_refused": EXIT_REFUSED,
        "production": procedure.termination_protection,
        "dashboard": dashboard.path(config.name),
        "region_token": dashboard.REGION_TOKEN,
    }


def change_set_block(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> str:
    """The shell block for one environment, run from the bundle folder."""
    return templating.render(BLOCK_TEMPLATE, **change_set_facts(config, capabilities, template_bytes))
