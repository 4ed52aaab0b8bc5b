"""Render and lint timing: how long ``make template`` and cfn-lint take, and how big the template is.

    .venv/bin/python benchmarks/bench_render.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from webhook_templates.config import load_environments
from webhook_templates.handoff import lint
from webhook_templates.handoff.bundle import build_files
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT

ROUNDS = 5
T = TypeVar("T")


def timed(action: Callable[[], T], rounds: int = ROUNDS) -> tuple[float, T]:
    """Median wall time of ``action`` in ms over ``rounds`` runs, and its last result."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> int:
    environments = load_environments(Path(__file__).resolve().parents[1] / "environments.toml")
    render_ms, files = timed(lambda: build_files(environments, commit="benchmark"))
    by_path = {f.path: f.content for f in files}
    lint_ms, findings = timed(lambda: lint.cfn_lint(by_path["template.json"], "template.json"), rounds=1)
    template_bytes = len(by_path["template.json"].encode())
    print(f"render: {render_ms:.0f} ms median of {ROUNDS} for the bundle ({len(by_path)} files)")
    print(f"  template.json {template_bytes:,} bytes ({template_bytes / TEMPLATE_BODY_LIMIT:.0%} of the "
          f"{TEMPLATE_BODY_LIMIT:,}-byte TemplateBody limit), template.yaml "
          f"{len(by_path['template.yaml'].encode()):,} bytes, HANDOFF.md {len(by_path['HANDOFF.md'].encode()):,} bytes")
    print(f"  cfn-lint {lint_ms:.0f} ms, {len(findings)} finding(s)")
    return 0 if not findings else 1


if __name__ == "__main__":
    raise SystemExit(main())
