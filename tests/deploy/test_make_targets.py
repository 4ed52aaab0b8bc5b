"""The stack targets through make: make's own exit code is 2, the CLI's is kept in EXIT_CODE_FILE."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support import moto_server
from support.environments import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

#: make in the repository, never (re)installing .venv: a setup.cfg newer than .venv/.installed
#: would otherwise make the test reinstall the package into the shared virtualenv first.
MAKE = ["make", "--no-print-directory", "-C", str(REPO_ROOT), "-o", ".venv/.installed"]


def test_make_keeps_the_clis_exit_code_in_exit_code_file(moto_endpoint: str, tmp_path: Path) -> None:
    moto_server.reset(moto_endpoint)
    code_file = tmp_path / "exit-code"
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}

    # No such stack: the CLI exits 1; ARGS reaches it (the outputs file goes to tmp_path).
    result = subprocess.run(
        [*MAKE, "outputs", "ENV=staging",
         f"EXIT_CODE_FILE={code_file}", f"ARGS=--outputs-file {tmp_path / 'flat.json'}"],
        capture_output=True, text=True, env=env, timeout=120,
    )

    assert result.returncode == 2, result.stdout + result.stderr  # make's own code for any failed recipe
    assert "webhook-staging does not exist" in result.stderr
    assert "Error 1" in result.stderr  # make names the recipe's code
    assert code_file.read_text().strip() == "1"


def test_make_passes_a_usage_error_through_as_2(tmp_path: Path) -> None:
    code_file = tmp_path / "exit-code"
    result = subprocess.run(
        [*MAKE, "outputs", "ENV=Not_A_Name",
         f"EXIT_CODE_FILE={code_file}"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and code_file.read_text().strip() == "2"
    assert "--env 'Not_A_Name' is invalid" in result.stderr
