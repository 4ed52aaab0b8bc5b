"""Names the deploy tests share (a module of its own: ``from conftest import`` is ambiguous
when several test folders each have a conftest)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from support.stacks import without_resource
from webhook_templates.stack import naming

#: moto warns once per resource type it skips; moto_patches documents each gap.
MOTO_SKIPS_TYPES = "ignore:Tried to parse .* not supported by moto:UserWarning"


@dataclass
class Result:
    """What one CLI run produced."""

    code: int
    out: str
    err: str


class Terminal(io.StringIO):
    """Standard input that is a terminal, with what the test typed on it."""

    def isatty(self) -> bool:
        return True


def template_without_table(build_dir: Path, tmp_path: Path) -> str:
    """The template with the transactions table deleted (its references pointed elsewhere)."""
    template = json.loads((build_dir / "template.json").read_text())
    path = tmp_path / "no-table.json"
    path.write_text(json.dumps(without_resource(template, naming.TABLE_ID)))
    return str(path)


def parameters_with(build_dir: Path, tmp_path: Path, **values: str) -> str:
    """A copy of the staging parameter file with ``values`` changed."""
    parameters = json.loads((build_dir / "parameters" / "staging.json").read_text())
    for parameter in parameters:
        parameter["ParameterValue"] = values.get(parameter["ParameterKey"], parameter["ParameterValue"])
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(parameters))
    return str(path)
