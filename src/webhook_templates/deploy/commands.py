"""The ``deploy``, ``diff``, ``outputs``, ``destroy`` and ``status`` subcommands: flags in, one call out.

Validation happens here, once: a bad value raises ``ConfigError`` (exit 2,
naming the value and what is accepted).  The deploy machinery is imported only
when one of these commands runs.  Credentials, region and endpoint come from
the standard AWS chain (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``...);
``--profile`` and ``--region`` pick among them, as in the AWS CLI.

Environments come from ``environments.toml`` (``--environments``).  ``deploy``
and ``diff`` refuse a name the file does not list unless ``--based-on`` names
the environment to copy (an ephemeral one); ``outputs`` and ``destroy`` take
any valid name, since they only read or delete a stack that already exists.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..config import (
    DEFAULT_BUILD_DIR,
    DEFAULT_ENVIRONMENTS_FILE,
    ConfigError,
    EnvironmentConfig,
    check_environment_name,
    load_environments,
    resolve_environment,
    stack_name_of,
    validate_tag,
)
from ..exit_codes import (
    DEPLOY_EXIT_CODES,
    DESTROY_EXIT_CODES,
    DIFF_EXIT_CODES,
    EXIT_FAILED,
    OUTPUTS_EXIT_CODES,
    STATUS_EXIT_CODES,
)
from . import messages
from .session import check, cloudformation, run_aws, session
from .stack_outputs import DEFAULT_OUTPUTS_FILE

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_LOGICAL_ID = re.compile(r"^[A-Za-z0-9]{1,255}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.@+-][A-Za-z0-9 _.@+/-]{0,127}$")
DEFAULT_POLL_SECONDS = 5.0
#: CloudFormation takes at most 5 notification ARNs and 50 stack tags.
MAX_NOTIFICATION_ARNS = 5
MAX_STACK_TAGS = 50
OUTPUT_FORMATS = ("text", "json")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"invalid interval {text!r}; accepted: seconds, 0 or more")
    return value


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}; accepted: KEY=VALUE")
    return key, value


def key_values(pairs: list[tuple[str, str]], flag: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict; a key given twice with different values is a usage error."""
    result: dict[str, str] = {}
    for key, value in pairs:
        if result.get(key, value) != value:
            raise ConfigError(messages.given_twice(flag, key, result[key], value))
        result[key] = value
    return result


def cli_tags(args: argparse.Namespace) -> dict[str, str]:
    """``--tags KEY=VALUE ...``, each checked against AWS's tag rules."""
    tags = key_values(args.tags, "--tags")
    for key, value in tags.items():
        validate_tag(key, value, where="--tags")
    return tags


def stack_name(args: argparse.Namespace, env_name: str) -> str:
    """``--stack-name``, or the environment's default (``webhook-<env>``)."""
    name = args.stack_name or stack_name_of(env_name)
    check(_STACK_NAME, "--stack-name", name, "a letter, then up to 127 letters, digits or '-'")
    return name


def aws_session(args: argparse.Namespace) -> Any:
    """The boto3 session of ``--profile`` and ``--region`` (else the standard chain)."""
    check(_PROFILE, "--profile", args.profile, "a profile name of your AWS config")
    return session(args.region, args.profile)


def deploy_environment(args: argparse.Namespace) -> tuple[EnvironmentConfig, bool]:
    """The environment to deploy (from the file, or ephemeral with ``--based-on``) and whether it is in the file."""
    environments = load_environments(args.environments)
    env = resolve_environment(environments, args.env, args.based_on, source=str(args.environments))
    return env, env.name in environments


def _check_deploy_flags(args: argparse.Namespace) -> None:
    for logical_id in args.allow_replacement:
        check(_LOGICAL_ID, "--allow-replacement", logical_id, "a logical resource ID such as TransactionsTable")
    check(_BUCKET, "--bucket", args.bucket, "an S3 bucket name (3-63 lowercase letters, digits, '.', '-')")
    check(_ROLE_ARN, "--role-arn", args.role_arn, "an IAM role ARN such as arn:aws:iam::<account>:role/<name>")
    for arn in args.notification_arns:
        check(_TOPIC_ARN, "--notification-arns", arn, "SNS topic ARNs such as arn:aws:sns:<region>:<account>:<name>")
    if len(set(args.notification_arns)) > MAX_NOTIFICATION_ARNS:
        raise ConfigError(messages.too_many_topics(len(set(args.notification_arns)), MAX_NOTIFICATION_ARNS))
    if args.no_execute_changeset and args.allow_replacement:
        raise ConfigError(messages.ALLOW_WITHOUT_EXECUTE)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy the stack through a change set: show it, guard the data, confirm, execute, follow."""
    from ..stack.naming import DEPLOY_ROLE_PARAMETER
    from ..stack.parameters import parameter_file
    from ..stack.tags import as_cloudformation, stack_tags
    from .console import Console
    from .flow import Deployer, DeployRequest, PollSettings
    from .inputs import (
        apply_overrides,
        default_bucket,
        default_parameters_path,
        load_parameters,
        load_template,
        render_if_stale,
        upload_template,
    )
    from .prerequisites import account_setup_beside, missing_api_gateway_role

    json_output = getattr(args, "output", "text") == "json"
    env, listed = deploy_environment(args)
    name = stack_name(args, env.name)
    _check_deploy_flags(args)
    tags = stack_tags(env, cli_tags(args))
    if len(tags) > MAX_STACK_TAGS:
        raise ConfigError(messages.too_many_tags(len(tags), MAX_STACK_TAGS))
    overrides = key_values(args.parameter_overrides, "--parameter-overrides")
    aws = aws_session(args)
    # With --output json, stdout carries the JSON document only; everything else goes to stderr.
    console = Console.for_terminal()
    if json_output:
        console = Console(out=sys.stderr, colour=False)
    template_path = args.template
    if template_path is None:
        template_path = DEFAULT_BUILD_DIR / "template.json"
        stale = render_if_stale(DEFAULT_BUILD_DIR, load_environments(args.environments))
        if stale:
            console.say(messages.re_rendered(DEFAULT_BUILD_DIR, stale))
    template = load_template(template_path)
    beside = default_parameters_path(template_path, env.name)
    if args.parameters:
        parameters = load_parameters(args.parameters, template, env.name)
    elif listed and beside.is_file():
        parameters = load_parameters(beside, template, env.name)
    else:
        # An ephemeral environment has no parameter file, nor has a bundle rendered before the
        # environment was added: the values are what render would write, computed in memory.
        parameters = parameter_file(env)
        console.say(messages.parameters_from_environments(env.name, args.environments,
                                                          None if listed else args.based_on, beside))
    parameters = apply_overrides(parameters, overrides, template)
    named = next((p["ParameterValue"] for p in parameters if p["ParameterKey"] == DEPLOY_ROLE_PARAMETER), "")
    # The key policy names role/<DeployRole>: a role with a path (role/team/x) is another ARN.
    if args.role_arn and args.role_arn.split(":", 5)[-1] != f"role/{named}":
        console.say(messages.role_not_in_key_policy(args.role_arn, named))

    def upload(source: Any) -> str:
        account = aws.client("sts").get_caller_identity()["Account"]
        bucket = args.bucket or default_bucket(account, aws.region_name)
        return upload_template(aws.client("s3"), source, bucket, aws.region_name, account)

    def report(document: dict[str, Any]) -> None:
        print(json.dumps(document, indent=2), flush=True)

    request = DeployRequest(
        stack_name=name, environment=env, template=template, parameters=parameters,
        allow_replacement=frozenset(args.allow_replacement), dry_run=args.dry_run, assume_yes=args.yes,
        outputs_file=args.outputs_file, tags=tuple(as_cloudformation(tags)), role_arn=args.role_arn,
        notification_arns=tuple(dict.fromkeys(args.notification_arns)),
        no_execute=args.no_execute_changeset, region=aws.region_name, report=report if json_output else None,
    )
    deployer = Deployer(
        cloudformation(aws), console, PollSettings(poll_seconds=args.poll_interval), upload=upload,
        first_deploy_problem=lambda: missing_api_gateway_role(aws.client("apigateway"),
                                                              account_setup_beside(template_path)),
        codedeploy=aws.client("codedeploy"), cloudwatch=aws.client("cloudwatch"),
    )
    return run_aws(lambda: deployer.deploy(request))


def cmd_diff(args: argparse.Namespace) -> int:
    """Show the change set a deploy would execute, with the data guard's verdict; change nothing."""
    args.dry_run, args.yes, args.no_execute_changeset = True, False, False
    return cmd_deploy(args)


