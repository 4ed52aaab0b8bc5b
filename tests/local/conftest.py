"""A real ``webhook-templates serve`` process on a free loopback port, started and stopped by the tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from served import SECRET, Served, server_environment

from support.serve_process import start_process


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    server = start_process("--secret", SECRET, "--quiet", env=server_environment())
    try:
        yield Served(server.url, SECRET, server.banner)
    finally:
        server.stop()
