"""``make bench``: every benchmark in turn, each in its own process, printing its figures.

Render and lint timing, then the handler benchmark (when present), then the
load check against ``make serve``'s endpoint.  Exits non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_render.py", "bench_handler.py", "bench_load.py")
#: Each benchmark is bounded; this only stops a hung one.
TIMEOUT_SECONDS = 900


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        script = HERE / name
        if not script.exists():
            print(f"== {name}: not present, skipped\n", flush=True)
            continue
        print(f"== {name}", flush=True)
        try:
            code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, timeout=TIMEOUT_SECONDS).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            failed.append(name)
            print(f"{name} failed (exit {code})")
        print(flush=True)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
