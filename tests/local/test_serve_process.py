"""``start_process``: the server as a child process, for the tests and the load check."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from served import SECRET, server_environment

from support import serve_process

pytestmark = pytest.mark.slow  # each test starts and stops a serve process


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[str]]:
    """Every process ``start_process`` starts during the test, to check what it left behind."""
    processes: list[subprocess.Popen[str]] = []
    popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        process = popen(*args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(serve_process.subprocess, "Popen", recording_popen)
    return processes


@pytest.mark.parametrize(("flags", "reason"), [
    (["--concurrency", "0"], "--concurrency 0 is invalid; accepted: 1 to 64"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_a_failed_start_raises_with_the_reason(
    flags: list[str], reason: str, started: list[subprocess.Popen[str]]
) -> None:
    with pytest.raises(RuntimeError, match="serve exited with 2 before it was ready") as error:
        serve_process.start_process(*flags, env=server_environment())
    assert reason in str(error.value)
    (process,) = started
    assert process.stdout is not None and process.stdout.closed


def test_a_server_that_is_not_ready_in_time_is_killed(started: list[subprocess.Popen[str]]) -> None:
    with pytest.raises(RuntimeError, match=r"serve printed no banner within 0\.01 s"):
        serve_process.start_process("--quiet", env=server_environment(), ready_timeout=0.01)
    (process,) = started
    assert process.returncode is not None  # killed and reaped, not left running
    assert process.stdout is not None and process.stdout.closed


def test_stop_ends_the_process_and_closes_its_output(started: list[subprocess.Popen[str]]) -> None:
    server = serve_process.start_process("--quiet", "--concurrency", "1", "--secret", SECRET, env=server_environment())
    assert server.banner.startswith("webhook-templates local endpoint")
    assert server.banner.rstrip().endswith("Ctrl-C stops it.")
    server.stop()
    (process,) = started
    assert process.returncode == 0  # SIGTERM is a clean stop
    assert process.stdout is not None and process.stdout.closed
