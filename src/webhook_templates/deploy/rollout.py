"""Release safety in ``deploy``: CloudFormation rollback triggers and CodeDeploy's progress.

Two small pieces the deploy flow calls:

- ``read``: the stack's rollback alarms (``naming.ROLLBACK_ALARMS``, read from
  the stack's resources) as ARNs, which ``Procedure.rollback_configuration``
  makes the change set's rollback triggers, so CloudFormation rolls the update
  back if one fires while it runs or in the environment's monitoring minutes
  after.  A stack that does not exist yet has no alarms, so a first deploy has
  no triggers.
- ``TrafficShift``: while the stack update runs, CodeDeploy moves the ``live``
  alias to the new version; each poll reports the deployments that started or
  changed status since the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..handoff.procedure import ALARM_TYPE, GONE_STATUSES
from ..stack import naming
from . import messages
from .states import DEPLOYMENT_STOPPED, DeploymentStatus

_APPLICATION_TYPE = "AWS::CodeDeploy::Application"
_GROUP_TYPE = "AWS::CodeDeploy::DeploymentGroup"
#: Deployments are listed from this long before the update starts, so a clock
#: behind AWS's cannot hide one; those already there are ignored.
_CLOCK_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class StackRollout:
    """What a deployed stack has for releases: its rollback alarms and CodeDeploy's names."""

    alarm_arns: tuple[str, ...] = ()
    application: str | None = None
    deployment_group: str | None = None


def alarm_arn(stack_id: str, alarm_name: str) -> str:
    """The ARN of alarm ``alarm_name`` in the stack's partition, region and account."""
    partition, region, account = stack_id.split(":")[1], stack_id.split(":")[3], stack_id.split(":")[4]
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_name}"


def read(cfn: Any, stack_id: str) -> StackRollout:
    """The stack's rollback alarms (as ARNs) and its CodeDeploy application and group names."""
    resources = [
        resource
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        for resource in page.get("StackResourceSummaries", [])
        if resource.get("PhysicalResourceId") and resource["ResourceStatus"] not in GONE_STATUSES
    ]
    by_id = {resource["LogicalResourceId"]: resource for resource in resources}
    alarms = tuple(
        alarm_arn(stack_id, by_id[alarm_id]["PhysicalResourceId"])
        for alarm_id in naming.ROLLBACK_ALARMS
        if alarm_id in by_id and by_id[alarm_id]["ResourceType"] == ALARM_TYPE
    )
    names = {resource["ResourceType"]: resource["PhysicalResourceId"] for resource in resources
             if resource["ResourceType"] in (_APPLICATION_TYPE, _GROUP_TYPE)}
    return StackRollout(alarms, names.get(_APPLICATION_TYPE), names.get(_GROUP_TYPE))


def describe_triggers(stack: StackRollout, monitoring_minutes: int) -> str:
    """One line saying what will roll the update back."""
    if not stack.alarm_arns:
        return messages.NO_ROLLBACK_TRIGGERS
    return messages.rollback_triggers([arn.rsplit(":", 1)[1] for arn in stack.alarm_arns], monitoring_minutes)


@dataclass
class TrafficShift:
    """CodeDeploy deployments of the stack's deployment group that start during the update."""

    codedeploy: Any
    stack: StackRollout
    since: datetime
    _ignored: set[str] = field(default_factory=set)
    _seen: dict[str, str] = field(default_factory=dict)
    _failed: bool = False
    _pending: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, codedeploy: Any, stack: StackRollout, now: datetime | None = None) -> TrafficShift:
        """Watch from now on: deployments that exist already (earlier releases) are not reported."""
        watch = cls(codedeploy, stack, (now or datetime.now(UTC)) - _CLOCK_MARGIN)
        watch._ignored = set(watch._guarded(watch._deployment_ids) or ())
        return watch

    def poll(self) -> list[str]:
        """A line for each deployment that started or changed status since the last poll."""
        lines = self._guarded(self._poll) or []
        pending, self._pending = self._pending, []
        return pending + lines

    def _guarded(self, read: Any) -> Any:
        """Progress is information, never a reason to fail the deploy: if CodeDeploy cannot be
        read (e.g. no ``codedeploy:ListDeployments`` permission), say so once and stop polling."""
        if self._failed or not (self.stack.application and self.stack.deployment_group):
            return None
        try:
            return read()
        except (ClientError, BotoCoreError) as error:
            self._failed = True
            self._pending.append(messages.codedeploy_unreadable(error))
            return None

    def _deployment_ids(self) -> list[str]:
        pages = self.codedeploy.get_paginator("list_deployments").paginate(
            applicationName=self.stack.application, deploymentGroupName=self.stack.deployment_group,
            createTimeRange={"start": self.since},
        )
        return [deployment_id for page in pages for deployment_id in page.get("deployments", [])]

    def _poll(self) -> list[str]:
        lines = []
        for deployment_id in self._deployment_ids():
            if deployment_id in self._ignored:
                continue
            info = self.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            if self._seen.get(deployment_id) != info["status"]:
                self._seen[deployment_id] = info["status"]
                lines.append(progress_line(info))
        return lines


def progress_line(info: dict[str, Any]) -> str:
    """One deployment's state as a line: ID, status, configuration, and why it stopped."""
    line = (f"traffic shifting: CodeDeploy {info['deploymentId']} {info['status']} "
            f"({info.get('deploymentConfigName', 'unknown configuration')})")
    status = info["status"]
    if status == DeploymentStatus.SUCCEEDED:
        line += ": the live alias serves the new version"
    elif status in DEPLOYMENT_STOPPED:
        error = info.get("errorInformation", {})
        if error.get("message"):
            line += f": {error.get('code', 'error')}: {error['message']}"
        rollback = info.get("rollbackInfo", {})
        if rollback.get("rollbackMessage") or rollback.get("rollbackDeploymentId"):
            line += (f"; rolled back ({rollback.get('rollbackDeploymentId', '')}"
                     f"{': ' + rollback['rollbackMessage'] if rollback.get('rollbackMessage') else ''})")
    return line
