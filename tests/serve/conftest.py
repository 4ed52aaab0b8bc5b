"""A real ``webhook-templates serve`` process on a free loopback port, started and stopped by the tests."""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from served import SECRET, Served, start, stop


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    process, banner = start("--secret", SECRET, "--quiet")
    try:
        url = re.search(r"POST (http://127\.0\.0\.1:\d+/webhook)", banner)
        assert url, banner
        yield Served(url.group(1), SECRET, banner)
    finally:
        stop(process)

