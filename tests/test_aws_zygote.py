"""The AWS CLI zygote (``support.aws_zygote``) answers every command as the CLI run directly would.

Each check runs ``aws`` the way a block does (``sh`` finds it first on PATH) and, where it
compares, once through the zygote and once as the CLI itself: exit codes, the three standard
streams, the working directory, the environment (also what the CLI reads from it when it is
imported), signals; and that the zygote is really the one that answers. A direct run costs
half a second of CPU, so the other checks expect what the CLI itself does without running it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import types
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support import aws_zygote, awscli, moto_server

pytestmark = pytest.mark.slow  # AWS CLI processes

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A caller's environment: its own HOME, no config, fake credentials, one attempt per request."""
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def on_path(env: dict[str, str], folder: Path) -> dict[str, str]:
    return {**env, "PATH": f"{folder}{os.pathsep}{env['PATH']}"}


def zygote_path() -> Path:
    found = aws_zygote.path_for(awscli.aws_cli())
    assert found != awscli.aws_cli().parent, "AWS CLI v1 runs without its zygote"
    return found


@pytest.fixture
def run(env: dict[str, str], tmp_path: Path) -> Run:
    """``aws ARGS`` from ``sh`` through the zygote; bytes out, as the caller gets them.

    The tests that use it expect what the CLI run directly does (checked so when they were
    written); the ones that compare with a direct run each time are
    test_output_and_exit_code_are_the_direct_clis and the signal test."""
    folder = zygote_path()

    def invoke(*args: str, stdin: bytes = b"", cwd: Path = tmp_path,
               **variables: str | None) -> subprocess.CompletedProcess[bytes]:
        """``variables`` set (or, with None, unset) variables of ``env``."""
        changed = {name: value for name, value in {**env, **variables}.items() if value is not None}
        return subprocess.run(["sh", "-c", 'aws "$@"', "aws", *args], input=stdin, capture_output=True, cwd=cwd,
                              env=on_path(changed, folder), timeout=120)

    return invoke


def both(env: dict[str, str], tmp_path: Path, *args: str, **variables: str) -> list[tuple[int, bytes, bytes]]:
    """``aws ARGS`` through the zygote twice (the second reads the data files the first had it parse
    ahead), then directly: (exit code, stdout, stderr) of each."""
    results = []
    for folder in (zygote_path(), zygote_path(), awscli.aws_cli().parent):
        done = subprocess.run(["sh", "-c", 'aws "$@"', "aws", *args], capture_output=True, cwd=tmp_path,
                              env=on_path({**env, **variables}, folder), timeout=120)
        results.append((done.returncode, done.stdout, done.stderr))
    return results


