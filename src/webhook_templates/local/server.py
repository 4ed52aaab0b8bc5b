"""The local HTTP endpoint: each request through API Gateway's layer (``gateway``), then a handler container."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..stack.handler_artifact import HandlerArtifact
from . import gateway
from .containers import Containers
from .emulated_aws import STAGE, LocalAws

#: Local-only debugging route (never part of the deployed API): counts of stored items.
STATS_PATH = "/_local/stats"


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
