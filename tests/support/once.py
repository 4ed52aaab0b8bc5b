"""A folder made once per test run, however many xdist workers need it.

A module-scoped fixture is made again in each worker that runs one of the module's tests, and
xdist hands a module's tests to both workers often (the first quarter of the run one test at a
time, round robin). For the few fixtures that cost seconds of one external process (a checkov run,
a CDK synth), the first worker to ask makes the folder under the run's shared temporary folder,
holding a lock; a worker asking meanwhile waits for it, and one asking later reads it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

#: Written last into a finished folder: a worker that failed half-way leaves none, and the next remakes it.
MADE = ".made"


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name`` that ``make`` fills: once for the whole run under xdist, else per call."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    # Each worker's basetemp is popen-gwN inside the run's own folder, which they share.
    folder = tmp_path_factory.getbasetemp().parent / f"once-{name}"
    with open(folder.with_name(folder.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / MADE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / MADE).touch()
    return folder
