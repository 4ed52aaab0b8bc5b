"""The build folder ``make template`` writes: what a platform team is handed.

``build_files`` is the single list of everything in it, so rendering, the
drift check and the tests agree on what the bundle is: the template (JSON and
YAML), the account setup template (``account-setup.json``), one parameter file and one
dashboard per environment, the stack policy and the data guard's standalone script, each
pipeline's format per environment (``pipelines/``), ``HANDOFF.md``, the architecture SVGs
(request path, full graph) when Graphviz is installed, and last ``manifest.json`` over all the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import dashboard
from ..config import EnvironmentConfig
from ..stack import naming
from ..stack.account_setup import build_account_template
from ..stack.capabilities import required_capabilities
from ..stack.handler_artifact import HandlerArtifact, shipped_handler_path
from ..stack.template import build_template
from . import (
    deploy_role,
    diagram,
    document,
    guard_script,
    manifest,
    permissions_boundary,
    pipelines,
    procedure,
    sender_contract,
)
from .render import RenderedFile, render_files, template_dict, to_json, write_files

SVG_NAME = "template.svg"
#: The request path and its supports, drawn first in HANDOFF.md.
PATH_SVG_NAME = "request-path.svg"
#: Names another handler file to ship instead of the one this installation ships.
HANDLER_PATH_VARIABLE = "WEBHOOK_HANDLER_PATH"


def handler_location() -> Path:
    """Where the handler to ship lives: ``WEBHOOK_HANDLER_PATH``, else ``shipped_handler_path()``.

    The one place the environment chooses the handler; everything below it is
    handed the resulting ``HandlerArtifact``.
    """
    override = os.environ.get(HANDLER_PATH_VARIABLE)
    return Path(override) if override else shipped_handler_path()


def load_handler() -> HandlerArtifact:
    """The handler at ``handler_location()``, read once; ``HandlerUnavailable`` names what is wrong."""
    return HandlerArtifact.from_path(handler_location())


def build_files(
    environments: Mapping[str, EnvironmentConfig],
    handler: HandlerArtifact | None = None, *, commit: str | None = None,
) -> list[RenderedFile]:
    """Every file of the bundle for ``environments`` (``environments.toml``), rendered in memory.

    ``handler`` defaults to ``load_handler()``, ``commit`` to this checkout's
    git commit (``manifest.git_commit``).  The two child processes a render
    needs, git's and Graphviz's, run while the template is rendered, not after.
    """
    handler = handler or load_handler()
    template = build_template(handler)
    body = template_dict(template)
    resources = body["Resources"]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="render") as pool:
        head = pool.submit(manifest.git_commit) if commit is None else None
        svg_jobs = []
        if diagram.dot_available():
            svg_jobs = [
                (PATH_SVG_NAME, pool.submit(diagram.to_svg, diagram.overview_to_dot(diagram.request_path(resources)))),
                (SVG_NAME, pool.submit(diagram.to_svg, diagram.to_dot(diagram.resource_graph(resources)))),
            ]
        files = render_files(template, environments)
        # Once per account and region, not per environment: deployed by an administrator, on its own.
        files.append(RenderedFile(naming.ACCOUNT_SETUP_TEMPLATE, to_json(build_account_template())))
        files += [RenderedFile(dashboard.path(name), dashboard.to_json(dashboard.body(name))) for name in environments]
        # The guard's two forms for a pipeline without this repository, and the deploy role.
        files += [RenderedFile(guard_script.POLICY_NAME, guard_script.stack_policy_json()),
                  RenderedFile(guard_script.SCRIPT_NAME, guard_script.guard_script()),
                  RenderedFile(deploy_role.NAME, deploy_role.to_json(deploy_role.deploy_role_policy(
                      {"Resources": resources}, environments))),
                  RenderedFile(permissions_boundary.NAME, deploy_role.to_json(permissions_boundary.boundary_policy(
                      body, deploy_role.SCOPES, environments.values())))]
        deployed = next(f for f in files if f.path == procedure.DEPLOY_TEMPLATE)
        template_bytes = len(deployed.content.encode())
        # The same parameters and tags in each pipeline's format (README: Handoff bundle).
        files += pipelines.pipeline_files(environments, required_capabilities(body), template_bytes)
        names = [f.path for f in files] + [document.NAME] + [name for name, _ in svg_jobs] + [manifest.NAME]
        files.append(RenderedFile(document.NAME, document.handoff_markdown(
            template, names, template_bytes=template_bytes, limits=handler.limits,
            errors=sender_contract.handler_errors(handler.source),
            svg_name=SVG_NAME if svg_jobs else None, path_svg_name=PATH_SVG_NAME if svg_jobs else None,
            environments=environments,
        )))
        files += [RenderedFile(name, job.result()) for name, job in svg_jobs]
        inventory = manifest.manifest(files, head.result() if head else str(commit))
    return files + [RenderedFile(manifest.NAME, manifest.to_json(inventory))]


def _previously_listed(out_dir: Path) -> set[str]:
    """Paths the manifest already in ``out_dir`` lists (none if there is no readable one)."""
    try:
        data = json.loads((out_dir / manifest.NAME).read_text(encoding="utf-8"))
        return {entry["path"] for entry in data["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _stale(files: list[RenderedFile], out_dir: Path) -> list[str]:
    """Files an earlier render wrote that this bundle no longer has (say, ``template.svg``
    once Graphviz is gone): the old manifest is the inventory, so nothing else is touched."""
    current = {f.path for f in files}
    return sorted(path for path in _previously_listed(out_dir) - current if (out_dir / path).is_file())


def write_bundle(files: list[RenderedFile], out_dir: Path) -> list[Path]:
    """Write the bundle into ``out_dir`` and remove files an earlier bundle had and this one has not."""
    for path in _stale(files, out_dir):
        (out_dir / path).unlink()
    return write_files(files, out_dir)


def _same(file: RenderedFile, on_disk: str) -> bool:
    """Whether ``on_disk`` is ``file``'s content; a manifest's git commit does not count.

    Every commit moves the manifest's commit without changing anything it
    describes, so comparing it would make every build folder stale.
    """
    if file.path == manifest.NAME:
        try:
            return manifest.comparable(on_disk) == manifest.comparable(file.content)
        except ValueError:
            return False
    return on_disk == file.content


def check_drift(files: list[RenderedFile], out_dir: Path) -> list[str]:
    """Paths (relative to ``out_dir``) that differ from ``files``, or that only an earlier bundle had."""
    drifted = _stale(files, out_dir)
    for file in files:
        path = out_dir / file.path
        if not path.exists() or not _same(file, path.read_text(encoding="utf-8")):
            drifted.append(file.path)
    return drifted
