"""What an account must have before a first deploy, checked before anything is created.

API Gateway writes a stage's access logs through one CloudWatch role per
account and region (``AWS::ApiGateway::Account``).  Without it, creating the
stage fails well into the first deploy and the whole stack rolls back.  The
webhook template does not set it: the bundle's ``account-setup.json`` does,
deployed once per account and region (``stack/account_setup.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..stack import naming
from ..stack.account_setup import SET_ACCOUNT_ROLE_COMMAND, deploy_command
from . import messages


def account_setup_beside(template: Path) -> Path:
    """The bundle's account setup template, which render writes beside ``template``."""
    return template.parent / naming.ACCOUNT_SETUP_TEMPLATE


def missing_api_gateway_role(apigateway: Any, account_setup: Path) -> str | None:
    """Why a first deploy would fail at the stage (``apigateway:GetAccount``), or None when it would not.

    ``account_setup``: the account setup template the fix deploys (``account_setup_beside``).
    """
    if apigateway.get_account().get("cloudwatchRoleArn"):
        return None
    return messages.no_api_gateway_role(deploy_command(str(account_setup)), SET_ACCOUNT_ROLE_COMMAND)
