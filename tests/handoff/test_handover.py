"""The README's hand-over, end to end: render, `tar czf`, unpack elsewhere, verify; one changed byte fails.

Run as a receiver would, through the installed command and the standard tools, not through
the manifest module: `webhook-templates verify` and `sha256sum -c` over the manifest's list.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "webhook_templates"]

pytestmark = pytest.mark.slow  # child processes: a render and three verifications


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle rendered by the CLI, handed over as the README says, unpacked on the other side."""
    work = tmp_path_factory.mktemp("handover")
    rendered = _run(*CLI, "render", "--out", str(work / "build"),
                    "--environments", str(ROOT / "environments.toml"), cwd=ROOT)
    assert rendered.returncode == 0, rendered.stderr
    archive = work / "webhook-bundle.tgz"
    packed = _run("tar", "czf", str(archive), "-C", str(work / "build"), ".", cwd=work)
    assert packed.returncode == 0, packed.stderr
    receiving = work / "received"
    receiving.mkdir()
    with tarfile.open(archive) as bundle:
        bundle.extractall(receiving, filter="data")
    return receiving


def test_the_received_bundle_verifies(received: Path) -> None:
    verified = _run(*CLI, "verify", str(received), cwd=received)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum on this machine")
def test_the_received_bundle_verifies_with_sha256sum_alone(received: Path) -> None:
    listing = "".join(f"{entry['sha256']}  {entry['path']}\n"
                      for entry in json.loads((received / "manifest.json").read_text())["files"])
    checked = subprocess.run(["sha256sum", "-c", "-"], cwd=received, input=listing, capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_one_changed_byte_fails_the_verification(received: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(received, tmp_path / "copy"))
    template = copy / "template.json"
    body = bytearray(template.read_bytes())
    body[len(body) // 2] ^= 0x01
    template.write_bytes(bytes(body))
    verified = _run(*CLI, "verify", str(copy), cwd=copy)
    assert verified.returncode == 1
    assert "template.json" in verified.stdout + verified.stderr