def cmd_outputs(args: argparse.Namespace) -> int:
    """Print the deployed stack's outputs and rewrite the outputs file."""
    from ..exit_codes import EXIT_OK
    from .console import Console
    from .stack_outputs import flatten, record, write
    from .stacks import describe_stack

    name = stack_name(args, check_environment_name(args.env))
    aws = aws_session(args)
    console = Console.for_terminal()

    def show() -> int:
        stack = describe_stack(cloudformation(aws), name)
        if stack is None:
            console.warn(messages.no_stack_for_outputs(name, aws.region_name, args.env))
            return EXIT_FAILED
        if args.output == "json":
            outputs = flatten(stack)
            write(outputs, args.outputs_file)
            print(json.dumps(outputs, indent=2), flush=True)
        else:
            record(stack, args.outputs_file, console)
        return EXIT_OK

    return run_aws(show)


def cmd_destroy(args: argparse.Namespace) -> int:
    """Delete the stack after confirmation; the data resources are retained."""
    from .console import Console
    from .destroy import destroy

    name = stack_name(args, check_environment_name(args.env))
    check(_ROLE_ARN, "--role-arn", args.role_arn, "an IAM role ARN such as arn:aws:iam::<account>:role/<name>")
    aws = aws_session(args)
    return run_aws(lambda: destroy(
        cloudformation(aws), name, Console.for_terminal(), assume_yes=args.yes,
        poll_seconds=args.poll_interval, outputs_file=args.outputs_file, role_arn=args.role_arn,
    ))


def cmd_status(args: argparse.Namespace) -> int:
    """Show how the deployed environment is doing: deliveries by outcome and reason, alarms in ALARM,
    the live alias and any deployment in progress, p99 latency at the edge and in the handler."""
    from .console import Console
    from .status import SINCE_ACCEPTED, Clients, lines, no_stack, parse_since, read_status

    env = check_environment_name(args.env)
    name = stack_name(args, env)
    since = parse_since(args.since)
    if since is None:
        raise ConfigError(f"--since {args.since!r} is invalid; accepted: {SINCE_ACCEPTED}")
    aws = aws_session(args)
    console = Console.for_terminal()

    def show() -> int:
        clients = Clients(cloudformation(aws), aws.client("cloudwatch"), aws.client("lambda"),
                          aws.client("codedeploy"))
        status = read_status(clients, name, env, since)
        if status is None:
            console.warn(no_stack(name, aws.region_name, env))
            return EXIT_FAILED
        if args.output == "json":
            print(json.dumps(status.as_json(), indent=2), flush=True)
        else:
            for line in lines(status):
                console.say(line)
        return status.exit_code()

    return run_aws(show)


def _common(parser: argparse.ArgumentParser, *, follows: bool) -> None:
    parser.add_argument("--env", required=True, metavar="ENV",
                        help="environment: a table of environments.toml (or, for deploy and diff with "
                        "--based-on, a new name)")
    parser.add_argument("--stack-name", metavar="NAME", help="stack name (default: webhook-<env>)")
    parser.add_argument("--profile", metavar="NAME",
                        help="AWS profile to use (default: the standard chain, e.g. AWS_PROFILE)")
    parser.add_argument("--region", metavar="REGION",
                        help="AWS region (default: the standard chain, e.g. AWS_REGION or the profile's)")
    parser.add_argument("--outputs-file", type=Path, default=DEFAULT_OUTPUTS_FILE, metavar="PATH",
                        help=f"flat {{OutputKey: OutputValue}} JSON file (default: {DEFAULT_OUTPUTS_FILE})")
    if follows:
        parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--poll-interval", type=_seconds, default=DEFAULT_POLL_SECONDS, metavar="SECONDS",
                            help=f"how often to poll CloudFormation (default: {DEFAULT_POLL_SECONDS:g})")


def _output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--output", choices=OUTPUT_FORMATS, default="text",
                        help=f"text (default) or json: {what} as JSON on stdout and nothing else there")


