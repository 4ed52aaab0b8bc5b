"""``webhook-templates serve`` as a child process, for the serve tests and the load benchmark.

Test-only: the product runs the server in-process (``local.serve``); this
starts it as its own process on a free loopback port, waits for its banner and
stops it, leaving no process or pipe behind.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

#: How long ``start_process`` waits for the banner: importing moto and cold-starting the
#: handler copies takes seconds, more on a loaded CI machine, never a minute.
READY_TIMEOUT_SECONDS = 60.0
#: How long to wait for the process (and so its output) to end once it is told to.
STOP_TIMEOUT_SECONDS = 15.0
BANNER_START = "webhook-templates local endpoint"
BANNER_END = "Ctrl-C"


class ProcessOutput:
    """A child's combined stdout and stderr, read on a daemon thread for the child's whole life.

    A thread, not a loop in the caller: waiting for the banner needs a
    deadline, and reading must go on after it, or a server that logs
    (requests, handler failures) would block once the pipe's buffer is full.
    Lines are queued until ``discard`` (nobody reads them once the server is ready).
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._keep = True
        self._thread = threading.Thread(target=self._read, name="serve-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            if self._keep:
                self._lines.put(line)
        self._lines.put(None)  # end of output: the process closed it, i.e. exited

    def next_line(self, deadline: float) -> str | None:
        """The next line, ``None`` at the end of the output; ``queue.Empty`` once ``deadline`` (monotonic) passes."""
        return self._lines.get(timeout=max(0.0, deadline - time.monotonic()))

    def discard(self) -> None:
        """Stop keeping lines; they are still read, so the process never blocks writing them."""
        self._keep = False

    def close(self) -> None:
        """Close the pipe, once the process has exited (the reader then sees its end)."""
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._stream.close()


def _end(process: subprocess.Popen[str], output: ProcessOutput, *, kill: bool) -> None:
    """End ``process`` (SIGTERM, or SIGKILL when ``kill`` or it does not exit in time) and close its output."""
    if process.poll() is None:
        process.kill() if kill else process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    output.close()


@dataclass(frozen=True)
class ServeProcess:
    """``serve`` running as its own process (for tests and the load check)."""

    process: subprocess.Popen[str]
    url: str
    banner: str
    output: ProcessOutput

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL if it does not exit in time) and close its output."""
        _end(self.process, self.output, kill=False)


def _wait_for_banner(output: ProcessOutput, deadline: float, seen: list[str]) -> tuple[str, str] | None:
    """``(url, banner)`` once the banner is out; ``None`` if the output ends first.

    Every line read is appended to ``seen``, so a failure can show them.
    ``queue.Empty`` when ``deadline`` passes first.
    """
    while (line := output.next_line(deadline)) is not None:
        seen.append(line)
        if line.startswith(BANNER_END):
            # Warnings on stderr may come before the banner, in the same stream.
            starts = [n for n, text in enumerate(seen) if text.startswith(BANNER_START)]
            banner = "".join(seen[starts[-1]:]) if starts else "".join(seen)
            url = re.search(r"POST (http://\S+/webhook)", banner)
            if url:
                return url.group(1), banner
    return None


def start_process(
    *args: str, env: Mapping[str, str] | None = None, ready_timeout: float = READY_TIMEOUT_SECONDS
) -> ServeProcess:
    """Start ``webhook-templates serve --port 0 <args>`` and wait for its banner.

    Port 0 lets the system pick a free loopback port; the banner says which.
    ``RuntimeError`` with everything the process printed (stderr included: the
    reason it failed) if it exits first, or prints no banner within ``ready_timeout`` seconds.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "webhook_templates", "serve", "--port", "0", *args],
        env={**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    output = ProcessOutput(process.stdout)
    seen: list[str] = []
    try:
        ready = _wait_for_banner(output, time.monotonic() + ready_timeout, seen)
    except queue.Empty:
        _end(process, output, kill=True)
        raise RuntimeError(f"serve printed no banner within {ready_timeout:g} s:\n{''.join(seen)}") from None
    except BaseException:  # e.g. Ctrl-C while waiting: leave no process behind
        _end(process, output, kill=True)
        raise
    if ready is None:
        _end(process, output, kill=False)  # it has exited: this reaps it
        raise RuntimeError(f"serve exited with {process.returncode} before it was ready:\n{''.join(seen)}")
    output.discard()
    url, banner = ready
    return ServeProcess(process, url, banner, output)
