"""Fault injection for the deploy tests: botocore ``before-send`` handlers on the session the CLI uses.

``Faults`` holds a plan of faults per CloudFormation operation; ``install``
makes every ``boto3.Session`` created while it is active (the CLI creates one
per command, through ``deploy.session.session``) register the plan's handler,
so the real CLI code path, client configuration included, meets the fault:

- ``lost``: the request goes to the server (which acts on it), then the answer
  is lost (``ConnectionClosedError``), as when a connection drops mid-response;
- ``throttle``: ``400 Throttling: Rate exceeded``, as CloudFormation answers;
- ``html500``: a ``500`` with an HTML body, as a proxy or load balancer answers;
- ``expired``: ``400 ExpiredToken``, as STS credentials run out;
- ``refused``: the connection is refused (``EndpointConnectionError``);
- ``interrupt``: Ctrl-C (``KeyboardInterrupt``) while the call is made.

Every call is counted per operation (``calls``), so a test can assert, say,
that ``ExecuteChangeSet`` was sent exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from botocore.httpsession import URLLib3Session
from botocore.loaders import Loader, create_loader

#: What a proxy in front of the endpoint answers: HTML, which is not even well-formed XML (``<hr>``).
HTML_PAGE = (b"<!DOCTYPE html>\r\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def _error_body(code: str, message: str) -> bytes:
    return (f'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>fault-injected</RequestId></ErrorResponse>").encode()


class _Body:
    """The ``raw`` an ``AWSResponse`` reads its content from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _response(request: Any, status: int, body: bytes, content_type: str = "text/xml") -> AWSResponse:
    return AWSResponse(request.url, status, {"Content-Type": content_type, "Content-Length": str(len(body))},
                       _Body(body))


def _lost(request: Any) -> None:
    _ = URLLib3Session().send(request).content  # the server receives and acts on it ...
    raise ConnectionClosedError(endpoint_url=request.url)  # ... and its answer never arrives


def _interrupt(request: Any) -> None:
    raise KeyboardInterrupt


def _refused(request: Any) -> None:
    raise EndpointConnectionError(endpoint_url=request.url)


KINDS: dict[str, Callable[[Any], Any]] = {
    "lost": _lost,
    "throttle": lambda request: _response(request, 400, _error_body("Throttling", "Rate exceeded")),
    "html500": lambda request: _response(request, 500, HTML_PAGE, "text/html"),
    "expired": lambda request: _response(request, 400, _error_body(
        "ExpiredToken", "The security token included in the request is expired")),
    "refused": _refused,
    "interrupt": _interrupt,
}


@dataclass
class Fault:
    """``kind`` on ``operation``: after ``skip`` calls go through, the next ``times`` calls fail."""

    operation: str
    kind: str
    times: int = 1
    skip: int = 0
    seen: int = 0

    def fires(self) -> bool:
        """Count a call; whether this one gets the fault."""
        self.seen += 1
        return self.skip < self.seen <= self.skip + self.times


@dataclass
class Faults:
    """A plan of faults and the count of calls (of ``FAULTY_SERVICES``) made under it."""

    plan: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    def add(self, operation: str, kind: str, *, times: int = 1, skip: int = 0) -> Faults:
        """Fail ``times`` calls of ``operation`` (an API name) with ``kind``, after ``skip``."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        self.plan.append(Fault(operation, kind, times, skip))
        return self

    def before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        """The ``before-send`` handler: None lets the request through; a response or an exception is the fault."""
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        for fault in self.plan:
            if fault.operation == operation and fault.fires():
                return KINDS[fault.kind](request)
        return None


#: One loader of botocore's model files for every session the tests create: a process runs
#: one command, but a test process runs hundreds, and reading the JSON models again for
#: each is most of an in-process command's time.  The models are only read, never changed.
_LOADER: Loader = create_loader()


def shared_core() -> botocore.session.Session:
    """A botocore session that reads the model files through the shared loader."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return core


#: The services whose calls a plan can fail: CloudFormation (deploy, outputs, destroy) and
#: CloudWatch (status, the dashboard).  Their operation names do not overlap.
FAULTY_SERVICES = ("cloudformation", "cloudwatch")


def share_models(monkeypatch: Any) -> None:
    """Make every ``boto3.Session`` created from now on (until the test ends) read the models through
    the shared loader; everything else about it (credentials, region, profile) is its own."""
    original = boto3.Session

    class SharedModelsSession(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            shared = "botocore_session" not in kwargs
            kwargs.setdefault("botocore_session", shared_core())
            super().__init__(*args, **kwargs)
            # boto3 adds its own folder of models on every session: once is enough.
            _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
            if shared:
                # A session making its own loader reads data_path from its profile here: a profile
                # that does not exist fails boto3.Session() itself, and a data path gets its loader.
                data_path = self._session.get_config_variable("data_path")
                if data_path is not None:
                    self._session.register_component("data_loader", create_loader(data_path))
                    self._setup_loader()

    monkeypatch.setattr(boto3, "Session", SharedModelsSession)


def install(faults: Faults, monkeypatch: Any) -> None:
    """Make every ``boto3.Session`` created from now on (until the test ends) send through ``faults``."""
    share_models(monkeypatch)
    shared = boto3.Session

    class FaultySession(shared):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for service in FAULTY_SERVICES:
                self.events.register(f"before-send.{service}", faults.before_send)

    monkeypatch.setattr(boto3, "Session", FaultySession)
