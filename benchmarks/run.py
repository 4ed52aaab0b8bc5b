"""``make bench``: every benchmark in turn, each in its own process, then the peers summary.

Render and lint timing, then the handler benchmark (when present), then the load check
against ``make serve``'s endpoint. Then the peers: ``webhook-templates render`` against a CDK v2
app of the same stack (``benchmarks/cdk_app/app.py`` in ``.venv-cdk``, which ``make bench``
installs on demand; skipped with one line when it is absent or its synth fails), whole
processes and in-process, interleaved, medians of ``PEER_RUNS``, with the resource types either
template has that the other lacks, if any; and the handler's cold-start
and warm figures from ``bench_handler.py`` against its targets and its "before" column.
Last, the wall time of the test loop, warm: ``make test-quick`` and ``make test`` (printed
beside their bounds, never checked: a machine's load moves them).
Exits non-zero if a benchmark failed; a missing CDK peer is not a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHMARKS = ("bench_render.py", "bench_handler.py", "bench_load.py")
#: Each benchmark is bounded; this only stops a hung one.
TIMEOUT_SECONDS = 900
CDK_PYTHON = ROOT / ".venv-cdk" / "bin" / "python"
CDK_APP = HERE / "cdk_app" / "app.py"
#: CDK's synth takes seconds: a few interleaved rounds give a stable median.
PEER_RUNS = 5
RENDER_TARGET_RATIO = 20
COLD_TARGET_MS = 150
WARM_TARGET_US = 100
#: The test targets make bench times, each with the wall time it should stay under (seconds).
TEST_TARGETS = (("test-quick", 30.0), ("test", 120.0))
#: Keeps a timed run from (re)creating a virtualenv: that would be an install, not a test run.
MAKE_KEEP_VENVS = ("-o", ".venv/.installed", "-o", ".venv-checkov/bin/checkov", "-o", ".venv-awscli/bin/aws")
#: One render in a process whose imports are done: what ``app.synth()`` in-process is to CDK.
#: The CLI imports per command, so a first render (not timed) does those imports.
RENDER_IN_PROCESS = r"""
import sys, time
from webhook_templates.cli import main
main(["render", "--out", sys.argv[1] + "-warm-up"])
started = time.perf_counter()
code = main(["render", "--out", sys.argv[1]])
print((time.perf_counter() - started) * 1000)
raise SystemExit(code)
"""


class PeerSkipped(Exception):
    """The CDK peer cannot run here; the message says why, in one line."""


def run_benchmark(script: Path) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output as it comes; its exit code and output lines."""
    lines: list[str] = []
    try:
        with subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            watchdog = threading.Timer(TIMEOUT_SECONDS, proc.kill)  # a hung benchmark: its output ends
            watchdog.start()
            try:
                for line in proc.stdout:
                    print(line, end="", flush=True)
                    lines.append(line.rstrip("\n"))
            finally:
                watchdog.cancel()
            return proc.wait(), lines
    except OSError as error:
        return -1, [str(error)]


def timed_process(argv: Sequence[str]) -> tuple[float, str]:
    """Wall time of one process in ms, and its stdout; CalledProcessError if it fails."""
    started = time.perf_counter()
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=TIMEOUT_SECONDS)
    return (time.perf_counter() - started) * 1000, out.stdout


def render_bin() -> str:
    """The ``webhook-templates`` script beside this interpreter (the project's .venv)."""
    return str(Path(sys.executable).with_name("webhook-templates"))


def cdk_check(cdk_python: Path = CDK_PYTHON) -> None:
    """Raise PeerSkipped unless the CDK app can run: its venv and Node.js (jsii) present."""
    if not cdk_python.exists():
        raise PeerSkipped(f"no CDK virtualenv at {cdk_python.parent.parent.name} (make bench installs "
                          "'aws-cdk-lib>=2,<3' constructs there; installing failed or was not run)")
    if shutil.which("node") is None:
        raise PeerSkipped("Node.js is not on PATH (aws-cdk-lib's Python runs on jsii, which needs node)")


def cdk_round(scratch: Path, run: int, cdk_python: Path = CDK_PYTHON) -> tuple[float, float, int]:
    """One CDK app process: its wall time, the in-process build + ``app.synth()`` time (ms), resources."""
    try:
        whole, out = timed_process([str(cdk_python), str(CDK_APP), "--out", str(scratch / f"cdk-{run}")])
        report = json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as error:
        detail = getattr(error, "stderr", None) or str(error)
        last = (detail.strip().splitlines() or ["no output"])[-1]
        raise PeerSkipped(f"the CDK app's synth failed: {last}") from error
    return whole, float(report["synth_ms"]), int(report["resources"])


def render_round(scratch: Path, run: int) -> tuple[float, float]:
    """One ``webhook-templates render`` as a whole process and one in-process: both in ms."""
    whole, _ = timed_process([render_bin(), "render", "--out", str(scratch / f"render-{run}")])
    _, out = timed_process([sys.executable, "-c", RENDER_IN_PROCESS, str(scratch / f"render-in-{run}")])
    return whole, float(out.strip().splitlines()[-1])


def resource_types(template: Path) -> list[str]:
    """The ``Type`` of every resource in the JSON template at ``template``, sorted."""
    resources: dict[str, dict[str, Any]] = json.loads(template.read_text())["Resources"]
    return sorted(resource["Type"] for resource in resources.values())


