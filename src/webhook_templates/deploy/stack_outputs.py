"""Stack outputs: printed after a deploy and kept in ``cfn-outputs/flat-outputs.json``.

The file is a flat ``{OutputKey: OutputValue}`` object: the convention the old
integration tests (and many CI scripts) read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import messages
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
    """The outputs a previous deploy wrote; empty if there is no file or it is not a JSON object.

    Callers use the file only as a shortcut and describe the stack without it,
    so a cut-off or hand-mangled file is skipped with a warning rather than
    stopping ``send --env`` or a ``destroy`` the user already confirmed.
    """
    if not path.exists():
        return {}
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return _ignored(path, error.strerror or messages.UNREADABLE)
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        return _ignored(path, messages.NOT_JSON)
    if not isinstance(outputs, dict):
        return _ignored(path, messages.NOT_AN_OBJECT)
    return outputs


def _ignored(path: Path, why: str) -> dict[str, str]:
    """Warn that ``path`` is unusable (one line on stderr) and stand in for it with no outputs."""
    print(messages.outputs_file_ignored(path, why), file=sys.stderr, flush=True)
    return {}


def show(outputs: dict[str, str], console: Console) -> None:
    """Print ``outputs`` as aligned ``key  value`` lines."""
    if not outputs:
        console.say(messages.NO_OUTPUTS)
        return
    width = max(len(key) for key in outputs)
    for key, value in outputs.items():
        console.say(f"  {console.style(key.ljust(width), 'bold')}  {value}")


def record(stack: dict[str, Any], path: Path, console: Console) -> dict[str, str]:
    """Print a stack's outputs and write them to ``path``."""
    outputs = flatten(stack)
    console.say(messages.OUTPUTS)
    show(outputs, console)
    write(outputs, path)
    console.say(messages.wrote(path))
    return outputs
