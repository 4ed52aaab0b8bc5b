"""The ``deploy``, ``outputs`` and ``destroy`` subcommands: flags in, one call out.

Validation happens here, once: a bad value raises ``ConfigError`` (exit 2,
naming the value and what is accepted).  The deploy machinery is imported only
when one of these commands runs.  Credentials,
region and endpoint come from the standard AWS chain (``AWS_PROFILE``,
``AWS_REGION``, ``AWS_ENDPOINT_URL``...), never from flags of ours.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ..config import DEFAULT_BUILD_DIR, ENVIRONMENTS, EnvironmentConfig, environment
from ..exit_codes import DEPLOY_EXIT_CODES, DESTROY_EXIT_CODES, EXIT_FAILED, OUTPUTS_EXIT_CODES
from .session import check, cloudformation, run_aws, session
from .stack_outputs import DEFAULT_OUTPUTS_FILE

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_LOGICAL_ID = re.compile(r"^[A-Za-z0-9]{1,255}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DEFAULT_POLL_SECONDS = 5.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"invalid interval {text!r}; accepted: seconds, 0 or more")
    return value


def stack_name(args: argparse.Namespace, env: EnvironmentConfig) -> str:
    """``--stack-name``, or the environment's default (``webhook-<env>``)."""
    name = args.stack_name or env.stack_name
    check(_STACK_NAME, "--stack-name", name, "a letter, then up to 127 letters, digits or '-'")
    return name


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy the stack through a change set: show it, guard the data, confirm, execute, follow."""
    from .console import Console
    from .flow import DeployRequest, deploy
    from .inputs import (
        default_bucket,
        default_parameters_path,
        load_parameters,
        load_template,
        render_if_stale,
        upload_template,
    )

    env = environment(args.env)
    name = stack_name(args, env)
    for logical_id in args.allow_replacement:
        check(_LOGICAL_ID, "--allow-replacement", logical_id, "a logical resource ID such as TransactionsTable")
    check(_BUCKET, "--bucket", args.bucket, "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')")
    aws = session(args.region)
    console = Console.for_terminal()
    template_path = args.template
    if template_path is None:
        template_path = DEFAULT_BUILD_DIR / "template.json"
        stale = render_if_stale(DEFAULT_BUILD_DIR)
        if stale:
            console.say(f"{DEFAULT_BUILD_DIR}/ was out of date ({', '.join(stale)}): re-rendered it.")
    template = load_template(template_path)
    parameters = load_parameters(args.parameters or default_parameters_path(template_path, env.name),
                                 template, env.name)

    def upload(source: Any) -> str:
        account = aws.client("sts").get_caller_identity()["Account"]
        bucket = args.bucket or default_bucket(account, aws.region_name)
        return upload_template(aws.client("s3"), source, bucket, aws.region_name, account)

    request = DeployRequest(
        stack_name=name, environment=env, template=template, parameters=parameters,
        allow_replacement=frozenset(args.allow_replacement), dry_run=args.dry_run, assume_yes=args.yes,
        outputs_file=args.outputs_file, poll_seconds=args.poll_interval,
    )
    return run_aws(lambda: deploy(request, cloudformation(aws), console, upload))


def cmd_outputs(args: argparse.Namespace) -> int:
    """Print the deployed stack's outputs and rewrite the outputs file."""
    from ..exit_codes import EXIT_OK
    from .console import Console
    from .stack_outputs import record
    from .stacks import describe_stack

    name = stack_name(args, environment(args.env))
    aws = session(args.region)
    console = Console.for_terminal()

    def show() -> int:
        stack = describe_stack(cloudformation(aws), name)
        if stack is None:
            console.warn(f"{name} does not exist in {aws.region_name}: deploy it first (make deploy ENV={args.env}).")
            return EXIT_FAILED
        record(stack, args.outputs_file, console)
        return EXIT_OK

    return run_aws(show)


def cmd_destroy(args: argparse.Namespace) -> int:
    """Delete the stack after confirmation; the data resources are retained."""
    from .console import Console
    from .destroy import destroy

    name = stack_name(args, environment(args.env))
    aws = session(args.region)
    return run_aws(lambda: destroy(
        cloudformation(aws), name, Console.for_terminal(), assume_yes=args.yes,
        poll_seconds=args.poll_interval, outputs_file=args.outputs_file,
    ))


def _common(parser: argparse.ArgumentParser, *, follows: bool) -> None:
    parser.add_argument("--env", required=True, metavar="ENV",
                        help=f"environment: {', '.join(ENVIRONMENTS)}")
    parser.add_argument("--stack-name", metavar="NAME", help="stack name (default: webhook-<env>)")
    parser.add_argument("--region", metavar="REGION",
                        help="AWS region (default: the standard chain, e.g. AWS_REGION or the profile's)")
    parser.add_argument("--outputs-file", type=Path, default=DEFAULT_OUTPUTS_FILE, metavar="PATH",
                        help=f"flat {{OutputKey: OutputValue}} JSON file (default: {DEFAULT_OUTPUTS_FILE})")
    if follows:
        parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--poll-interval", type=_seconds, default=DEFAULT_POLL_SECONDS, metavar="SECONDS",
                            help=f"how often to poll CloudFormation (default: {DEFAULT_POLL_SECONDS:g})")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``deploy``, ``outputs`` and ``destroy`` to the CLI."""
    deploy = commands.add_parser(
        "deploy", help="deploy a stack through a change set (guarded, confirmed, followed)",
        description=(cmd_deploy.__doc__ or "") + " Refuses to remove or replace the table, the key, the secret or "
        "a log group unless --allow-replacement names each one.",
        epilog=DEPLOY_EXIT_CODES,
    )
    _common(deploy, follows=True)
    deploy.add_argument("--template", type=Path, metavar="PATH",
                        help="rendered template to deploy (default: build/template.json, re-rendered if stale)")
    deploy.add_argument("--parameters", type=Path, metavar="PATH",
                        help="parameter file (default: parameters/<env>.json beside the template)")
    deploy.add_argument("--bucket", metavar="NAME",
                        help="S3 bucket for templates over 51,200 bytes "
                        "(default: cfn-templates-<account>-<region>, created if absent)")
    deploy.add_argument("--allow-replacement", action="append", default=[], metavar="LOGICAL_ID",
                        help="let this deploy remove or replace this data resource (repeatable)")
    deploy.add_argument("--dry-run", action="store_true", help="show the changes, execute nothing")
    deploy.set_defaults(func=cmd_deploy)

    outputs = commands.add_parser("outputs", help="print the stack's outputs and rewrite the outputs file",
                                  description=cmd_outputs.__doc__, epilog=OUTPUTS_EXIT_CODES)
    _common(outputs, follows=False)
    outputs.set_defaults(func=cmd_outputs)

    destroy = commands.add_parser("destroy", help="delete the stack (the data resources are retained)",
                                  description=cmd_destroy.__doc__, epilog=DESTROY_EXIT_CODES)
    _common(destroy, follows=True)
    destroy.set_defaults(func=cmd_destroy)
