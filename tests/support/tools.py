"""The command-line tools some tests run, each in a virtualenv of its own that ``make test`` creates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .environments import REPO_ROOT

#: The environment variable that names each tool, and where ``make test`` installs it.
TOOLS = {"CHECKOV": REPO_ROOT / ".venv-checkov" / "bin" / "checkov",
         "AWS_CLI": REPO_ROOT / ".venv-awscli" / "bin" / "aws"}


def required_tool(variable: str) -> Path:
    """The tool ``variable`` names; a test without one is skipped with a line saying how to get it.

    tests/conftest.py sets each unset variable to ``make test``'s virtualenv when it exists, so
    the skip happens only when neither provides the tool; a variable that names a missing file
    fails the test instead (``make test`` sets both)."""
    configured = os.environ.get(variable)
    if configured:
        if not Path(configured).is_file():
            pytest.fail(f"{variable}={configured} is not a file: unset it or point it at the tool")
        return Path(configured)
    pytest.skip(f"{variable} is not set and {TOOLS[variable].relative_to(REPO_ROOT)} is missing: "
                f"run `make test` once (it installs it) or set {variable}")
