"""moto's HTTP server on 127.0.0.1 for the deploy tests: started, reset and stopped by them.

The server runs in a thread of the test process, so ``moto_patches`` applies to
it; the code under test reaches it only through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

from . import moto_patches


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(port: int | None = None) -> Iterator[str]:
    """Run a patched moto server on 127.0.0.1 (``port``, else a free one); yields its endpoint URL.

    The deploy tests and ``make sandbox`` (``support.sandbox``) both start it here.
    """
    moto_patches.apply()
    # One line per request, and a warning per resource type moto skips, would
    # bury the output of the command under test.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port or free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    """Forget every resource: the next test starts from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)


#: The API Gateway CloudWatch role ``with_api_gateway_role`` gives the emulated account.
API_GATEWAY_LOGGING_ROLE = "arn:aws:iam::123456789012:role/apigateway-cloudwatch"


def with_api_gateway_role(endpoint: str) -> None:
    """Give the emulated account API Gateway's CloudWatch role, which a first deploy checks for
    (a real account has it once any stack or person has set it)."""
    boto3.client("apigateway", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing").update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": API_GATEWAY_LOGGING_ROLE}])
