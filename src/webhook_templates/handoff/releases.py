"""HANDOFF.md's "Releases" section: how a new function version reaches traffic and rolls back.

Read from the template (the deployment group's alarms and rollback events, the
alias) and each environment's settings, so it cannot disagree with either.  The
prose is ``templates/section-releases.md.j2``; this module derives its facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import EnvironmentConfig
from ..stack import naming
from . import templating

#: The section's template, included by HANDOFF.md.j2 when there are facts for it.
TEMPLATE = "section-releases.md.j2"


def facts(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> dict[str, Any] | None:
    """The deployment group's alarms and rollback events, each environment's rollout, who pays for
    provisioned concurrency; ``None`` for a template without a CodeDeploy deployment group."""
    group = next((r["Properties"] for r in body["Resources"].values()
                  if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"), None)
    if group is None:
        return None
    alarms = [alarm["Name"]["Ref"] for alarm in group["AlarmConfiguration"]["Alarms"]]
    return {
        "deployment_group": group["DeploymentGroupName"],
        "events": group["AutoRollbackConfiguration"]["Events"],
        "alarms": {alarm_id: body["Resources"][alarm_id]["Properties"].get("AlarmDescription", "")
                   for alarm_id in alarms},
        "rollouts": [
            (name, f"`{config.deployment_preference}`",
             f"{config.rollback_monitoring_minutes} min" if config.rollback_monitoring_minutes else "none")
            for name, config in environments.items()
        ],
        "provisioned": [f"{name} ({config.provisioned_concurrency})"
                        for name, config in environments.items() if config.provisioned_concurrency],
    }


def section(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> list[str]:
    """The section's lines, or nothing for a template without a CodeDeploy deployment group."""
    releases = facts(body, environments)
    if releases is None:
        return []
    return templating.render(TEMPLATE, releases=releases, naming=naming).splitlines()
