"""Put the environment's dashboard in place after a deploy (``Deployer.converge``).

``put_dashboard`` replaces the whole body, so every deploy converges it; the body is
``dashboard.body`` for the stack's environment and region, the same function the bundle's
``dashboards/<env>.json`` comes from. A failure is a ``Shortfall`` with the command that does
it by hand, never an exception: the stack itself is deployed.
"""

from __future__ import annotations

import shlex
from typing import Any

from .. import dashboard
from ..config import DEFAULT_BUILD_DIR, EnvironmentConfig
from . import messages
from .console import Console
from .protect import Shortfall, why_failed
from .session import aws_errors_or_interrupt
from .stacks import retrying
from .states import Protection


def put_command(name: str, environment: str, region: str) -> str:
    """The AWS CLI command that puts the bundle's dashboard file in place."""
    bundle_file = shlex.quote(str(DEFAULT_BUILD_DIR / dashboard.path(environment)))
    return (f"aws cloudwatch put-dashboard --region {region} --dashboard-name {shlex.quote(name)} "
            f"--dashboard-body \"$(sed s/{dashboard.REGION_TOKEN}/{region}/g {bundle_file})\"")


def converge(cloudwatch: Any, stack_name: str, environment: EnvironmentConfig, console: Console) -> Shortfall | None:
    """Put the dashboard in place (retried through transient errors); a ``Shortfall`` if it could not be."""
    region = cloudwatch.meta.region_name or "us-east-1"
    name = dashboard.dashboard_name(stack_name)
    body = dashboard.to_json(dashboard.body(environment.name, region))
    try:
        response = retrying(lambda: cloudwatch.put_dashboard(DashboardName=name, DashboardBody=body))
    except aws_errors_or_interrupt() as error:
        return Shortfall(Protection.DASHBOARD, messages.protection_name(Protection.DASHBOARD, name),
                         why_failed(error), put_command(name, environment.name, region))
    console.say(messages.dashboard_put(name, region))
    # Warnings only: CloudWatch refuses an invalid body with an error, and kept this one.
    for warning in response.get("DashboardValidationMessages") or ():
        console.warn(messages.dashboard_warning(warning.get("DataPath", ""), warning.get("Message", "")))
    return None
