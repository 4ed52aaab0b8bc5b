"""``manifest.json``: what the bundle holds, so a receiver can check it arrived intact.

It lists every other file of the bundle with its sha256 and size, the
package version and the git commit it was generated from.  No timestamp: two
renders of the same commit are byte-identical.

The commit is the one thing that changes without the bundle's content
changing (every commit moves it), so the drift check (``render --check``)
compares manifests without it: see ``comparable``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import __version__
from .render import RenderedFile

NAME = "manifest.json"
PACKAGE = "webhook-templates"
UNKNOWN_COMMIT = "unknown"
#: The checkout this module lives in (when installed from one).
SOURCE_ROOT = Path(__file__).resolve().parents[3]


def git_commit(root: Path = SOURCE_ROOT) -> str:
    """``HEAD`` of the checkout at ``root``; ``<sha>-dirty`` with uncommitted changes.

    ``"unknown"`` when git is missing or ``root`` is not a checkout (an
    installed package), so rendering never depends on git.
    """
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        sha = git("rev-parse", "--verify", "HEAD")
        dirty = git("status", "--porcelain") != ""
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_COMMIT
    return f"{sha}-dirty" if dirty else sha


def file_entry(path: str, data: bytes) -> dict[str, Any]:
    """One manifest line: path, sha256 (hex) and size in bytes."""
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def manifest(files: Iterable[RenderedFile], commit: str, version: str = __version__) -> dict[str, Any]:
    """The manifest of ``files`` (in their order)."""
    return {
        "package": PACKAGE,
        "version": version,
        "commit": commit,
        "files": [file_entry(f.path, f.content.encode("utf-8")) for f in files],
    }


def to_json(data: dict[str, Any]) -> str:
    """The manifest's file text (stable key order, trailing newline)."""
    return json.dumps(data, indent=2) + "\n"


def comparable(text: str) -> dict[str, Any]:
    """A manifest's content without its ``commit``: what the drift check compares."""
    data: dict[str, Any] = json.loads(text)
    data.pop("commit", None)
    return data


def verify(out_dir: Path) -> list[str]:
    """Problems with the bundle in ``out_dir`` against its manifest; empty when it verifies.

    One line per file that differs, is missing, or is there without being listed.
    """
    try:
        data = json.loads((out_dir / NAME).read_text(encoding="utf-8"))
        entries = data["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"{NAME}: unreadable ({error})"]
    problems = []
    for entry in entries:
        path = out_dir / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
            continue
        actual = file_entry(entry["path"], path.read_bytes())
        if actual != entry:
            problems.append(
                f"{entry['path']}: expected sha256 {entry['sha256']} ({entry['bytes']} bytes), "
                f"found {actual['sha256']} ({actual['bytes']} bytes)"
            )
    listed = {entry["path"] for entry in entries} | {NAME}
    on_disk = sorted(path.relative_to(out_dir).as_posix() for path in out_dir.rglob("*") if path.is_file())
    problems += [f"{path}: added (not in {NAME})" for path in on_disk if path not in listed]
    return problems
