"""Handoff-test fixtures: the bundle rendered once, in memory, with a fixed commit."""

from __future__ import annotations

import pytest

from support.environments import SHIPPED
from webhook_templates.handoff.bundle import build_files
from webhook_templates.handoff.render import RenderedFile

COMMIT = "0123456789abcdef0123456789abcdef01234567"


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
