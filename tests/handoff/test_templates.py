"""The template files HANDOFF.md and its shell blocks are rendered from ship with the package."""

from __future__ import annotations

import configparser
import fnmatch
from importlib import resources
from pathlib import Path

import jinja2.meta
import pytest

from webhook_templates.handoff import deploy_role, document, pipelines, procedure, releases, templating

_SETUP_CFG = Path(__file__).resolve().parents[2] / "setup.cfg"
#: What Python renders by name; the rest is reached through their includes.
RENDERED = (document.TEMPLATE, procedure.BLOCK_TEMPLATE, releases.TEMPLATE, deploy_role.CREATE_TEMPLATE,
            *(fmt.template for fmt in pipelines.FORMATS), pipelines.LIMITATIONS_TEMPLATE)


def _templates_dir() -> resources.abc.Traversable:
    return resources.files("webhook_templates.handoff") / "templates"


def _reachable() -> set[str]:
    """Every template the rendered ones are or include, transitively."""
    environment = templating.environment()
    seen: set[str] = set()
    pending = list(RENDERED)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        source = (_templates_dir() / name).read_text(encoding="utf-8")
        referenced = jinja2.meta.find_referenced_templates(environment.parse(source))
        pending += [ref for ref in referenced if ref is not None]
    return seen


def test_every_template_python_renders_is_a_package_resource() -> None:
    for name in _reachable():
        assert (_templates_dir() / name).is_file(), f"{name} is not in handoff/templates/"


def test_every_template_file_is_used_and_shipped_as_package_data() -> None:
    shipped = {entry.name for entry in _templates_dir().iterdir()}
    assert shipped == _reachable(), "a template nothing renders, or one rendered but missing"
    # Package data is `handoff/templates/*` (setup.cfg): a file in a subfolder would not ship.
    parser = configparser.ConfigParser()
    parser.read(_SETUP_CFG, encoding="utf-8")
    globs = parser["options.package_data"]["webhook_templates"].split()
    for name in shipped:
        assert (_templates_dir() / name).is_file(), f"{name}: templates/ must stay flat"
        assert any(fnmatch.fnmatch(f"handoff/templates/{name}", glob) for glob in globs), name


def test_an_undefined_fact_fails_the_render_instead_of_printing_nothing() -> None:
    with pytest.raises(jinja2.UndefinedError, match="stack"):
        templating.render(procedure.BLOCK_TEMPLATE)
