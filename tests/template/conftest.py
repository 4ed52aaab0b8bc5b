from __future__ import annotations

from typing import Any

import pytest
from troposphere import Template

from webhook_templates.config import TemplateConfig
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack.packaging import HandlerArtifact
from webhook_templates.stack.template import build_template


@pytest.fixture(scope="session")
def template(handler_artifact: HandlerArtifact) -> Template:
    return build_template(TemplateConfig(), handler_artifact)


@pytest.fixture(scope="session")
def resources(template: Template) -> dict[str, Any]:
    """Resources as plain data (intrinsics as dicts), from the built Template object."""
    return template_dict(template)["Resources"]


@pytest.fixture(scope="session")
def body(template: Template) -> dict[str, Any]:
    """The whole template as plain data."""
    return template_dict(template)
