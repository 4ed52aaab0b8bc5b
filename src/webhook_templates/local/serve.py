"""``make serve``: the real ``handler/app.py`` behind a local HTTP endpoint, AWS emulated by moto.

For trying senders and payloads without Docker or an AWS account; it is not a
production server.  Each request goes through what the deployed stack does:
API Gateway's layer (``gateway``: route, payload quota, the template's body
model and error bodies), then the handler, invoked with the same REST proxy
event API Gateway sends, against an in-memory DynamoDB table and Secrets
Manager secret shaped like the stack's.

This module is the command (flags, banner, signals); the parts are
``emulated_aws`` (moto), ``containers`` (the emulated Lambda) and ``server`` (HTTP).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ..config import ConfigError
from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..handoff.bundle import handler_location
from ..stack.handler_artifact import HandlerArtifact, HandlerUnavailable
from . import gateway, signing
from .containers import start_containers
from .emulated_aws import local_aws
from .server import STATS_PATH, LocalServer

DEFAULT_PORT = 3000
DEFAULT_CONCURRENCY = 4


def loopback_host(host: str) -> str:
    """``host`` as a loopback IP address, or ``ConfigError``: this server never listens beyond the machine."""
    address = "127.0.0.1" if host == "localhost" else host
    try:
        if ipaddress.ip_address(address).is_loopback:
            return address
    except ValueError:
        pass
    raise ConfigError(f"--host {host!r} is not allowed; accepted: a loopback address (127.0.0.1, ::1, localhost)")


def send_command(url: str, secret: str) -> str:
    """The ``send`` command line that posts a signed sample delivery to ``url``."""
    local = Path(sys.executable).parent / "webhook-templates"
    with contextlib.suppress(ValueError):
        local = local.relative_to(Path.cwd())
    program = str(local) if local.exists() else "webhook-templates"
    return f"{program} send --endpoint {url} --secret {secret}"


def banner(server: LocalServer, concurrency: int) -> str:
    """What ``make serve`` prints on start."""
    url, secret = server.url, server.aws.secret
    stats = url.removesuffix(gateway.WEBHOOK_PATH) + STATS_PATH
    return "\n".join([
        "webhook-templates local endpoint: for trying senders and payloads. NOT a production server",
        "(one process; AWS emulated in memory by moto; everything is lost when it stops).",
        "",
        f"  endpoint        POST {url}",
        f"  signing secret  {secret}   (development only)",
        f"  checks          API Gateway's body schema, then {Path(server.handler.origin).name}: signature, "
        f"{server.handler.limits.max_body_bytes:,}-byte limit, validation, exactly-once storage",
        f"  containers      {concurrency} concurrent handler executions",
        f"  stored items    GET {stats}   (local only)",
        "",
        "Post a signed sample delivery from another terminal:",
        f"  {send_command(url, secret)}",
        "",
        "Ctrl-C stops it.",
    ])


@contextlib.contextmanager
def ready(server: LocalServer, secret: str, concurrency: int) -> Iterator[LocalServer]:
    """``server`` (already bound) with its emulated AWS and started handler containers; closed on exit.

    The handler is the one ``render`` ships (``handler_location()``): its
    source gives the limits the gateway layer applies, and its file is what the
    containers import.  ``HandlerUnavailable`` if it cannot be read.
    """
    try:
        path = handler_location()
        handler = HandlerArtifact.from_path(path)
        with local_aws(secret) as aws:
            server.attach(aws, start_containers(path, concurrency, aws), handler)
            yield server
    finally:
        server.server_close()


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """SIGTERM stops the server as Ctrl-C does (a clean exit 0), until the block ends.

    The handler is process-wide and ``main`` can run in-process (the tests do),
    so the previous one is put back afterwards.  Signals can only be handled on
    the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        yield
    finally:
        # None: the previous handler was not installed from Python and cannot be put back as such.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the handler behind http://127.0.0.1:PORT/webhook until interrupted."""
    try:
        import moto  # noqa: F401 (checked here for a clear message)
    except ImportError:
        print("`serve` needs moto: pip install 'webhook-templates[serve]' (make serve does)", file=sys.stderr)
        return EXIT_FAILED
    if args.concurrency < 1 or args.concurrency > 64:
        raise ConfigError(f"--concurrency {args.concurrency} is invalid; accepted: 1 to 64")
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is invalid; accepted: 1 to 65535 (0 picks a free port)")
    # A malformed --secret fails now (exit 2), not on every request.
    secret = signing.parse_secret_flag(args.secret) if args.secret else signing.generate_secret()
    address = (loopback_host(args.host), args.port)
    try:
        server = LocalServer(address, args.quiet)
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with sigterm_exits(), ready(server, secret, args.concurrency):
            print(banner(server, args.concurrency), flush=True)
            server.serve_forever()
    except HandlerUnavailable as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the CLI."""
    parser = commands.add_parser(
        "serve", help="run the handler locally behind http://127.0.0.1:PORT/webhook (moto, no AWS)",
        description=(cmd_serve.__doc__ or "") + " Not a production server: AWS is emulated in memory.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--secret", metavar="whsec_...",
                        help="signing secret to accept (default: a new one each start)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"concurrent handler executions (default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.set_defaults(func=cmd_serve)
