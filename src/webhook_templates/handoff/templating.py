"""The one Jinja2 environment every generated document and shell block is rendered with.

Prose and shell live as template files in ``handoff/templates/`` (package
data), so a reader edits a document where it reads like one and shellcheck can
read the shell; Python only derives the facts they are fed.  Undefined names
fail the render instead of printing nothing, and nothing is HTML-escaped: the
outputs are Markdown, shell and JSON.
"""

from __future__ import annotations

import functools
import shlex
from typing import Any

import jinja2

from . import markdown

#: Formatting the templates apply to facts: Markdown for the documents, quoting for the shell.
FILTERS = {
    "code": markdown.code,
    "codes": markdown.codes,
    "cell": markdown.cell,
    "short": markdown.short_form,
    "table": markdown.table,
    "grouped": markdown.grouped,
    "quote": shlex.quote,
}


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment: templates from the package, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("webhook_templates.handoff", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render(name: str, **facts: Any) -> str:
    """The template ``name`` (a path under ``handoff/templates/``) rendered with ``facts``."""
    return environment().get_template(name).render(**facts)
