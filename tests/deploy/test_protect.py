"""``converge`` under credentials that expired mid-deploy: it reports, it never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from webhook_templates.config import EnvironmentConfig
from webhook_templates.deploy import protect
from webhook_templates.deploy.console import Console

STACK_ID = "arn:aws:cloudformation:us-east-1:000000000000:stack/webhook-prod/1"


class ExpiredEverywhere:
    """A CloudFormation client whose every call fails as an expired session token does."""

    class meta:  # noqa: N801 - mirrors botocore's client.meta
        region_name = "us-east-1"

    def __init__(self, interrupt_on: str = "") -> None:
        self.calls: list[str] = []
        self.interrupt_on = interrupt_on

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            self.calls.append(operation)
            if operation == self.interrupt_on:
                raise KeyboardInterrupt
            raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "The security token included in the "
                                         "request is expired"}}, operation)
        return call


@pytest.mark.parametrize("interrupt_on", ["", "describe_stacks", "get_stack_policy"])
def test_converge_reports_every_protection_it_could_not_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  interrupt_on: str) -> None:
    cfn = ExpiredEverywhere(interrupt_on)
    outputs = tmp_path / "flat-outputs.json"
    shortfalls = protect.converge(cfn, STACK_ID, EnvironmentConfig(name="prod"), outputs, Console(), created=False)
    assert [s.what for s in shortfalls] == ["the full stack policy", "termination protection",
                                            f"the outputs file {outputs}"]
    # Every write was still attempted, and nothing wrote an empty outputs file.
    assert "set_stack_policy" in cfn.calls and "update_termination_protection" in cfn.calls
    assert not outputs.exists()
    assert shortfalls[0].command.startswith("aws cloudformation set-stack-policy --stack-name")
    protect.report(shortfalls, "webhook-prod", Console())
    assert "PROTECTION NOT RESTORED on webhook-prod: the full stack policy" in capsys.readouterr().err
