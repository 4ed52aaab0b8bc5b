"""The CLI's render and lint commands, and its usage errors."""

from __future__ import annotations

import argparse
import json
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


def test_render_writes_one_parameter_file_per_table_of_the_environments_file(tmp_path: Path) -> None:
    environments = tmp_path / "environments.toml"
    environments.write_text("[qa]\nmemory_mb = 1024\n[dev]\n")
    out = tmp_path / "build"

    assert main(["render", "--out", str(out), "--environments", str(environments)]) == 0

    assert sorted(p.name for p in (out / "parameters").iterdir()) == ["dev.json", "qa.json"]
    qa = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads((out / "parameters" / "qa.json").read_text())}
    assert qa["Environment"] == "qa" and qa["LambdaMemorySize"] == "1024"
    assert "`qa`" in (out / "HANDOFF.md").read_text()


def test_render_tag_is_gone_and_says_where_tags_went(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--out", str(tmp_path), "--tag", "Owner=payments"])
    assert exit_info.value.code == 2
    assert "deploy --tags KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "template.json").exists()


def test_render_refuses_a_file_with_the_retired_account_role_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environments = tmp_path / "environments.toml"
    environments.write_text("[qa]\ncreate_api_gateway_account_role = true\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--out", str(tmp_path / "build"), "--environments", str(environments)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{environments} [qa]: create_api_gateway_account_role is no longer a key;" in err
    assert "account-setup.json once per account and region" in err and "Traceback" not in err


def test_render_names_a_bad_environments_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environments = tmp_path / "environments.toml"
    environments.write_text("[qa]\nmemory_mb = 64\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--out", str(tmp_path / "build"), "--environments", str(environments)])
    assert exit_info.value.code == 2
    expected = f"{environments} [qa]: memory_mb=64 is invalid; accepted: an integer from 128 to 10240"
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize(("argv", "message"), [
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
    assert set(subcommands.choices) == {
        "render", "lint", "verify", "deploy", "diff", "outputs", "destroy", "status", "serve", "send"}
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
