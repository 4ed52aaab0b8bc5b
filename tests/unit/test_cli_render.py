"""The CLI's render and lint commands, and its usage errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from webhook_templates.cli import build_parser, main


def test_render_writes_the_bundle_and_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "template.json").exists() and (tmp_path / "parameters" / "prod.json").exists()
    assert "template.json" in capsys.readouterr().out
    assert main(["render", "--out", str(tmp_path), "--check"]) == 0

    (tmp_path / "template.yaml").write_text("edited by hand\n")
    assert main(["render", "--out", str(tmp_path), "--check"]) == 1
    assert "template.yaml" in capsys.readouterr().err


def test_render_tags_reach_the_template(tmp_path: Path) -> None:
    assert main(["render", "--out", str(tmp_path), "--tag", "Owner=payments"]) == 0
    assert '"Key":"Owner","Value":"payments"' in (tmp_path / "template.json").read_text()


@pytest.mark.parametrize(("argv", "message"), [
    (["render", "--tag", "no-equals-sign"], "expected KEY=VALUE"),
    (["render", "--tag", "Environment=x"], "accepted:"),
    (["render", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_exit_2_and_say_what_is_wrong(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, *(["--out", str(tmp_path)] if argv[0] == "render" and "--bogus" not in argv else [])])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "Exit codes" in capsys.readouterr().out
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subcommands.choices) == {"render", "lint", "deploy", "outputs", "destroy", "serve", "send"}
    for command, parser in subcommands.choices.items():
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: webhook-templates {command}"), command
        assert parser.description, f"{command} has no description"


def test_render_names_a_missing_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_HANDLER_PATH", str(tmp_path / "nowhere.py"))
    assert main(["render", "--out", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert f"cannot read the handler at {tmp_path / 'nowhere.py'}" in err and "Traceback" not in err
    assert not (tmp_path / "build").exists()
