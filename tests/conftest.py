"""Shared test set-up: no test may reach real AWS, whatever the environment says.

The one exception is opt-in: ``make integration`` sets ``WEBHOOK_INTEGRATION_ENV``
and runs only the ``integration``-marked tests, which then use the caller's
own credentials to read a real deployed stack.
"""

from __future__ import annotations

import os

import pytest

from webhook_templates.stack.packaging import CHECKOUT_HANDLER_PATH, HandlerArtifact


@pytest.fixture(scope="session")
def handler_artifact() -> HandlerArtifact:
    """This checkout's ``handler/app.py``, resolved once, as the CLI does."""
    return HandlerArtifact.from_path(CHECKOUT_HANDLER_PATH)


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
