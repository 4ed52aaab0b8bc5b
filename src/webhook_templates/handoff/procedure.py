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
AWS CLI v1 against moto.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from .. import __version__
from ..config import EnvironmentConfig
from ..exit_codes import EXIT_REFUSED
from ..stack.limits import TEMPLATE_BODY_LIMIT
from ..stack.parameters import ACCOUNT_ROLE_PARAMETER, SET_ACCOUNT_ROLE_COMMAND
from ..stack.tags import stack_tags
from .guard_script import POLICY_NAME, SCRIPT_NAME

#: The template file the blocks deploy: the compact JSON, which leaves the most room
#: under the 51,200-byte body limit before a deploy needs an S3 bucket.
DEPLOY_TEMPLATE = "template.json"
#: How CloudFormation (and ``deploy/changeset.py``) recognise an empty change set.
_NO_CHANGES_PATTERNS = ('*"didn\'t contain changes"*', '*"No updates are to be performed"*')


def _template_source(template_bytes: int) -> tuple[list[str], str]:
    """Lines that make the template reachable, and the create-change-set option naming it."""
    if template_bytes <= TEMPLATE_BODY_LIMIT:
        return [], f"--template-body file://{DEPLOY_TEMPLATE}"
    # Over the TemplateBody limit CloudFormation reads the template from S3.
    return [
        ': "${TEMPLATE_BUCKET:?set TEMPLATE_BUCKET to an S3 bucket for the template (over 51,200 bytes)}"',
        f'KEY="webhook-templates/$(sha256sum {DEPLOY_TEMPLATE} | cut -c1-64).json"',
        f'aws s3 cp {DEPLOY_TEMPLATE} "s3://$TEMPLATE_BUCKET/$KEY" --only-show-errors',
    ], '--template-url "https://$TEMPLATE_BUCKET.s3.amazonaws.com/$KEY"'


def _account_role_check(config: EnvironmentConfig) -> list[str]:
    """Stop a first deploy where the stage's access logging would fail (no API Gateway CloudWatch role)."""
    if config.create_api_gateway_account_role:
        return []  # this stack sets the role itself
    return [
        "# A first deploy needs the account's API Gateway CloudWatch role (one per account and region).",
        'if [ "$TYPE" = CREATE ] && '
        '[ "$(aws apigateway get-account --query cloudwatchRoleArn --output text)" = None ]; then',
        '  echo "API Gateway has no CloudWatch role in this account and region, '
        'so the stage\'s access logging would fail." >&2',
        f'  echo "Set {ACCOUNT_ROLE_PARAMETER} to true in parameters/{config.name}.json (one stack per account and '
        f'region), or set the role: {SET_ACCOUNT_ROLE_COMMAND}" >&2',
        "  exit 1",
        "fi",
    ]


