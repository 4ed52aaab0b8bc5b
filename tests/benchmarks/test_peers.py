"""benchmarks/run.py's peers summary: a missing CDK peer is one skip line, handler figures get ratios."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_cdk_venv_is_skipped_with_one_line_naming_it(bench_run: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(bench_run.PeerSkipped) as skipped:
        bench_run.cdk_check(tmp_path / ".venv-cdk" / "bin" / "python")
    message = str(skipped.value)
    assert "\n" not in message
    assert ".venv-cdk" in message and "aws-cdk-lib" in message


def test_failing_cdk_app_becomes_a_skip_not_a_crash(bench_run: ModuleType, tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ModuleNotFoundError: aws_cdk' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(bench_run.PeerSkipped, match="synth failed: ModuleNotFoundError: aws_cdk"):
        bench_run.cdk_round(tmp_path, 0, fake)


def test_resource_types_are_compared_as_multisets(bench_run: ModuleType, tmp_path: Path) -> None:
    template = tmp_path / "template.json"
    template.write_text('{"Resources": {"B": {"Type": "AWS::Lambda::Alias"}, "A": {"Type": "AWS::IAM::Role"},'
                        ' "C": {"Type": "AWS::IAM::Role"}}}')
    ours = bench_run.resource_types(template)
    assert ours == ["AWS::IAM::Role", "AWS::IAM::Role", "AWS::Lambda::Alias"]
    assert bench_run.type_difference(ours, list(reversed(ours))) == ""
    # Same count, different types: the difference names both sides, a repeated type with its count.
    theirs = ["AWS::IAM::Role", "AWS::KMS::Key", "AWS::KMS::Key"]
    assert bench_run.type_difference([*ours, "AWS::IAM::Role"], theirs) == (
        "render only: AWS::IAM::Role x2, AWS::Lambda::Alias; cdk only: AWS::KMS::Key x2")
    assert bench_run.type_difference(ours, ours[:2]) == "render only: AWS::Lambda::Alias; cdk only: nothing"


def test_handler_figures_get_target_and_baseline_ratios(bench_run: ModuleType) -> None:
    lines = bench_run.peers_handler([
        "handler.cold.total_ms median=120.0 max=130.0 before=324.0 (add44cc) n=7",
        "handler.warm.valid_own_us median=50.0 p99=80.0 n=500",
    ])
    cold, own, full = lines
    assert "120.0 ms" in cold and "meets" in cold and "2.7x faster" in cold
    assert "50.0 us" in own and "0.50x of it" in own and "before" not in own
    assert "not measured" in full
    slow = bench_run.peers_handler(["handler.cold.total_ms median=300.0 max=310.0 n=7"])[0]
    assert "MISSES" in slow


def test_a_timed_target_is_one_line_with_its_time_and_bound(bench_run: ModuleType) -> None:
    line = bench_run.timed_target("test-quick", 30, [sys.executable, "-c", "import time; time.sleep(0.2)"])
    assert re.fullmatch(r"make test-quick: \d+\.\d s wall, warm \(bound 30 s\)", line), line
    assert float(line.split()[2]) >= 0.2


def test_a_failed_target_says_so_and_how_to_see_why(bench_run: ModuleType) -> None:
    line = bench_run.timed_target("test", 120, [sys.executable, "-c", "raise SystemExit(3)"])
    assert line.endswith("; FAILED (exit 3): run `make test` to see why") and "\n" not in line

