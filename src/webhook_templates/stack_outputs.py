"""Stack outputs: printed after a deploy and kept in ``cfn-outputs/flat-outputs.json``.

The file is a flat ``{OutputKey: OutputValue}`` object: the convention the old
integration tests (and many CI scripts) read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .console import Console

DEFAULT_OUTPUTS_FILE = Path("cfn-outputs") / "flat-outputs.json"


def flatten(stack: dict[str, Any]) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` from a ``DescribeStacks`` stack, in template order."""
    return {output["OutputKey"]: output.get("OutputValue", "") for output in stack.get("Outputs") or []}


def write(outputs: dict[str, str], path: Path) -> Path:
    """Write ``outputs`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2) + "\n", encoding="utf-8")
    return path


def read(path: Path) -> dict[str, str]:
    """The outputs a previous deploy wrote (empty if there is no file)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def show(outputs: dict[str, str], console: Console) -> None:
    """Print ``outputs`` as aligned ``key  value`` lines."""
    if not outputs:
        console.say("(the stack has no outputs)")
        return
    width = max(len(key) for key in outputs)
    for key, value in outputs.items():
        console.say(f"  {console.style(key.ljust(width), 'bold')}  {value}")


def record(stack: dict[str, Any], path: Path, console: Console) -> dict[str, str]:
    """Print a stack's outputs and write them to ``path``."""
    outputs = flatten(stack)
    console.say("Outputs:")
    show(outputs, console)
    write(outputs, path)
    console.say(f"Wrote {path}")
    return outputs