def change_set_block(config: EnvironmentConfig, capabilities: Sequence[str], template_bytes: int) -> str:
    """The shell block for one environment, run from the bundle folder."""
    upload, template_option = _template_source(template_bytes)
    # The same stack tags `webhook-templates deploy` sends (CloudFormation propagates them).
    tags = stack_tags(config)
    tag_option = ("--tags " + " ".join(shlex.quote(f"Key={key},Value={value}") for key, value in tags.items()) + " "
                  if tags else "")
    stack = config.stack_name
    no_changes = "|".join(_NO_CHANGES_PATTERNS)
    protect = (["aws cloudformation update-termination-protection --stack-name \"$STACK\" "
                "--enable-termination-protection >/dev/null"]
               if config.is_production else [])
    lines = [
        "(",
        "set -eu",
        'export AWS_PAGER=""  # AWS CLI v2 would page the tables at a terminal',
        f"STACK={stack}",
        'CHANGE_SET="$STACK-$(date -u +%Y%m%d-%H%M%S)"',
        "# CREATE when there is no stack (or only an unexecuted first change set), else UPDATE.",
        "STATUS=$(aws cloudformation describe-stacks --stack-name \"$STACK\" --query 'Stacks[0].StackStatus' "
        "--output text 2>/dev/null) || STATUS=NONE",
        'case "$STATUS" in',
        "  NONE|REVIEW_IN_PROGRESS) TYPE=CREATE ;;",
        '  ROLLBACK_COMPLETE) echo "$STACK is ROLLBACK_COMPLETE (a failed first deploy, no resources): deleting it"',
        '    aws cloudformation delete-stack --stack-name "$STACK"',
        '    aws cloudformation wait stack-delete-complete --stack-name "$STACK"; TYPE=CREATE ;;',
        '  *_IN_PROGRESS|*_FAILED) echo "$STACK is $STATUS: wait for it or recover it first '
        '(aws cloudformation describe-stack-events --stack-name $STACK)" >&2; exit 1 ;;',
        "  *) TYPE=UPDATE ;;",
        "esac",
        *_account_role_check(config),
        *upload,
        "# A change set that will not run is deleted (for a first deploy, with its empty stack).",
        'discard() { if [ "$TYPE" = CREATE ]; then aws cloudformation delete-stack --stack-name "$STACK"; '
        'else aws cloudformation delete-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET"; fi; }',
        'aws cloudformation create-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" '
        f'--change-set-type "$TYPE" {template_option} --parameters file://parameters/{config.name}.json '
        f'--capabilities {" ".join(capabilities)} {tag_option}${{CFN_ROLE_ARN:+--role-arn "$CFN_ROLE_ARN"}} '
        f'--description "webhook-templates {__version__} bundle: {config.name}" >/dev/null',
        "CHANGED=yes",
        'if ! aws cloudformation wait change-set-create-complete --stack-name "$STACK" '
        '--change-set-name "$CHANGE_SET" 2>/dev/null; then',
        '  REASON=$(aws cloudformation describe-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" '
        "--query StatusReason --output text)",
        "  discard",
        '  case "$REASON" in',
        f'    {no_changes}) echo "$STACK is up to date: the change set contained no changes."; CHANGED=no ;;',
        '    *) echo "CloudFormation rejected the change set: $REASON" >&2; exit 1 ;;',
        "  esac",
        "fi",
        'if [ "$CHANGED" = yes ]; then',
        '  aws cloudformation describe-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" '
        "--query 'Changes[].ResourceChange.[Action,LogicalResourceId,ResourceType,Replacement]' --output table",
        "  # The data guard: refuse (exit 3) a change set that would remove or replace a data resource.",
        '  if ! aws cloudformation describe-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" '
        f"--output json | python3 {SCRIPT_NAME}; then",
        f'    discard; echo "Not executed; the change set was deleted." >&2; exit {EXIT_REFUSED}',
        "  fi",
        '  if [ -t 0 ]; then  # at a terminal, ask; a pipeline runs on (its review is the plan stage)',
        '    printf "Execute %s on %s? [y/N] " "$CHANGE_SET" "$STACK"; read -r ANSWER',
        f'    case "$ANSWER" in y|Y|yes) ;; *) discard; echo "Not executed; the change set was deleted."; '
        f"exit {EXIT_REFUSED} ;; esac",
        "  fi",
        "  # If the operation fails, what it newly created is deleted too: no orphaned table blocks the retry.",
        '  aws cloudformation execute-change-set --stack-name "$STACK" --change-set-name "$CHANGE_SET" '
        "--retain-except-on-create",
        '  if [ "$TYPE" = CREATE ]; then WAITER=stack-create-complete; else WAITER=stack-update-complete; fi',
        '  if ! aws cloudformation wait "$WAITER" --stack-name "$STACK"; then',
        '    aws cloudformation describe-stack-events --stack-name "$STACK" --max-items 100 '
        "--query \"StackEvents[?ends_with(ResourceStatus, 'FAILED')].[LogicalResourceId,ResourceStatus,"
        "ResourceStatusReason]\" --output table >&2",
        '    echo "Deploy of $STACK failed: the first FAILED event above (the lowest) is the root cause." >&2; exit 1',
        "  fi",
        "fi",
        "# Every run, changed or not: CloudFormation itself refuses to replace or delete a data resource.",
        f'aws cloudformation set-stack-policy --stack-name "$STACK" --stack-policy-body file://{POLICY_NAME}',
        *protect,
        "aws cloudformation describe-stacks --stack-name \"$STACK\" "
        "--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table",
        'echo "$STACK is deployed and protected."',
        ")",
    ]
    return "\n".join(lines) + "\n"
