"""``webhook-templates``: render, check and deploy the webhook stack.

Each subcommand is one function here that parses nothing itself: argparse
rejects bad flags (exit 2), ``ConfigError`` turns a bad value into exit 2 with
the accepted values, and the work lives in the module named for it.

A command imports only the code it runs: ``render`` never loads the deploy,
send or serve modules (boto3, moto, HTTP stacks), which would cost it more
than the rendering itself.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import DEFAULT_BUILD_DIR, DEFAULT_ENVIRONMENTS_FILE, ConfigError, load_environments
from .exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE  # noqa: F401 (re-exported)


def _removed_tag(text: str) -> str:
    # Render-time tags were baked into the template and lost on the next re-render; say where they went.
    raise argparse.ArgumentTypeError(
        f"render --tag {text} is gone: tags are deploy-time stack tags; accepted: `tags` in "
        "environments.toml, or deploy --tags KEY=VALUE"
    )


def cmd_render(args: argparse.Namespace) -> int:
    """Render the template and parameter files into the build folder."""
    from .handoff.bundle import build_files, check_drift, load_handler, write_bundle
    from .stack.handler_artifact import HandlerUnavailable

    environments = load_environments(args.environments)
    started = time.perf_counter()
    try:
        handler = load_handler()  # the one read of the handler: everything below is handed it
    except HandlerUnavailable as error:
        print(f"webhook-templates: {error}", file=sys.stderr)
        return EXIT_FAILED
    files = build_files(environments, handler=handler)
    if args.check:
        drifted = check_drift(files, args.out)
        for path in drifted:
            print(f"out of date: {args.out / path}", file=sys.stderr)
        if drifted:
            print("run `make template` to re-render", file=sys.stderr)
            return EXIT_FAILED
        print(f"{args.out}: up to date ({len(files)} files)")
        return EXIT_OK
    write_bundle(files, args.out)
    elapsed = (time.perf_counter() - started) * 1000
    sizes = {f.path: len(f.content.encode()) for f in files}
    print(
        f"rendered {len(files)} files into {args.out}/ in {elapsed:.0f} ms "
        f"(template.json {sizes['template.json']:,} bytes)"
    )
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    """Run cfn-lint and checkov on the rendered templates."""
    from .handoff import lint

    return lint.main(args.out)


def cmd_verify(args: argparse.Namespace) -> int:
    """Check a handoff bundle against its manifest.json: every file present, unchanged, none added."""
    from .handoff import manifest

    problems = manifest.verify(args.dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{args.dir}: does not match its {manifest.NAME} ({len(problems)} problems)", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.dir}: every file matches {manifest.NAME}")
    return EXIT_OK


#: Subcommands defined beside the code they drive: the module whose ``register``
#: adds each one's parser (and sets ``func``), imported only when it is needed.
_EXTRA_COMMANDS: dict[str, str] = {
    "deploy": "webhook_templates.deploy.commands",
    "diff": "webhook_templates.deploy.commands",
    "outputs": "webhook_templates.deploy.commands",
    "destroy": "webhook_templates.deploy.commands",
    "status": "webhook_templates.deploy.commands",
    "serve": "webhook_templates.local.serve",
    "send": "webhook_templates.local.send",
}
_OWN_COMMANDS = ("render", "lint", "verify")


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (top-level options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's argument parser (exposed for tests and ``--help``).

    With ``command``, only that command's module is imported; without one (or
    an unknown one: ``--help``, a typo), every command is registered, so the
    help and the "invalid choice" message list them all.
    """
    parser = argparse.ArgumentParser(
        prog="webhook-templates",
        description="Generate, check and deploy the transaction-webhook stack.",
        epilog="Exit codes: 0 success, 1 failure, 2 usage error, 3 refused (deploy guard or user), "
               "4 deployed but protection not restored (deploy), 5 an alarm is in ALARM (status), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="render the template, parameter files and handoff bundle",
                                 description=cmd_render.__doc__)
    render.add_argument("--out", type=Path, default=DEFAULT_BUILD_DIR, help="build folder (default: build)")
    render.add_argument("--environments", type=Path, default=DEFAULT_ENVIRONMENTS_FILE, metavar="PATH",
                        help=f"the environments file (default: {DEFAULT_ENVIRONMENTS_FILE}): one parameter file each")
    render.add_argument("--tag", type=_removed_tag, help=argparse.SUPPRESS)
    render.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the build folder differs from a fresh render")
    render.set_defaults(func=cmd_render)

    lint_parser = commands.add_parser("lint", help="cfn-lint and checkov on the rendered templates",
                                      description=cmd_lint.__doc__)
    lint_parser.add_argument("--out", type=Path, default=DEFAULT_BUILD_DIR, help="build folder (default: build)")
    lint_parser.set_defaults(func=cmd_lint)

    verify = commands.add_parser("verify", help="check a handoff bundle against its manifest",
                                 description=cmd_verify.__doc__,
                                 epilog="exit codes: 0 the bundle matches, 1 a file differs, is missing or was added")
    verify.add_argument("dir", type=Path, metavar="DIR", help="the bundle folder (the one holding manifest.json)")
    verify.set_defaults(func=cmd_verify)

    if command in _OWN_COMMANDS:
        modules: list[str] = []
    elif command in _EXTRA_COMMANDS:
        modules = [_EXTRA_COMMANDS[command]]
    else:
        modules = list(dict.fromkeys(_EXTRA_COMMANDS.values()))
    for module in modules:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``webhook-templates`` console script.

    The command boundary: whatever goes wrong ends in one line on stderr and a
    documented exit code, never a traceback; a closed stdout ends the command
    quietly.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as error:
        parser.exit(EXIT_USAGE, f"webhook-templates: error: {error}\n")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        from .deploy.console import detach_stdout

        detach_stdout()
        return EXIT_FAILED
    except UnicodeDecodeError as error:
        parser.exit(EXIT_USAGE, f"webhook-templates: error: a file given is not UTF-8 text ({error.reason} at "
                                f"byte {error.start}); accepted: UTF-8 files\n")
    except OSError as error:  # a file or folder that cannot be read or written
        where = f" {error.filename}" if error.filename else ""
        print(f"webhook-templates: error:{where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 (the boundary: a bug still gets one line, not a traceback)
        from .deploy.session import aws_errors, describe_error

        if isinstance(error, aws_errors()):
            print(describe_error(error), file=sys.stderr)
        else:
            print(f"webhook-templates: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