@pytest.mark.parametrize("args", [
    ["--version"],
    ["configure", "list"],
    ["no-such-command"],
    ["cloudformation", "create-stack"],  # a required option missing
    ["cloudformation", "describe-stacks", "--output", "text"],  # the request fails: nothing listens
], ids=" ".join)
def test_output_and_exit_code_are_the_direct_clis(args: list[str], env: dict[str, str], tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{moto_server.free_port()}"
    first, parsed_ahead, direct = both(env, tmp_path, *args, AWS_ENDPOINT_URL=closed)
    assert first == direct
    assert parsed_ahead == direct
    assert direct[0] in (0, 2, 255) and (direct[1] or direct[2])


def test_exit_codes_pass_through(run: Run) -> None:
    assert run("--version").returncode == 0
    assert run("configure", "get", "region", AWS_DEFAULT_REGION="").returncode == 1
    assert run("no-such-command").returncode == 2


def test_the_endpoint_and_its_error_come_from_the_callers_environment(run: Run) -> None:
    closed = f"http://127.0.0.1:{moto_server.free_port()}"
    result = run("sts", "get-caller-identity", AWS_ENDPOINT_URL=closed)
    assert result.returncode == 255
    assert f'Could not connect to the endpoint URL: "{closed}/"'.encode() in result.stderr
    assert result.stdout == b""


def test_stdin_is_read_and_stdout_written_in_utf8_in_the_callers_folder(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    # Files relative to the working directory; aws configure prompts on stdout and reads stdin.
    typed = b"AKIATESTING\nsecret\neu-west-1\njson\n"
    configured = run("configure", stdin=typed, cwd=folder, AWS_CONFIG_FILE="./config",
                     AWS_SHARED_CREDENTIALS_FILE="./credentials")
    assert configured.returncode == 0, configured.stderr
    assert b"Default region name [None]: " in configured.stdout
    assert "region = eu-west-1" in (folder / "config").read_text(encoding="utf-8")
    assert "AKIATESTING" in (folder / "credentials").read_text(encoding="utf-8")

    run("configure", "set", "note", "größe ✓", cwd=folder, AWS_CONFIG_FILE="./config")
    got = run("configure", "get", "note", cwd=folder, AWS_CONFIG_FILE="./config")
    assert (got.returncode, got.stdout) == (0, "größe ✓\n".encode())


def test_home_counts_also_where_the_cli_read_it_on_import(run: Run, env: dict[str, str]) -> None:
    home = Path(env["HOME"])
    (home / ".aws" / "cli").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[default]\nregion = eu-north-1\ncli_history = enabled\n", encoding="utf-8")
    # The alias file's path is a default argument the CLI computes from HOME when it is imported.
    (home / ".aws" / "cli" / "alias").write_text("[toplevel]\nwhere = configure get region\n", encoding="utf-8")

    result = run("where", AWS_CONFIG_FILE=None)

    assert (result.returncode, result.stdout) == (0, b"eu-north-1\n"), result.stderr
    assert (home / ".aws" / "cli" / "history" / "history.db").is_file()  # also a path computed on import


def test_aws_data_path_adds_a_service_model(run: Run, tmp_path: Path) -> None:
    model = tmp_path / "models" / "zygotetest" / "2020-01-01" / "service-2.json"
    model.parent.mkdir(parents=True)
    model.write_text('{"version": "2.0", "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "zygotetest",'
                     ' "protocol": "json", "serviceId": "ZygoteTest", "signatureVersion": "v4", "jsonVersion": "1.0",'
                     ' "targetPrefix": "ZygoteTest", "uid": "zygotetest-2020-01-01"}, "operations": {"Ping": {'
                     '"name": "Ping", "http": {"method": "POST", "requestUri": "/"}}}, "shapes": {}}',
                     encoding="utf-8")
    closed = f"http://127.0.0.1:{moto_server.free_port()}"

    without = run("zygotetest", "ping", AWS_ENDPOINT_URL=closed)
    found = run("zygotetest", "ping", AWS_ENDPOINT_URL=closed, AWS_DATA_PATH=str(tmp_path / "models"))

    assert without.returncode == 2 and b"Invalid choice" in without.stderr
    assert found.returncode == 255 and f'"{closed}/"'.encode() in found.stderr


def serving(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], list[str]]:
    """Start ``aws configure`` (it waits on its stdin); the process and the command line of what runs it."""
    zygote = aws_zygote.zygote_for(awscli.aws_cli())
    assert zygote is not None
    process = subprocess.Popen(["sh", "-c", "exec aws configure"], env=on_path(env, folder), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.read(len(b"AWS Access Key ID")) == b"AWS Access Key ID"  # it runs, and waits
    children = Path(f"/proc/{zygote.process.pid}/task/{zygote.process.pid}/children").read_text().split()
    pid = int(children[0]) if children else process.pid
    return process, Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("variables, forked", [
    ({}, True),
    ({"LANG": "C"}, False),  # not UTF-8: Python would have started otherwise
    ({"PYTHONWARNINGS": "error"}, False),  # the interpreter's own settings: the client runs the CLI itself
], ids=["a block's environment", "C locale", "PYTHON variable"])
def test_the_zygote_forks_for_a_block_and_runs_the_cli_itself_where_it_could_differ(
        env: dict[str, str], variables: dict[str, str], forked: bool) -> None:
    process, command = serving({**env, **variables}, zygote_path())
    process.communicate(b"", timeout=60)
    script = str(awscli.aws_cli())
    if forked:
        assert command[1:3] == [str(aws_zygote.__file__), script]
    else:
        assert command[1:] == [script, "configure"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_reaches_the_cli_and_the_caller_sees_it_end_the_same_way(sig: signal.Signals,
                                                                          env: dict[str, str]) -> None:
    ends = []
    for folder in (zygote_path(), awscli.aws_cli().parent):
        process = subprocess.Popen([str(folder / "aws"), "configure"], env=env, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert process.stdout is not None
        assert process.stdout.read(len(b"AWS Access Key ID")) == b"AWS Access Key ID"
        process.send_signal(sig)
        process.wait(timeout=60)  # stdin still open: the client passes the signal on, EOF must not overtake it
        _, err = process.communicate(timeout=60)
        ends.append((process.returncode, err))
    assert ends[0] == ends[1]
    assert ends[0][0] != 0


def test_nothing_derived_from_the_zygotes_home_or_folder_survives_in_a_child(tmp_path: Path) -> None:
    """Every string the CLI's imports made from HOME or the working directory is moved (``Rebase``)."""
    cli = awscli.aws_cli()
    interpreter = aws_zygote.interpreter_of(cli)
    assert interpreter is not None
    check = textwrap.dedent(f"""
        import gc, os, sys
        sys.path[0] = os.path.dirname(os.path.realpath({str(cli)!r}))
        sys.path.append({str(Path(aws_zygote.__file__).parent)!r})
        import aws_zygote
        for name in aws_zygote.PRELOAD:
            __import__(name)
        def left(old):
            return sorted({{value for holder in gc.get_objects() if isinstance(holder, (dict, list, tuple))
                           for value in (holder.values() if isinstance(holder, dict) else holder)
                           if isinstance(value, str) and old in value}})
        def main():  # the paths in locals: Rebase moves module globals
            home, cwd = os.path.expanduser("~"), os.getcwd()
            assert left(home) and left(cwd), "the check would not see a path"
            aws_zygote.Rebase.find(home).to("/elsewhere/home")
            aws_zygote.Rebase.find(cwd).to("/elsewhere/cwd")
            print(left(home) + left(cwd))
        main()
    """)
    home, cwd = tmp_path / "zygote-home", tmp_path / "zygote-cwd"
    home.mkdir()
    cwd.mkdir()
    done = subprocess.run([interpreter, "-c", check], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_an_aws_that_is_no_cli_v1_script_runs_directly(tmp_path: Path) -> None:
    binary = tmp_path / "v2" / "aws"
    binary.parent.mkdir()
    binary.write_bytes(b"\x7fELF\x02\x01\x01")
    wrong_python = tmp_path / "other" / "aws"
    wrong_python.parent.mkdir()
    wrong_python.write_text(f"#!{sys.executable}\nimport awscli.clidriver\n", encoding="utf-8")  # no awscli here
    assert aws_zygote.path_for(binary) == binary.parent
    assert aws_zygote.path_for(wrong_python) == wrong_python.parent


def test_a_stopped_zygote_is_gone_with_its_folder() -> None:
    running = aws_zygote.start(awscli.aws_cli())
    assert running is not None and running.socket.exists()
    running.stop()
    assert running.process.returncode == 0
    assert not running.folder.exists()


def test_the_client_runs_the_cli_itself_when_no_zygote_listens(env: dict[str, str]) -> None:
    running = aws_zygote.start(awscli.aws_cli())
    assert running is not None
    running.process.kill()
    running.process.wait()
    running.socket.unlink()
    result = subprocess.run([str(running.bin / "aws"), "--version"], env=env, capture_output=True, timeout=120)
    running.stop()
    assert result.returncode == 0 and result.stdout.startswith(b"aws-cli/1."), result.stderr


def fake_loaders() -> types.ModuleType:
    """The part of ``botocore.loaders`` that ParsedData stands in for: a file loader that parses JSON."""
    import json

    module = types.ModuleType("fake_loaders")

    class JSONFileLoader:
        def _load_file(self, full_path: str, open_method: Any) -> Any:
            with open_method(full_path, "rb") as file:
                return module.json.loads(file.read().decode("utf-8"), object_pairs_hook=OrderedDict)

    module.json, module.JSONFileLoader, module._JSON_OPEN_METHODS = json, JSONFileLoader, {".json": open}
    return module


def test_a_data_file_is_parsed_ahead_once_named_and_each_load_still_gets_an_object_of_its_own(tmp_path: Path) -> None:
    installed, home = tmp_path / "site-packages", tmp_path / "home"
    installed.mkdir()
    home.mkdir()
    model, own = installed / "model.json", home / "own.json"
    model.write_text('{"a": [1, 2], "b": {"c": "d"}}', encoding="utf-8")
    own.write_text('{"mine": true}', encoding="utf-8")
    module = fake_loaders()
    parsed = aws_zygote.ParsedData(module, str(installed))
    loader = module.JSONFileLoader()

    def load(path: Path) -> Any:
        return loader._load_file(str(path), open)

    first = load(model)
    assert load(own) == {"mine": True}
    parsed.learn()  # the zygote reads the names the loads wrote
    assert parsed.learnt == {str(model)}  # only the installation's files

    ahead, again = load(model), load(model)
    assert ahead == again == first and isinstance(ahead, OrderedDict)
    assert ahead is not again and ahead is not first  # the parse ahead is handed out once, then parsed anew
    assert ahead is next(iter(parsed.parsed.values()))

    model.write_text('{"a": "changed"}', encoding="utf-8")
    assert load(model) == {"a": "changed"}  # other text: parsed, whatever was parsed ahead
