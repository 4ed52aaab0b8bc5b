"""Terminal output for the stack commands: colour only on a terminal, and yes/no questions.

Colour follows the NO_COLOR convention (https://no-color.org): any non-empty
``NO_COLOR`` turns it off, and so does output that is not a terminal (a CI
log, a pipe, a file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colour_wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty."""
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def detach_stdout() -> None:
    """Point the process's stdout at /dev/null, so the interpreter's last flush does not fail either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file descriptor (a test's capture)
        pass


@dataclass
class Console:
    """Where the commands write: ``out`` for results and progress, ``err`` for problems."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    colour: bool = False

    @classmethod
    def for_terminal(cls) -> Console:
        """The process's own streams, coloured if stdout is a terminal."""
        return cls(colour=colour_wanted(sys.stdout))

    def style(self, text: str, *styles: str) -> str:
        """``text`` wrapped in ANSI ``styles`` (names of ``_CODES``), or unchanged without colour."""
        if not self.colour or not styles:
            return text
        return f"\033[{';'.join(_CODES[s] for s in styles)}m{text}\033[0m"

    def say(self, text: str = "") -> None:
        """A line of normal output; once the reader has gone (``| head -1``), output is dropped.

        The command carries on: a deploy whose output nobody reads must still
        finish following and protect the stack.
        """
        if self.out is None:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            self.out = None  # type: ignore[assignment]
            detach_stdout()

    def warn(self, text: str) -> None:
        """A line about a problem, on stderr."""
        print(text, file=self.err, flush=True)

    def confirm(self, question: str) -> bool | None:
        """Ask ``question [y/N]``: True for yes, False for anything else, None with no terminal to ask on."""
        isatty = getattr(self.stdin, "isatty", None)
        if not (isatty and isatty()):
            return None
        print(f"{question} [y/N] ", end="", file=self.out, flush=True)
        answer = self.stdin.readline()
        return answer.strip().lower() in ("y", "yes")
