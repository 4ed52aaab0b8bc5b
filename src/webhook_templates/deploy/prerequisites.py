"""What an account must have before a first deploy, checked before anything is created.

API Gateway writes a stage's access logs through one CloudWatch role per
account and region (``AWS::ApiGateway::Account``).  Without it, creating the
stage fails well into the first deploy and the whole stack rolls back; the
template sets the role only when ``CreateApiGatewayAccountRole`` is ``true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..handoff.procedure import ACCOUNT_ROLE_SETTING
from ..stack.parameters import ACCOUNT_ROLE_PARAMETER, SET_ACCOUNT_ROLE_COMMAND
from . import messages


def creates_account_role(parameters: Sequence[dict[str, str]]) -> bool:
    """Whether these parameter values make the stack set the API Gateway CloudWatch role itself."""
    return any(p["ParameterKey"] == ACCOUNT_ROLE_PARAMETER and p["ParameterValue"] == "true" for p in parameters)


def missing_api_gateway_role(apigateway: Any, parameters: Sequence[dict[str, str]], table: str | None,
                             environments: Path) -> str | None:
    """Why a first deploy would fail at the stage (``apigateway:GetAccount``), or None when it would not.

    ``table``: the environment's table in ``environments`` (None for an ephemeral environment).
    """
    if creates_account_role(parameters) or apigateway.get_account().get("cloudwatchRoleArn"):
        return None
    return messages.no_api_gateway_role(ACCOUNT_ROLE_PARAMETER, ACCOUNT_ROLE_SETTING, table, environments,
                                        SET_ACCOUNT_ROLE_COMMAND)
