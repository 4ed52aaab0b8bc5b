"""The emulated Lambda: independent imports of the handler ("containers") and the context object.

Handler invocations run concurrently on a few independent imports of the
handler, as Lambda runs concurrent executions, each with its own module state
(clients and secret), one invocation at a time each.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from ..stack import naming
from ..stack.handler_artifact import HandlerUnavailable
from .emulated_aws import REGION, RETENTION_DAYS, STAGE, LocalAws

#: The function's configured timeout, reported by the emulated context.
TIMEOUT_MS = 10_000


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

    The environment is the function's (the tables, the retention, ``SIGNING_SECRET_ARN``)
    and is read at cold start, which is forced here, one container at a time,
    with a ``GET`` the handler refuses after initialising: boto3 client
    creation is not thread-safe, and no first request should pay for it.
    """
    modules = import_containers(path, count)
    environment = {"TABLE_NAME": aws.table_name, "DELIVERIES_TABLE_NAME": aws.deliveries_table_name,
                   "DELIVERY_RETENTION_DAYS": str(RETENTION_DAYS), "SIGNING_SECRET_ARN": aws.secret_arn,
                   "ENVIRONMENT": "local",
                   "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    with mock.patch.dict(os.environ, environment):
        os.environ.pop("SIGNATURE_MODE", None)  # always verify signatures locally
        for module in modules:
            module.lambda_handler({"httpMethod": "GET"}, LambdaContext("cold-start", 0))
    return Containers(modules)
