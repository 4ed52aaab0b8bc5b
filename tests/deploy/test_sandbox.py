"""``make sandbox``: the patched moto server as a process of its own, deployed to, then stopped with Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import boto3
import pytest
from deploy_testkit import MOTO_SKIPS_TYPES

from support import moto_server
from support.environments import ENVIRONMENTS_FILE, REPO_ROOT
from webhook_templates import cli

# slow: make sandbox's process and moto's server
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(MOTO_SKIPS_TYPES)]


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


class Sandbox:
    """A running ``python -m support.sandbox`` and the lines it has printed."""

    def __init__(self, port: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "tests")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "support.sandbox", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=_lines, args=(self.process.stdout, self.lines), daemon=True).start()
        self.printed: list[str] = []

    def read_until(self, marker: str, timeout: float = 60) -> str:
        while not any(marker in line for line in self.printed):
            try:
                self.printed.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                pytest.fail(f"the sandbox printed no {marker!r} in {timeout} s: {''.join(self.printed)}")
        return "".join(self.printed)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox(moto_server.free_port())
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def test_sandbox_deploys_a_new_environment_and_stops_on_ctrl_c(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    banner = sandbox.read_until("Running until Ctrl-C")
    exports = dict(
        pair.split("=", 1) for line in banner.splitlines() if line.strip().startswith("export ")
        for pair in line.split()[1:]
    )
    assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(exports)
    assert "IAM" in banner and "replacement flags" in banner  # it says what it does not model

    # A fresh clone with [qa] added, deployed with the exports the sandbox printed.
    (tmp_path / "environments.toml").write_text(ENVIRONMENTS_FILE.read_text() + "\n[qa]\n")
    monkeypatch.chdir(tmp_path)
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["deploy", "--env", "qa", "--yes", "--poll-interval", "0"]) == 0

    cfn = boto3.client("cloudformation", endpoint_url=exports["AWS_ENDPOINT_URL"])
    assert cfn.describe_stacks(StackName="webhook-qa")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    dynamodb = boto3.client("dynamodb", endpoint_url=exports["AWS_ENDPOINT_URL"])
    assert dynamodb.describe_table(TableName="transactions-qa")["Table"]["TableName"] == "transactions-qa"

    sandbox.process.send_signal(signal.SIGINT)
    assert sandbox.process.wait(timeout=30) == 0
    assert "sandbox stopped" in sandbox.read_until("sandbox stopped")


def test_a_busy_port_is_refused_with_exit_2() -> None:
    with socket.socket() as holder:  # any listener makes the port busy; a second sandbox is no different
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        second = subprocess.run([sys.executable, "-m", "support.sandbox", "--port", str(port)], capture_output=True,
                                text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "tests")}, timeout=60)

    assert second.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use; accepted: a free port" in second.stderr
