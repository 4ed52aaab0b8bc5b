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
from typing import Any

import pytest
from troposphere import Template

from support.tools import TOOLS
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack.handler_artifact import CHECKOUT_HANDLER_PATH, HandlerArtifact
from webhook_templates.stack.template import build_template

#: Fixtures whose every test is slow: they start or drive moto's HTTP server.
SLOW_FIXTURES = frozenset({"moto_endpoint"})


def pytest_configure(config: pytest.Config) -> None:
    """Point each unset tool variable at the virtualenv ``make test`` made, when it is there."""
    for variable, path in TOOLS.items():
        if not os.environ.get(variable) and path.is_file():
            os.environ[variable] = str(path)


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
    return build_template(handler_artifact)


@pytest.fixture(scope="session")
def body(template: Template) -> dict[str, Any]:
    """The whole template as plain data (intrinsics as dicts), sections in CloudFormation's order."""
    return template_dict(template)


@pytest.fixture(scope="session")
def resources(body: dict[str, Any]) -> dict[str, Any]:
    """The template's resources as plain data."""
    return dict(body["Resources"])


@pytest.fixture(autouse=True)
def _fake_aws_credentials(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a fixed region, so a test that forgets to mock AWS cannot touch an account."""
    if os.environ.get("WEBHOOK_INTEGRATION_ENV") and request.node.get_closest_marker("integration"):
        return
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
