"""No function, method or class in ``src/`` or ``handler/`` of radon complexity rank D or worse.

The same verdict as ``radon cc -s -n D src handler`` printing nothing, through radon's
Python API over every ``.py`` file, so the suite fails where the rule is broken.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("src", "handler")
#: Ranks A to C pass: C is a complexity of at most 20.
WORST_ALLOWED = "C"


def too_complex(source: str, where: str) -> list[str]:
    """``where:line name - rank (complexity)`` for every block of ``source`` ranked worse than ``WORST_ALLOWED``."""
    return [f"{where}:{block.lineno} {block.fullname} - {cc_rank(block.complexity)} ({block.complexity})"
            for block in cc_visit(source) if cc_rank(block.complexity) > WORST_ALLOWED]


def python_files() -> list[Path]:
    """Every ``.py`` file under the checked folders."""
    return sorted(path for folder in CHECKED for path in (ROOT / folder).rglob("*.py"))


def test_the_check_sees_a_rank_d_function_and_passes_a_rank_c_one() -> None:
    """A function of 21 decisions is rank D, and 19 is C: the check below cannot pass by seeing nothing."""
    def function(decisions: int) -> str:
        return "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(decisions)) + \
            "    return -1\n"

    assert too_complex(function(21), "example.py") == ["example.py:1 f - D (22)"]
    assert too_complex(function(19), "example.py") == []


def test_the_checked_folders_hold_the_code() -> None:
    files = python_files()
    assert ROOT / "handler" / "app.py" in files
    assert ROOT / "src" / "webhook_templates" / "deploy" / "flow.py" in files


@pytest.mark.parametrize("folder", CHECKED)
def test_no_function_of_rank_d_or_worse(folder: str) -> None:
    found = [line for path in python_files() if path.is_relative_to(ROOT / folder)
             for line in too_complex(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == [], "radon rank D or worse (split these up):\n" + "\n".join(found)
