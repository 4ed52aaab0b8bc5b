"""Names the deploy tests share (a module of its own: ``from conftest import`` is ambiguous
when several test folders each have a conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webhook_templates.stack import naming

#: moto warns once per resource type it skips; moto_patches documents each gap.
MOTO_SKIPS_TYPES = "ignore:Tried to parse .* not supported by moto:UserWarning"


@dataclass
class Result:
    """What one CLI run produced."""

    code: int
    out: str
    err: str


def template_without_table(build_dir: Path, tmp_path: Path) -> str:
    """The template with the transactions table deleted (its references pointed elsewhere)."""
    table_ref = {"Ref": naming.TABLE_ID}
    table_arn = {"Fn::GetAtt": [naming.TABLE_ID, "Arn"]}

    def swap(node: Any) -> Any:
        if node == table_ref:
            return "transactions-elsewhere"
        if node == table_arn:
            return "arn:aws:dynamodb:us-east-1:123456789012:table/transactions-elsewhere"
        if isinstance(node, dict):
            return {key: swap(value) for key, value in node.items()}
        if isinstance(node, list):
            return [swap(value) for value in node]
        return node

    template = json.loads((build_dir / "template.json").read_text())
    del template["Resources"][naming.TABLE_ID]
    path = tmp_path / "no-table.json"
    path.write_text(json.dumps(swap(template)))
    return str(path)


def parameters_with(build_dir: Path, tmp_path: Path, **values: str) -> str:
    """A copy of the staging parameter file with ``values`` changed."""
    parameters = json.loads((build_dir / "parameters" / "staging.json").read_text())
    for parameter in parameters:
        parameter["ParameterValue"] = values.get(parameter["ParameterKey"], parameter["ParameterValue"])
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(parameters))
    return str(path)