def _change_set_flags(parser: argparse.ArgumentParser) -> None:
    """The flags deploy and diff share: what the change set is made of."""
    parser.add_argument("--environments", type=Path, default=DEFAULT_ENVIRONMENTS_FILE, metavar="PATH",
                        help=f"the environments file (default: {DEFAULT_ENVIRONMENTS_FILE})")
    parser.add_argument("--based-on", metavar="ENV",
                        help="deploy --env as an ephemeral environment with this environment's settings and tags "
                        "(for a name not in the environments file, e.g. --env pr-123 --based-on dev)")
    parser.add_argument("--template", type=Path, metavar="PATH",
                        help="rendered template to deploy (default: build/template.json, re-rendered if stale)")
    parser.add_argument("--parameters", type=Path, metavar="PATH",
                        help="parameter file (default: parameters/<env>.json beside the template)")
    parser.add_argument("--parameter-overrides", type=_pair, nargs="+", action="extend", default=[],
                        metavar="KEY=VALUE", help="template parameter values over the parameter file's")
    parser.add_argument("--tags", type=_pair, nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="stack tags over the environment's `tags` (CloudFormation propagates them to resources)")
    parser.add_argument("--role-arn", metavar="ARN",
                        help="IAM role CloudFormation assumes to make the changes (service role)")
    parser.add_argument("--notification-arns", nargs="+", action="extend", default=[], metavar="ARN",
                        help="SNS topics that receive the stack's events (at most 5)")
    parser.add_argument("--bucket", metavar="NAME",
                        help="S3 bucket for templates over 51,200 bytes "
                        "(default: cfn-templates-<account>-<region>, created if absent)")
    parser.add_argument("--allow-replacement", action="append", default=[], metavar="LOGICAL_ID",
                        help="let this deploy remove or replace this data resource (repeatable)")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``deploy``, ``diff``, ``outputs``, ``destroy`` and ``status`` to the CLI."""
    deploy = commands.add_parser(
        "deploy", help="deploy a stack through a change set (guarded, confirmed, followed)",
        description=(cmd_deploy.__doc__ or "") + " Refuses to remove or replace the table, the key, the secret or "
        "a log group unless --allow-replacement names each one.",
        epilog=DEPLOY_EXIT_CODES,
    )
    _common(deploy, follows=True)
    _change_set_flags(deploy)
    deploy.add_argument("--dry-run", action="store_true", help="show the changes, execute nothing (same as diff)")
    deploy.add_argument("--no-execute-changeset", action="store_true",
                        help="create and show the change set, keep it for an approver, and print how to execute it")
    deploy.set_defaults(func=cmd_deploy)

    diff = commands.add_parser("diff", help="show the change set a deploy would execute (changes nothing)",
                               description=cmd_diff.__doc__, epilog=DIFF_EXIT_CODES)
    _common(diff, follows=False)
    _change_set_flags(diff)
    _output(diff, "the changes and the guard's verdict")
    diff.add_argument("--poll-interval", type=_seconds, default=DEFAULT_POLL_SECONDS, metavar="SECONDS",
                      help=f"how often to poll CloudFormation (default: {DEFAULT_POLL_SECONDS:g})")
    diff.set_defaults(func=cmd_diff)

    outputs = commands.add_parser("outputs", help="print the stack's outputs and rewrite the outputs file",
                                  description=cmd_outputs.__doc__, epilog=OUTPUTS_EXIT_CODES)
    _common(outputs, follows=False)
    _output(outputs, "the flat {OutputKey: OutputValue} object")
    outputs.set_defaults(func=cmd_outputs)

    destroy = commands.add_parser("destroy", help="delete the stack (the data resources are retained)",
                                  description=cmd_destroy.__doc__, epilog=DESTROY_EXIT_CODES)
    _common(destroy, follows=True)
    destroy.add_argument("--role-arn", metavar="ARN",
                         help="IAM role CloudFormation assumes to delete the stack (service role)")
    destroy.set_defaults(func=cmd_destroy)

    status = commands.add_parser("status", help="how the deployed environment is doing (metrics, alarms, release)",
                                 description=cmd_status.__doc__, epilog=STATUS_EXIT_CODES)
    status.add_argument("--env", required=True, metavar="ENV", help="environment (any valid name: only read)")
    status.add_argument("--stack-name", metavar="NAME", help="stack name (default: webhook-<env>)")
    status.add_argument("--profile", metavar="NAME", help="AWS profile to use (default: the standard chain)")
    status.add_argument("--region", metavar="REGION", help="AWS region (default: the standard chain)")
    status.add_argument("--since", default="1h", metavar="DURATION",
                        help="how far back to count (default: 1h; e.g. 30m, 6h, 2d; at most 15d)")
    _output(status, "the status")
    status.set_defaults(func=cmd_status)
