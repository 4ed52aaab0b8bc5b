"""The bundle folder holds only what render writes, so `verify build` passes right after `make template`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from webhook_templates.config import DEFAULT_BUILD_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_checkout_tracks_nothing_inside_the_bundle_folder() -> None:
    """A tracked file there (a .gitkeep) is in every clone's build/ and makes verify report it as added."""
    tracked = subprocess.run(["git", "ls-files", "--", str(DEFAULT_BUILD_DIR)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == []
