"""Rendering: the template as JSON and YAML, and the per-environment parameter files.

Output is deterministic (same input, same bytes) so the build can be diffed,
hashed and reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cfn_flip
from troposphere import Template

from ..config import ENVIRONMENTS, EnvironmentConfig
from ..stack.parameters import parameter_file

#: CloudFormation's conventional section order, which troposphere does not keep.
SECTION_ORDER = (
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
    "Mappings", "Conditions", "Transform", "Resources", "Outputs",
)
#: The largest ``TemplateBody`` CloudFormation accepts; larger needs ``TemplateURL``.
TEMPLATE_BODY_LIMIT = 51_200


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain data, sections in CloudFormation's usual order."""
    raw = template.to_dict()
    return {key: raw[key] for key in SECTION_ORDER if key in raw}


def to_json(template: Template) -> str:
    """Compact JSON, resources in the order they were added (dependency order).

    Compact because CloudFormation accepts at most 51,200 bytes of
    ``TemplateBody`` and the handler's code is inlined; ``template.yaml`` is the
    copy for people to read.
    """
    return json.dumps(template_dict(template), separators=(",", ":"), ensure_ascii=False) + "\n"


def to_yaml(template: Template) -> str:
    """YAML with short-form intrinsics (``!Ref``, ``!Sub``), rendered by cfn-flip as troposphere does."""
    return cfn_flip.to_yaml(to_json(template), clean_up=False, long_form=False)


def parameters_json(config: EnvironmentConfig) -> str:
    """One environment's parameter file, as ``aws cloudformation`` reads it."""
    return json.dumps(parameter_file(config), indent=2) + "\n"


@dataclass(frozen=True)
class RenderedFile:
    """A file of the build, relative to the build folder."""

    path: str
    content: str


def render_files(
    template: Template, environments: Mapping[str, EnvironmentConfig] = ENVIRONMENTS
) -> list[RenderedFile]:
    """Every file ``make template`` writes, in a fixed order."""
    files = [
        RenderedFile("template.json", to_json(template)),
        RenderedFile("template.yaml", to_yaml(template)),
    ]
    files += [
        RenderedFile(f"parameters/{name}.json", parameters_json(config))
        for name, config in sorted(environments.items())
    ]
    return files


def write_files(files: list[RenderedFile], out_dir: Path) -> list[Path]:
    """Write ``files`` under ``out_dir``, skipping unchanged ones so timestamps mean something."""
    written = []
    for file in files:
        path = out_dir / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != file.content:
            path.write_text(file.content, encoding="utf-8")
        written.append(path)
    return written
