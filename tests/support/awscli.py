"""HANDOFF.md's change-set blocks, run as a platform team runs them: ``sh``, AWS CLI v1, the bundle folder.

AWS CLI v1 comes from PyPI (``.venv-awscli``, which ``make test`` creates;
``AWS_CLI`` names another ``aws``).  It honours ``AWS_ENDPOINT_URL``, so a block
reaches the moto server running in a thread of the test process.  The ``aws`` a block
finds first on PATH is that CLI forked from a zygote (``support.aws_zygote``), which
imports it once per test process instead of once per command.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from . import aws_zygote

REPO = Path(__file__).resolve().parents[2]


def aws_cli() -> Path:
    """AWS CLI v1: ``AWS_CLI``, else the project's ``.venv-awscli``; a missing one fails the test."""
    configured = os.environ.get("AWS_CLI")
    # Absolute: make passes a path relative to the checkout, and the blocks run in other folders, where
    # a relative PATH entry would find whatever other `aws` the machine has.
    path = Path(configured).absolute() if configured else REPO / ".venv-awscli" / "bin" / "aws"
    if not path.is_file():
        pytest.fail(f"AWS CLI v1 not found at {path}: run `make test` (it installs .venv-awscli) or set AWS_CLI")
    return path


def blocks(handoff: str) -> dict[str, str]:
    """Each environment's shell block, by the heading above it."""
    return dict(re.findall(r"^### (\w+)\n\n```sh\n(.*?)^```$", handoff, flags=re.MULTILINE | re.DOTALL))


def run_block(folder: Path, environment: str, endpoint: str, *, home: Path | None = None,
              variables: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``environment``'s block from ``folder``'s HANDOFF.md in ``folder``, against ``endpoint``.

    ``variables``: the block's own settings (``CFN_ROLE_ARN``...); ``home``: where the CLI may
    write its cache (default: the folder).
    """
    block = blocks((folder / "HANDOFF.md").read_text(encoding="utf-8"))[environment]
    return run_script(folder, block, endpoint, home=home, variables=variables)


def cli_environment(home: Path, endpoint: str, variables: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment a block runs in: AWS CLI v1 first on PATH (through the zygote, with
    the CLI's own folder behind it), ``home``, fake credentials, ``endpoint``, then ``variables``."""
    cli = aws_cli()
    return {
        "PATH": os.pathsep.join([str(aws_zygote.path_for(cli)), str(cli.parent), os.environ["PATH"]]),
        "HOME": str(home), "LANG": "C.UTF-8",
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **(variables or {}),
    }


def run_script(folder: Path, script: str, endpoint: str, *, home: Path | None = None,
               variables: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``sh`` text ``script`` in ``folder`` with AWS CLI v1 against ``endpoint`` (as ``run_block``)."""
    return subprocess.run(["sh", "-c", script], cwd=folder, env=cli_environment(home or folder, endpoint, variables),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
