"""``make serve``: the real ``handler/app.py`` behind a local HTTP endpoint, AWS emulated by moto.

For trying senders and payloads without Docker or an AWS account; it is not a
production server.  Each request goes through what the deployed stack does:
API Gateway's layer (``gateway``: route, payload quota, the template's body
model and error bodies), then the handler, invoked with the same REST proxy
event API Gateway sends, against an in-memory DynamoDB table and Secrets
Manager secret shaped like the stack's.

Handler invocations run concurrently on a few independent imports of the
handler ("containers"), as Lambda runs concurrent executions.  moto is not
thread-safe, so each emulated AWS call is made atomic, as DynamoDB's are.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from ..config import ConfigError
from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..handoff.bundle import handler_location
from ..stack import naming, storage
from ..stack.packaging import HandlerArtifact, HandlerUnavailable
from . import gateway, signing

REGION = "us-east-1"
STAGE = "local"
TABLE_NAME = f"{naming.TABLE}-{STAGE}"
SECRET_NAME = f"{naming.SIGNING_SECRET}-{STAGE}"
DEFAULT_PORT = 3000
DEFAULT_CONCURRENCY = 4
#: Local-only debugging route (never part of the deployed API): counts of stored items.
STATS_PATH = "/_local/stats"
#: The function's configured timeout, reported by the emulated context.
TIMEOUT_MS = 10_000


# --- emulated AWS ------------------------------------------------------------------

@dataclass(frozen=True)
class LocalAws:
    """The emulated account: the table and signing secret the handler is configured with."""

    dynamodb: Any
    table_name: str
    secret_arn: str
    secret: str  # the sender-facing whsec_ form

    def counts(self) -> dict[str, int]:
        """Stored items by ``recordType`` (transactions and delivery markers), read from the table."""
        counts = {"transactions": 0, "deliveries": 0, "items": 0}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True,
                                  "ProjectionExpression": "recordType"}
        while True:
            page = self.dynamodb.scan(**kwargs)
            for item in page["Items"]:
                kind = item.get("recordType", {}).get("S")
                counts["items"] += 1
                if kind == "transaction":
                    counts["transactions"] += 1
                elif kind == "delivery":
                    counts["deliveries"] += 1
            if "LastEvaluatedKey" not in page:
                return counts
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@contextlib.contextmanager
def _atomic_aws_calls() -> Iterator[None]:
    """Serialise moto's handling of each AWS request.

    Real DynamoDB applies a ``TransactWriteItems`` atomically; moto's backend
    does not guard against threads, so two concurrent copies of one delivery
    could both pass its condition checks.  One lock around each emulated call
    restores per-request atomicity without serialising the handlers themselves.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def process_request(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    with mock.patch.object(BotocoreStubber, "process_request", process_request):
        yield


@contextlib.contextmanager
def local_aws(secret: str) -> Iterator[LocalAws]:
    """moto-emulated DynamoDB and Secrets Manager holding the stack's table and secret."""
    import boto3
    from moto import mock_aws

    with mock_aws(), _atomic_aws_calls():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName=TABLE_NAME, **storage.table_shape())
        # Stored as the stack stores it: {"current": "<base64>"}, no prefix.
        stored = json.dumps({"current": secret.removeprefix(signing.PREFIX)})
        arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_NAME, SecretString=stored)["ARN"]
        yield LocalAws(dynamodb, TABLE_NAME, arn, secret)


# --- emulated Lambda -----------------------------------------------------------------

@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object a handler commonly reads."""

    aws_request_id: str
    deadline_ms: int
    function_name: str = f"{naming.FUNCTION}-{STAGE}"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:{naming.FUNCTION}-{STAGE}"
    log_group_name: str = f"{naming.FUNCTION_LOG_GROUP}-{STAGE}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (not enforced) timeout."""
        return max(0, self.deadline_ms - int(time.time() * 1000))


