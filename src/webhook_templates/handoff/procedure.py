"""The change-set procedure HANDOFF.md gives each environment: one shell block, AWS CLI v1 or v2.

The block does what ``webhook-templates deploy`` does, with only the AWS CLI,
``python3`` and the bundle's files: pick CREATE or UPDATE from the stack's
state, create the change set from ``template.json`` and
``parameters/<env>.json``, wait, show it, run the bundle's ``guard-check.py``
on it, execute it with ``--retain-except-on-create``, wait, set
``stack-policy.json`` and, for production, termination protection.  A change
set that "didn't contain changes" is deleted and the run still succeeds, so a
pipeline can run the block on every commit.

It is POSIX ``sh`` in a subshell ``( ... )``: pasted into a terminal, its
``exit`` ends the block, not the reader's shell.  Only ``--parameters
file://`` (the list format both CLI versions read) and options both versions
have are used; ``tests/handoff/test_procedure_awscli.py`` runs the blocks with
AWS CLI v1 against moto, and ``tests/handoff/test_shellcheck.py`` lints every block.
The shell itself is ``templates/change_set.sh.j2``; this module derives its facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import __version__, dashboard
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_REFUSED
from ..stack.limits import TEMPLATE_BODY_LIMIT
from ..stack.parameters import ACCOUNT_ROLE_PARAMETER, SET_ACCOUNT_ROLE_COMMAND
from ..stack.tags import stack_tags
from . import templating
from .guard_script import POLICY_NAME, SCRIPT_NAME

#: The template file the blocks deploy: the compact JSON, which leaves the most room
#: under the 51,200-byte body limit before a deploy needs an S3 bucket.
DEPLOY_TEMPLATE = "template.json"
#: The shell the blocks are rendered from.
BLOCK_TEMPLATE = "change_set.sh.j2"
#: How CloudFormation (and ``deploy/changeset.py``) recognise an empty change set.
_NO_CHANGES_PATTERNS = ('*"didn\'t contain changes"*', '*"No updates are to be performed"*')


def change_set_facts(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> dict[str, Any]:
    """What one environment's block is rendered from."""
    return {
        "stack": config.stack_name,
        "environment": config.name,
        "version": __version__,
        "template": DEPLOY_TEMPLATE,
        # Over the TemplateBody limit CloudFormation reads the template from S3.
        "via_s3": template_bytes > TEMPLATE_BODY_LIMIT,
        "body_limit": TEMPLATE_BODY_LIMIT,
        "capabilities": list(capabilities),
        # The same stack tags `webhook-templates deploy` sends (CloudFormation propagates them).
        "tags": stack_tags(config),
        # A stack that sets the account's API Gateway CloudWatch role itself needs no check for it.
        "check_account_role": not config.create_api_gateway_account_role,
        "account_role_parameter": ACCOUNT_ROLE_PARAMETER,
        "set_account_role_command": SET_ACCOUNT_ROLE_COMMAND,
        "no_changes": _NO_CHANGES_PATTERNS,
        "guard_script": SCRIPT_NAME,
        "stack_policy": POLICY_NAME,
        "exit_refused": EXIT_REFUSED,
        "production": config.is_production,
        "dashboard": dashboard.path(config.name),
        "region_token": dashboard.REGION_TOKEN,
    }


def change_set_block(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> str:
    """The shell block for one environment, run from the bundle folder."""
    return templating.render(BLOCK_TEMPLATE, **change_set_facts(config, capabilities, template_bytes))