def type_difference(ours: Sequence[str], theirs: Sequence[str]) -> str:
    """What each list of resource types has that the other lacks ("" when they hold the same types as often)."""
    def listed(types: Counter[str]) -> str:
        named = (f"{kind} x{count}" if count > 1 else kind for kind, count in sorted(types.items()))
        return ", ".join(named) or "nothing"

    only_ours, only_theirs = Counter(ours) - Counter(theirs), Counter(theirs) - Counter(ours)
    if not only_ours and not only_theirs:
        return ""
    return f"render only: {listed(only_ours)}; cdk only: {listed(only_theirs)}"


def peers_render(runs: int = PEER_RUNS, cdk_python: Path = CDK_PYTHON) -> list[str]:
    """Summary lines for render against the CDK app: interleaved rounds, medians and ratios."""
    lines = []
    render: list[tuple[float, float]] = []
    cdk: list[tuple[float, float, int]] = []
    skipped: str | None = None
    try:
        cdk_check(cdk_python)
    except PeerSkipped as why:
        skipped = str(why)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for run in range(runs):
            render.append(render_round(scratch, run))
            if skipped is None:
                try:
                    cdk.append(cdk_round(scratch, run, cdk_python))
                except PeerSkipped as why:
                    skipped = str(why)
        render_types = resource_types(scratch / "render-0" / "template.json")
        # The app writes its assembly under --out; its one stack's template is the only *.template.json.
        assembly = sorted((scratch / "cdk-0").glob("**/*.template.json"))
        cdk_types = resource_types(assembly[0]) if assembly else None
    render_whole = statistics.median(r[0] for r in render)
    render_in = statistics.median(r[1] for r in render)
    if skipped is not None or not cdk:
        lines.append(f"peers.render whole_process={render_whole:.0f} ms in_process={render_in:.0f} ms n={runs}")
        lines.append(f"peers.cdk SKIPPED: {skipped}")  # one line; the other figures stand
        return lines
    difference = (type_difference(render_types, cdk_types) if cdk_types is not None
                  else "no template in the CDK app's assembly")
    lines.append(f"peers.resources render={len(render_types)} cdk={cdk[-1][2]} "
                 + (f"(NOT the same stack: {difference})" if difference else "(same stack: the same resource types)"))
    cdk_whole = statistics.median(c[0] for c in cdk)
    cdk_in = statistics.median(c[1] for c in cdk)
    for label, ours, theirs, what in (("whole_process", render_whole, cdk_whole, "python cdk_app/app.py"),
                                      ("in_process", render_in, cdk_in, "App + app.synth()")):
        ratio = theirs / ours
        verdict = "meets" if ratio >= RENDER_TARGET_RATIO else "MISSES"
        lines.append(f"peers.render_vs_cdk.{label} render={ours:.0f} ms cdk={theirs:.0f} ms ({what}) "
                     f"ratio={ratio:.1f}x ({verdict} the >= {RENDER_TARGET_RATIO}x target) n={len(cdk)}")
    return lines


def figure(lines: Sequence[str], name: str) -> tuple[float, float | None] | None:
    """``median`` and ``before`` of the bench line named ``name``, or None when absent."""
    for line in lines:
        if line.startswith(name + " "):
            median = re.search(r"median=([\d.]+)", line)
            before = re.search(r"before=([\d.]+)", line)
            if median:
                return float(median.group(1)), float(before.group(1)) if before else None
    return None


def peers_handler(lines: Sequence[str]) -> list[str]:
    """Summary lines for the handler's cold start and warm work, against targets and the baseline."""
    out = []
    for name, unit, target in (("handler.cold.total_ms", "ms", COLD_TARGET_MS),
                               ("handler.warm.valid_own_us", "us", WARM_TARGET_US),
                               ("handler.warm.valid_us", "us", None)):
        found = figure(lines, name)
        if found is None:
            out.append(f"peers.{name}: not measured (bench_handler.py printed no such line)")
            continue
        now, before = found
        line = f"peers.{name} {now:.1f} {unit}"
        if target is not None:
            line += f", target <= {target} {unit}: {now / target:.2f}x of it ({'meets' if now <= target else 'MISSES'})"
        if before:
            line += f"; before {before:.1f} {unit}: {before / now:.1f}x faster"
        out.append(line)
    return out


def timed_target(target: str, bound_seconds: float, argv: Sequence[str] | None = None) -> str:
    """One line: the wall time of ``make <target>`` (``argv`` runs instead, if given) beside its bound.

    The output is not shown (the target's own run shows it); a failed run says so on the line."""
    command = list(argv or ["make", "--no-print-directory", *MAKE_KEEP_VENVS, target])
    started = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=TIMEOUT_SECONDS).returncode
    line = f"make {target}: {time.perf_counter() - started:.1f} s wall, warm (bound {bound_seconds:g} s)"
    return line if code == 0 else f"{line}; FAILED (exit {code}): run `make {target}` to see why"


def main() -> int:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    failed = []
    handler_lines: list[str] = []
    for name in BENCHMARKS:
        script = HERE / name
        if not script.exists():
            print(f"== {name}: not present, skipped\n", flush=True)
            continue
        print(f"== {name}", flush=True)
        code, lines = run_benchmark(script)
        if name == "bench_handler.py":
            handler_lines = lines
        if code != 0:
            failed.append(name)
            print(f"{name} failed (exit {code})")
        print(flush=True)
    print(f"== peers (load average {load:.2f} when make bench started)", flush=True)
    for line in [*peers_render(), *peers_handler(handler_lines)]:
        print(line, flush=True)
    print(f"\n== the test loop (load average {os.getloadavg()[0]:.2f})", flush=True)
    for target, bound in TEST_TARGETS:
        print(timed_target(target, bound), flush=True)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
