from __future__ import annotations

from typing import Any

import pytest
from troposphere import Template

from support.environments import SHIPPED
from webhook_templates.config import TemplateConfig
from webhook_templates.handoff.bundle import build_files
from webhook_templates.handoff.render import RenderedFile, template_dict
from webhook_templates.stack.packaging import HandlerArtifact
from webhook_templates.stack.template import build_template

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="session")
def template(handler_artifact: HandlerArtifact) -> Template:
    return build_template(TemplateConfig(), handler_artifact)


@pytest.fixture(scope="session")
def body(template: Template) -> dict[str, Any]:
    """The template as plain data."""
    return template_dict(template)


@pytest.fixture(scope="session")
def commit() -> str:
    """The fixed commit the bundle fixture is rendered with."""
    return COMMIT


@pytest.fixture(scope="session")
def files() -> dict[str, RenderedFile]:
    """The bundle, rendered once with a fixed commit (no git needed)."""
    return {f.path: f for f in build_files(SHIPPED, commit=COMMIT)}


@pytest.fixture(scope="session")
def handoff(files: dict[str, RenderedFile]) -> str:
    return files["HANDOFF.md"].content
