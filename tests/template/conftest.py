from __future__ import annotations

from typing import Any

import pytest
from troposphere import Template

from webhook_templates.handoff.render import template_dict
from webhook_templates.stack.template import build_template


@pytest.fixture(scope="session")
def template() -> Template:
    return build_template()


@pytest.fixture(scope="session")
def resources(template: Template) -> dict[str, Any]:
    """Resources as plain data (intrinsics as dicts), from the built Template object."""
    return template_dict(template)["Resources"]
