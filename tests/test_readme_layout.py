"""README's "Layout" names every module under ``src/webhook_templates/``, and only modules that exist.

The section's tree is read as a reader reads it: a name ending in ``/`` opens a folder for the
more indented lines below it, and an entry is a name at the start of a line or two or more spaces
after the text before it (two modules may share a line, each with its description), followed by
two or more spaces or the line's end. A ``.py`` in a description (``made from data_guard.py``) is
prose, not an entry.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "webhook_templates"
TREE_ROOT = "src/webhook_templates/"
ENTRY = re.compile(r"(?:^|(?<=\s\s))([A-Za-z_][\w.]*(?:\.py|/))(?=\s\s|$)")
#: Paths from the repository's root, anywhere in the section (``handler/app.py``).
ROOTED_PATH = re.compile(r"(?<![\w/.-])((?:src|tests|handler|benchmarks)/[\w/.-]*\.py)\b")


def layout_section(readme: str) -> str:
    """From the ``## Layout`` heading to the next ``## `` heading or the end."""
    _, found, rest = readme.partition("\n## Layout\n")
    if not found:
        raise AssertionError("README.md has no '## Layout' section")
    return rest.split("\n## ", 1)[0]


def named_modules(section: str) -> set[str]:
    """The ``.py`` entries of the section's ``src/webhook_templates/`` tree, relative to the package."""
    lines = section.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == TREE_ROOT), None)
    if start is None:
        raise AssertionError(f"the Layout section has no {TREE_ROOT} tree")
    folders: list[tuple[int, str]] = []  # (indent, name/) of the folders the current line is in
    named: set[str] = set()
    for line in lines[start + 1:]:
        indent = len(line) - len(line.lstrip())
        if line.strip() and indent == 0:
            break  # the tree ends where a line starts at the margin again
        entries = ENTRY.findall(line)
        if not entries or not line.lstrip().startswith(entries[0]):
            continue  # a description's continuation
        folders = [(depth, name) for depth, name in folders if depth < indent]
        where = "".join(name for _, name in folders)
        named.update(where + entry for entry in entries if entry.endswith(".py"))
        if entries[0].endswith("/"):
            folders.append((indent, entries[0]))
    return named


def package_modules() -> set[str]:
    """Every ``.py`` under ``src/webhook_templates/`` but ``__init__.py``, relative to the package."""
    return {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"}


@pytest.fixture(scope="module")
def section() -> str:
    return layout_section((ROOT / "README.md").read_text(encoding="utf-8"))


def test_every_module_is_named_in_the_layout(section: str) -> None:
    assert sorted(package_modules() - named_modules(section)) == []


def test_every_module_the_layout_names_exists(section: str) -> None:
    assert sorted(named_modules(section) - package_modules()) == []


def test_every_path_from_the_root_the_layout_names_exists(section: str) -> None:
    paths = ROOTED_PATH.findall(section)
    assert "handler/app.py" in paths
    assert [path for path in paths if not (ROOT / path).is_file()] == []


SAMPLE = """
```
src/webhook_templates/
  cli.py            the command
  stack/            the template's parts
    api.py            REST API, made from cli.py      logs.py    log groups
                      continued.py is prose here
    templates/        Jinja2
      change_set.sh.j2  a block
    minify.py         smaller
  data_guard.py     the guard
handler/app.py      the function
```
"""


def test_entries_are_read_by_folder_and_column_and_descriptions_are_not() -> None:
    assert named_modules(SAMPLE) == {"cli.py", "stack/api.py", "stack/logs.py", "stack/minify.py", "data_guard.py"}


def test_a_section_without_the_tree_is_an_error() -> None:
    with pytest.raises(AssertionError, match="no src/webhook_templates/ tree"):
        named_modules("cli.py  the command\n")
