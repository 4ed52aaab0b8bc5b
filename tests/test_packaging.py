"""The package works installed, outside any checkout: the wheel and the sdist ship the handler.

The slow test builds both the way a platform team would (setuptools' own
PEP 517 hooks, in a build venv of their own), installs each into a fresh
virtualenv and renders from a folder that is no checkout.  It stays offline:
setuptools and wheel come from the file:// package indexes pip is configured
with, and the installed package borrows its dependencies from this test's
own environment (a ``.pth`` line), as installing them would download them.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
from setuptools import find_packages

from support.environments import SHIPPED
from webhook_templates.handoff.bundle import build_files, check_drift
from webhook_templates.stack.handler_artifact import CHECKOUT_HANDLER_PATH

ROOT = Path(__file__).resolve().parents[1]
#: What is no source: left out of the copy the package is built from.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", ".setuptools-build", "*.egg-info", "__pycache__",
                                    ".*_cache", ".hypothesis", "cfn-outputs", "dist")
BUILD_REQUIREMENTS = ("setuptools>=68", "wheel")


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config


def test_every_subpackage_is_listed_and_the_handler_is_one_of_them() -> None:
    """setup.cfg lists its packages (find: cannot see handler/): a new subpackage left off would not ship."""
    options = _setup_cfg()["options"]
    listed = set(options["packages"].split())
    assert listed == set(find_packages(str(ROOT / "src"))) | {"webhook_templates.handler"}
    mapping = dict(line.replace(" ", "").split("=") for line in options["package_dir"].splitlines()
                   if "=" in line and not line.strip().startswith("#"))
    assert (ROOT / mapping["webhook_templates.handler"] / "app.py").resolve() == CHECKOUT_HANDLER_PATH


def _local_indexes() -> list[str]:
    """pip options naming only the file:// indexes and find-links folders pip is configured with here."""
    listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    indexes: list[str] = []
    folders: list[str] = []
    for line in listing.splitlines():
        key, _, value = line.partition("=")
        for url in value.strip("'\"").split():
            if key.endswith("index-url") and url.startswith("file:"):
                indexes.append(url)
            elif key.endswith("find-links") and "://" not in url:
                folders.append(url)
    if not indexes:
        return []
    first, *more = indexes
    return ["--index-url", first, *(f"--extra-index-url={url}" for url in more),
            *(f"--find-links={folder}" for folder in folders)]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _fresh_venv(path: Path) -> Path:
    """A virtualenv without pip (this environment's pip installs into it: ensurepip would cost more
    than the rest of the test); its python."""
    _run(sys.executable, "-m", "venv", "--without-pip", path, cwd=path.parent)
    return path / "bin" / "python"


def _borrow_dependencies(python: Path) -> None:
    """Make this environment's libraries importable by ``python``, after its package is installed.

    Written after the install on purpose: pip would otherwise see this
    environment's editable webhook-templates as installed and uninstall it.
    The line is appended to sys.path, so the fresh install comes first, and
    it is no site dir, so the editable install's own ``.pth`` stays inert.
    """
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=python.parent).strip()
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")


def _clean_env() -> dict[str, str]:
    """This process's environment without what points a child at a checkout (PYTHONPATH, the handler)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WEBHOOK_HANDLER_PATH")}


@pytest.mark.slow
def test_the_wheel_and_the_sdist_render_outside_a_checkout_what_the_checkout_renders(tmp_path: Path) -> None:
    indexes = _local_indexes()
    if not indexes:
        pytest.skip("pip has no file:// package index here to take setuptools>=68 from without the network")
    env = _clean_env()
    # Build requirements from the local index only, kept in a wheelhouse for the sdist's isolated build.
    wheelhouse = tmp_path / "wheelhouse"
    _run(sys.executable, "-m", "pip", "download", "--quiet", "--isolated", *indexes,
         "--dest", wheelhouse, *BUILD_REQUIREMENTS, cwd=tmp_path, env=env)
    build_python = _fresh_venv(tmp_path / "build-env")
    pip = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check"]
    _run(*pip, "--python", build_python, "install", "--quiet", "--no-index", "--find-links", wheelhouse,
         *BUILD_REQUIREMENTS, cwd=tmp_path, env=env)

    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    dist = tmp_path / "dist"
    hooks = "import sys; from setuptools import build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"
    sdist = dist / _run(build_python, "-c", hooks, "build_sdist", dist, cwd=source, env=env).split()[-1]
    wheel = dist / _run(build_python, "-c", hooks, "build_wheel", dist, cwd=source, env=env).split()[-1]
    with tarfile.open(sdist) as archive:
        assert any(name.endswith("/handler/app.py") for name in archive.getnames())

    environments = tmp_path / "elsewhere" / "environments.toml"
    environments.parent.mkdir()
    shutil.copy(ROOT / "environments.toml", environments)
    expected = build_files(SHIPPED)
    for artifact in (wheel, sdist):
        python = _fresh_venv(tmp_path / f"venv-{artifact.suffix.strip('.')}")
        # The sdist builds in pip's isolated environment, from the wheelhouse: no network either way.
        _run(*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", "--find-links", wheelhouse,
             artifact, cwd=tmp_path, env=env)
        _borrow_dependencies(python)
        where = _run(python, "-c", "import webhook_templates; print(webhook_templates.__file__)",
                     cwd=environments.parent, env=env)
        assert Path(where).is_relative_to(python.parents[1]), where
        out = environments.parent / f"bundle-{artifact.suffix.strip('.')}"
        _run(python.parent / "webhook-templates", "render", "--environments", environments, "--out", out,
             cwd=environments.parent, env=env)
        assert check_drift(expected, out) == [], f"the {artifact.name} install renders other bytes"
