"""Shared test set-up: no test may reach real AWS, whatever the environment says.

The one exception is opt-in: ``make integration`` sets ``WEBHOOK_INTEGRATION_ENV``
and runs only the ``integration``-marked tests, which then use the caller's
own credentials to read a real deployed stack.

Plain ``pytest`` finds the tools ``make test`` installs (``TOOLS``) in their virtualenvs; a test
that needs one that is absent is skipped with a line saying how to get it
(``support.tools.required_tool``).
Every test that uses moto's HTTP server is marked ``slow`` (``SLOW_FIXTURES``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from troposphere import Template

from support import aws_zygote
from support.environments import SHIPPED
from support.tools import TOOLS
from webhook_templates.stack.handler_artifact import CHECKOUT_HANDLER_PATH, HandlerArtifact

# The template and the bundle are imported by the fixtures that build them, not here: the handler
# suite also runs on the other Python runtimes (make test-runtimes), in small virtualenvs that have
# only what the handler's tests need (tests/handler/requirements-runtimes.txt), not jinja2 or cfn-flip.

#: Fixtures whose every test is slow: they start or drive moto's HTTP server.
SLOW_FIXTURES = frozenset({"moto_endpoint"})


def pytest_configure(config: pytest.Config) -> None:
    """Point each unset tool variable at the virtualenv ``make test`` made, when it is there."""
    for variable, path in TOOLS.items():
        if not os.environ.get(variable) and path.is_file():
            os.environ[variable] = str(path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """End the AWS CLI zygotes this test process started (support.aws_zygote starts one on first use)."""
    aws_zygote.stop()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``slow`` on every test that uses moto's server, so ``make test-quick`` leaves it out."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def handler_artifact() -> HandlerArtifact:
    """This checkout's ``handler/app.py``, resolved once, as the CLI does."""
    return HandlerArtifact.from_path(CHECKOUT_HANDLER_PATH)


@pytest.fixture(scope="session")
def template(handler_artifact: HandlerArtifact) -> Template:
    """The template built from this checkout's handler, once per test process."""
    from webhook_templates.stack.template import build_template
    return build_template(handler_artifact)


@pytest.fixture(scope="session")
def body(template: Template) -> dict[str, Any]:
    """The whole template as plain data (intrinsics as dicts), sections in CloudFormation's order."""
    from webhook_templates.handoff.render import template_dict
    return template_dict(template)


@pytest.fixture(scope="session")
def resources(body: dict[str, Any]) -> dict[str, Any]:
    """The template's resources as plain data."""
    return dict(body["Resources"])


@pytest.fixture(autouse=True)
def fake_aws_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a fixed region; no profile, role, config file or instance metadata can
    point a test that forgets to mock AWS at an account."""
    if os.environ.get("WEBHOOK_INTEGRATION_ENV") and request.node.get_closest_marker("integration"):
        return
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "SIGNATURE_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on a free 127.0.0.1 port, for the whole session (one per xdist worker)."""
    from support import moto_server  # imported here: only the tests that use the server pay for it

    with moto_server.running() as endpoint:
        yield endpoint


@pytest.fixture
def moto_account(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """An empty account on moto's server, which ``AWS_ENDPOINT_URL`` points at; returns a client factory.

    Its session is made before any fault is installed (``support/faults.py``): the checks read
    the account as it is, never through injected faults."""
    import boto3

    from support import faults, moto_server

    moto_server.reset(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    own = boto3.Session(botocore_session=faults.shared_core())
    return lambda service: own.client(service)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make template``'s output for the shipped environments, rendered once (tests only read it)."""
    out = tmp_path_factory.mktemp("build")
    from webhook_templates.handoff.bundle import build_files, write_bundle

    write_bundle(build_files(SHIPPED), out)
    return out
