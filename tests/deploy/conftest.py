"""Deploy-test fixtures: an account with API Gateway's role, fast retries, the CLI.

moto's server, the empty account and the rendered build are tests/conftest.py's.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_testkit import Result, Terminal

from support import faults, moto_server
from support.environments import ENVIRONMENTS_FILE
from webhook_templates import cli
from webhook_templates.deploy import stacks


@pytest.fixture(autouse=True)
def shared_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's sessions read botocore's model files through one loader (support.faults): a
    process runs one command, but the deploy tests run hundreds in this one."""
    faults.share_models(monkeypatch)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off for milliseconds, not seconds, and give up after 1 s of failures in a row.

    1 s, not less: on a loaded machine one refused connection plus the re-describe that follows
    it took over 0.2 s, and a single transient failure was then reported as final.
    """
    monkeypatch.setattr(stacks, "RETRY", stacks.Backoff(first_seconds=0.001, cap_seconds=0.004, budget_seconds=1.0))


@pytest.fixture
def aws(moto_account: Callable[[str], Any], moto_endpoint: str) -> Callable[[str], Any]:
    """An empty moto account with API Gateway's CloudWatch role (a first deploy checks for it)."""
    moto_server.with_api_gateway_role(moto_endpoint)
    return moto_account


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        build_dir: Path) -> Callable[..., Result]:
    """Run ``webhook-templates`` with ``args``; stdin is no terminal unless ``answer`` is typed (or ``stdin=None``).

    Unless ``defaults`` (or the test's own flags) say otherwise, commands get
    the session's build and a per-test outputs file; they never wait between polls.
    """

    def invoke(*args: str, answer: str | None = None, defaults: bool = False, stdin: Any = "") -> Result:
        # stdin=None: keep the standard input the test has put in place.
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", Terminal(answer) if answer is not None else io.StringIO(stdin))
        argv = list(args)
        if not defaults and argv[0] in ("deploy", "diff") and "--environments" not in argv:
            argv += ["--environments", str(ENVIRONMENTS_FILE)]
        if argv[0] in ("deploy", "diff", "destroy") and "--poll-interval" not in argv:
            argv += ["--poll-interval", "0"]
        if not defaults and argv[0] in ("deploy", "diff", "outputs", "destroy") and "--outputs-file" not in argv:
            argv += ["--outputs-file", str(tmp_path / "flat-outputs.json")]
        if not defaults and argv[0] in ("deploy", "diff") and "--template" not in argv:
            argv += ["--template", str(build_dir / "template.json")]
        capsys.readouterr()
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse, and ConfigError through parser.exit
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
