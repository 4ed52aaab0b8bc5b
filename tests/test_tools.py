"""tests/support/tools.py: plain ``pytest`` finds make test's tools, or says in one line how to get one."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import tools


def test_an_absent_tool_skips_with_one_line_naming_make_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_CLI", raising=False)
    monkeypatch.setitem(tools.TOOLS, "AWS_CLI", tools.REPO_ROOT / "no-such-venv" / "bin" / "aws")
    with pytest.raises(pytest.skip.Exception) as skipped:
        tools.required_tool("AWS_CLI")
    message = str(skipped.value)
    assert "\n" not in message and "`make test`" in message and "AWS_CLI" in message
    assert "no-such-venv/bin/aws is missing" in message


def test_a_variable_naming_a_missing_file_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("CHECKOV", str(tmp_path / "checkov"))
    with pytest.raises(pytest.fail.Exception, match="CHECKOV=.* is not a file"):
        tools.required_tool("CHECKOV")