class Containers:
    """A pool of independent handler imports; one invocation at a time each, like Lambda."""

    def __init__(self, modules: list[ModuleType]) -> None:
        self._idle: queue.Queue[ModuleType] = queue.Queue()
        for module in modules:
            self._idle.put(module)

    def invoke(self, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        """Run ``lambda_handler`` on an idle container (waiting for one if all are busy)."""
        module = self._idle.get()
        try:
            context = LambdaContext(request_id, int(time.time() * 1000) + TIMEOUT_MS)
            response: dict[str, Any] = module.lambda_handler(event, context)
            return response
        finally:
            self._idle.put(module)


def import_handler(path: Path, name: str) -> ModuleType:
    """A new, independent import of the handler at ``path``, with its own module state.

    The handler keeps its clients and secret per container in module globals,
    so the local server imports one copy per emulated Lambda container.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerUnavailable(f"cannot import the handler at {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_containers(path: Path, count: int) -> list[ModuleType]:
    """``count`` independent imports of the handler at ``path``."""
    return [import_handler(path, f"webhook_local_container_{n}") for n in range(count)]


def start_containers(path: Path, count: int, aws: LocalAws) -> Containers:
    """Import the handler at ``path`` ``count`` times and cold-start each copy.

    The environment is the function's (``TABLE_NAME``, ``SIGNING_SECRET_ARN``)
    and is read at cold start, which is forced here, one container at a time,
    with a ``GET`` the handler refuses after initialising: boto3 client
    creation is not thread-safe, and no first request should pay for it.
    """
    modules = import_containers(path, count)
    environment = {"TABLE_NAME": aws.table_name, "SIGNING_SECRET_ARN": aws.secret_arn,
                   "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    with mock.patch.dict(os.environ, environment):
        os.environ.pop("SIGNATURE_MODE", None)  # always verify signatures locally
        for module in modules:
            module.lambda_handler({"httpMethod": "GET"}, LambdaContext("cold-start", 0))
    return Containers(modules)


# --- HTTP ----------------------------------------------------------------------------

class LocalServer(ThreadingHTTPServer):
    """The local endpoint: loopback only, one thread per connection.

    Constructing it binds the port; the emulated AWS and the handler
    containers are attached afterwards (``attach``), so a taken port is
    reported before the slow handler imports and cold starts, not after.
    """

    daemon_threads = True
    #: Room for a burst of concurrent senders (the default backlog is 5).
    request_queue_size = 128
    #: Set by ``attach``, before ``serve_forever`` handles any request.
    containers: Containers
    aws: LocalAws
    handler: HandlerArtifact

    def __init__(self, address: tuple[str, int], quiet: bool = False) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, RequestHandler)
        self.quiet = quiet

    def attach(self, aws: LocalAws, containers: Containers, handler: HandlerArtifact) -> None:
        """Give the bound server the emulated account, the handler containers and the handler's limits."""
        self.aws = aws
        self.containers = containers
        self.handler = handler

    @property
    def url(self) -> str:
        """The webhook URL this server answers on."""
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{gateway.WEBHOOK_PATH}"


class RequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into what API Gateway and Lambda would make of it."""

    server: LocalServer
    server_version = "webhook-templates-local"

    def _send(self, response: gateway.HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _stats(self) -> gateway.HttpResponse:
        body = json.dumps(self.server.aws.counts()).encode()
        return gateway.HttpResponse(200, {"Content-Type": "application/json"}, body)

    def _respond(self, request_id: str) -> gateway.HttpResponse:
        if self.command == "GET" and self.path == STATS_PATH:
            return self._stats()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return gateway.HttpResponse(411, {"Content-Type": "application/json"},
                                        b'{"message":"the local server needs a Content-Length"}')
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return gateway.HttpResponse(400, {"Content-Type": "application/json"},
                                        b'{"message":"invalid Content-Length"}')
        rejected = gateway.precheck(self.command, self.path, length, request_id)
        if rejected is not None and length > gateway.PAYLOAD_QUOTA_BYTES:
            self.close_connection = True  # the body is left unread
            return rejected
        body = self.rfile.read(length)
        if rejected is not None:
            return rejected
        request = gateway.Request(self.command, self.path, list(self.headers.items()), body,
                                  self.client_address[0], request_id)
        rejected = gateway.check_body(request, self.server.handler.limits)
        if rejected is not None:
            return rejected
        event = gateway.to_proxy_event(request, STAGE, self.headers.get("Host") or "127.0.0.1")
        try:
            result = self.server.containers.invoke(event, request_id)
            return gateway.proxy_response(result, request_id)
        except Exception as error:  # what API Gateway answers when the integration fails
            print(f"handler failed: {type(error).__name__}: {error}", file=sys.stderr)
            return gateway.gateway_response("DEFAULT_5XX", "Internal server error", request_id)

    def _handle(self) -> None:
        started = time.perf_counter()
        request_id = gateway.new_request_id()
        response = self._respond(request_id)
        self._send(response)
        if not self.server.quiet:
            error = ""
            if response.status >= 400:
                with contextlib.suppress(ValueError, AttributeError):
                    error = " " + str(json.loads(response.body).get("error", ""))
            print(f"{self.command} {self.path} -> {response.status}{error} "
                  f"in {(time.perf_counter() - started) * 1000:.1f} ms", file=sys.stderr, flush=True)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """Silence the default per-request log; ``_handle`` prints a shorter one."""


# --- the command -----------------------------------------------------------------------

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
