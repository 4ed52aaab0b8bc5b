"""HANDOFF.md's "Releases" section: how a new function version reaches traffic and rolls back.

Read from the template (the deployment group's alarms and rollback events, the
alias) and each environment's settings, so it cannot disagree with either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import EnvironmentConfig
from ..stack import naming


def _of_type(body: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in body["Resources"].items() if v["Type"] == resource_type}


def section(body: Mapping[str, Any], environments: Mapping[str, EnvironmentConfig]) -> list[str]:
    """The section, or nothing for a template without a CodeDeploy deployment group."""
    groups = _of_type(body, "AWS::CodeDeploy::DeploymentGroup")
    if not groups:
        return []
    group = next(iter(groups.values()))["Properties"]
    alarms = [alarm["Name"]["Ref"] for alarm in group["AlarmConfiguration"]["Alarms"]]
    events = ", ".join(f"`{event}`" for event in group["AutoRollbackConfiguration"]["Events"])
    described = {alarm_id: body["Resources"][alarm_id]["Properties"].get("AlarmDescription", "")
                 for alarm_id in alarms}
    provisioned = ", ".join(f"{name} ({config.provisioned_concurrency})"
                            for name, config in environments.items() if config.provisioned_concurrency) or "none"
    lines = [
        "## Releases: canary and automatic rollback",
        "",
        f"API Gateway invokes the function's `{naming.LIVE_ALIAS}` alias, which always names a published "
        "version. A deploy that changes the function's code or configuration publishes a new version; "
        f"CloudFormation then hands the alias to CodeDeploy (application `webhook-processor-<env>`, "
        f"deployment group `{group['DeploymentGroupName']}`), which shifts traffic to it by the "
        "environment's `DeploymentPreference`. A deploy that changes nothing else publishes nothing.",
        "",
        "| Environment | Traffic shifting | Rollback monitoring after the update |",
        "|---|---|---|",
        *(f"| {name} | `{config.deployment_preference}` | "
          f"{f'{config.rollback_monitoring_minutes} min' if config.rollback_monitoring_minutes else 'none'} |"
          for name, config in environments.items()),
        "",
        "**What rolls a release back.** CodeDeploy stops the shift and moves the alias back to the previous "
        f"version (auto-rollback on {events}) when the deployment fails or when one of these alarms goes to "
        "`ALARM` while traffic shifts:",
        "",
        *(f"- `{alarm_id}`: {described[alarm_id]}" for alarm_id in alarms),
        "",
        "The alias update then fails and the stack update rolls back with it. `webhook-templates deploy` "
        "also passes the same alarms to CloudFormation as rollback triggers (`RollbackConfiguration`), "
        "watched during the update and for the monitoring minutes above; `aws cloudformation deploy` "
        "does not set them. Throttling and latency alarms only notify: they measure load, not the release.",
        "",
        "**Watching one** (`<env>` as above; `webhook-templates deploy` prints the same status as it goes):",
        "",
        "```sh",
        "aws deploy list-deployments --application-name webhook-processor-<env> "
        f"--deployment-group-name {group['DeploymentGroupName']}",
        "aws deploy get-deployment --deployment-id d-XXXXXXXXX      # status, and why it stopped",
        f"aws lambda get-alias --function-name webhook-processor-<env> --name {naming.LIVE_ALIAS}"
        "   # RoutingConfig: the new version's share",
        "aws deploy stop-deployment --deployment-id d-XXXXXXXXX --auto-rollback-enabled   # roll back by hand",
        "```",
        "",
        "Cold starts (both off by default): `SnapStart=true` (Python 3.12+) restores published versions from a "
        "snapshot, billed for the cached snapshot and each restore. `ProvisionedConcurrency=N` keeps N execution "
        f"environments initialised on the `{naming.LIVE_ALIAS}` alias, so up to N concurrent requests are served "
        "without a cold start; it is billed per GB-second (N x memory) for as long as it is configured, whether used "
        "or not. Lambda refuses it together with SnapStart, and above `ReservedConcurrency` when that is set. "
        f"Environments that set it: {provisioned}.",
        "",
        "A pre-traffic check is an extension point: "
        "a function named in the alias's `BeforeAllowTrafficHook`, which the CodeDeploy role must then be "
        "allowed to invoke.",
        "",
    ]
    return lines
