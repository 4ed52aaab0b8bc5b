"""manifest.json describes the bundle exactly; the drift check ignores only its commit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from support.environments import SHIPPED
from webhook_templates import __version__
from webhook_templates.handoff import manifest
from webhook_templates.handoff.bundle import build_files, check_drift, write_bundle
from webhook_templates.handoff.render import RenderedFile


def test_bundle_is_template_parameters_handoff_then_manifest(files: dict[str, RenderedFile]) -> None:
    names = list(files)
    assert names[:2] == ["template.json", "template.yaml"]
    assert {"parameters/dev.json", "parameters/staging.json", "parameters/prod.json", "HANDOFF.md"} <= set(names)
    assert names[-1] == "manifest.json"


def test_manifest_lists_every_other_file_with_version_and_commit(files: dict[str, RenderedFile], commit: str) -> None:
    data = json.loads(files["manifest.json"].content)
    assert data["package"] == "webhook-templates"
    assert data["version"] == __version__
    assert data["commit"] == commit
    assert [entry["path"] for entry in data["files"]] == list(files)[:-1]
    for entry in data["files"]:
        assert entry == manifest.file_entry(entry["path"], files[entry["path"]].content.encode())


def test_written_bundle_verifies_and_a_tampered_file_does_not(tmp_path: Path, files: dict[str, RenderedFile]) -> None:
    write_bundle(list(files.values()), tmp_path)
    assert manifest.verify(tmp_path) == []

    handoff = tmp_path / "HANDOFF.md"
    handoff.write_text(handoff.read_text() + "edited by hand\n")
    (tmp_path / "parameters" / "dev.json").unlink()
    problems = manifest.verify(tmp_path)
    assert len(problems) == 2
    assert problems[0].startswith("parameters/dev.json: missing")
    assert problems[1].startswith("HANDOFF.md: expected sha256")


def test_unreadable_manifest_is_a_problem(tmp_path: Path) -> None:
    assert manifest.verify(tmp_path)[0].startswith("manifest.json: unreadable")


def test_two_renders_of_one_commit_are_byte_identical(files: dict[str, RenderedFile], commit: str) -> None:
    again = build_files(SHIPPED, commit=commit)
    assert [(f.path, f.content) for f in again] == [(f.path, f.content) for f in files.values()]


def test_drift_check_ignores_the_commit_but_not_content(tmp_path: Path, files: dict[str, RenderedFile]) -> None:
    write_bundle(list(files.values()), tmp_path)
    later = build_files(SHIPPED, commit="fedcba9876543210fedcba9876543210fedcba98")
    assert check_drift(later, tmp_path) == []

    data = json.loads((tmp_path / "manifest.json").read_text())
    data["files"][0]["bytes"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    (tmp_path / "template.yaml").write_text("edited\n")
    assert check_drift(later, tmp_path) == ["template.yaml", "manifest.json"]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_marks_a_dirty_tree_and_unknown_outside_a_checkout(tmp_path: Path) -> None:
    assert manifest.git_commit(tmp_path) == "unknown"
    _git(tmp_path, "init", "-q")
    (tmp_path / "file").write_text("one\n")
    _git(tmp_path, "add", "file")
    _git(tmp_path, "commit", "-q", "-m", "one")
    clean = manifest.git_commit(tmp_path)
    assert len(clean) == 40 and all(c in "0123456789abcdef" for c in clean)
    (tmp_path / "file").write_text("two\n")
    assert manifest.git_commit(tmp_path) == clean + "-dirty"


def test_a_file_only_an_earlier_bundle_had_is_drift_and_is_removed_on_write(tmp_path: Path) -> None:
    from webhook_templates.handoff import manifest
    from webhook_templates.handoff.bundle import build_files, check_drift, write_bundle
    from webhook_templates.handoff.render import RenderedFile

    files = build_files(SHIPPED, commit="abc")
    # An earlier render that also wrote a file this one does not (as template.svg is
    # dropped once Graphviz is gone), listed in that render's manifest:
    extra = RenderedFile("dropped.svg", "<svg/>")
    earlier = [*files[:-1], extra]
    earlier.append(RenderedFile(manifest.NAME, manifest.to_json(manifest.manifest(earlier, "abc"))))
    write_bundle(earlier, tmp_path)
    (tmp_path / "notes.txt").write_text("mine, not the bundle's")

    assert check_drift(files, tmp_path) == [extra.path, manifest.NAME]
    write_bundle(files, tmp_path)
    assert not (tmp_path / extra.path).exists()
    assert (tmp_path / "notes.txt").exists()  # listed by no manifest: left alone
    assert check_drift(files, tmp_path) == []
