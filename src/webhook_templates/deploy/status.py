"""``webhook-templates status``: how a deployed environment is doing, from CloudWatch, Lambda and CodeDeploy.

Read only. Deliveries by outcome and reason come from the handler's EMF metrics
(``metrics.py``: the series CloudWatch extracted, found with ``ListMetrics``, so every
reason the handler ever emitted is counted); alarms in ALARM from the stack's alarm
names; the ``live`` alias's version and weights; a CodeDeploy deployment in progress;
p99 latency at the edge (API Gateway) and in the handler. Exit 0 when no alarm is in
ALARM, ``EXIT_ALARM`` when one is, so a script can gate on it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from .. import metrics
from ..exit_codes import EXIT_ALARM, EXIT_OK
from ..stack import naming
from .stacks import describe_stack

#: ``--since``: a number and a unit (minutes, hours, days), up to CloudWatch's 15 days of
#: one-minute data.
SINCE_PATTERN = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
SINCE_ACCEPTED = "a duration such as 30m, 6h or 2d, from 1m to 15d"
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_MAX_SINCE = timedelta(days=15)
#: CodeDeploy statuses of a deployment that has not finished.
_UNFINISHED = ["Created", "Queued", "InProgress", "Baking", "Ready"]
#: Error codes (their endings) of a read whose subject does not exist: the alias, the application.
_MISSING = ("NotFoundException", "DoesNotExistException")


def parse_since(text: str) -> timedelta | None:
    """``--since``'s duration, or None when it is not one ``SINCE_ACCEPTED`` describes."""
    match = SINCE_PATTERN.match(text)
    if not match:
        return None
    since = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return since if since <= _MAX_SINCE else None


@dataclass(frozen=True)
class Clients:
    """The read-only clients ``status`` calls."""

    cloudformation: Any
    cloudwatch: Any
    lambda_: Any
    codedeploy: Any


@dataclass
class Status:
    """One environment's state: what ``--output json`` prints, and the text lines come from."""

    stack: str
    environment: str
    since_minutes: int
    deliveries: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    alarms_in_alarm: list[str] = field(default_factory=list)
    alarms_missing: list[str] = field(default_factory=list)
    #: None: the alias is not there.
    live_version: str | None = None
    live_weights: dict[str, float] = field(default_factory=dict)
    deployment_in_progress: str | None = None
    p99_edge_ms: float | None = None
    p99_function_ms: float | None = None

    @property
    def healthy(self) -> bool:
        """No alarm is in ALARM."""
        return not self.alarms_in_alarm

    def exit_code(self) -> int:
        """0 healthy, ``EXIT_ALARM`` when any alarm is in ALARM."""
        return EXIT_OK if self.healthy else EXIT_ALARM

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form."""
        return {**asdict(self), "healthy": self.healthy}


def _values(response: dict[str, Any], query_id: str) -> list[float]:
    return next((r["Values"] for r in response["MetricDataResults"] if r["Id"] == query_id), [])


def _stat(query_id: str, namespace: str, name: str, dimensions: dict[str, str], stat: str,
          period: int) -> dict[str, Any]:
    return {"Id": query_id, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]},
        "Period": period, "Stat": stat}}


def _delivery_series(cloudwatch: Any, environment: str) -> list[dict[str, str]]:
    """The (environment, outcome, reason) series CloudWatch holds for ``environment``."""
    found: list[dict[str, str]] = []
    pages = cloudwatch.get_paginator("list_metrics").paginate(
        Namespace=metrics.NAMESPACE, MetricName=metrics.DELIVERIES,
        Dimensions=[{"Name": metrics.ENVIRONMENT, "Value": environment}])
    wanted = set(metrics.DELIVERY_DIMENSIONS[-1])
    for page in pages:
        for metric in page.get("Metrics", []):
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if set(dimensions) == wanted and dimensions not in found:  # each series once
                found.append(dimensions)
    return found


def _read_metrics(cloudwatch: Any, status: Status, start: datetime, end: datetime) -> None:
    """Deliveries by outcome and reason, and the two p99s, over ``start``..``end`` (one period)."""
    period = max(60, int((end - start).total_seconds()) // 60 * 60)
    series = _delivery_series(cloudwatch, status.environment)
    api = {"ApiName": f"{naming.API}-{status.environment}", "Stage": status.environment}
    queries = [_stat(f"d{i}", metrics.NAMESPACE, metrics.DELIVERIES, dims, "Sum", period)
               for i, dims in enumerate(series)]
    queries += [_stat("edge", "AWS/ApiGateway", "Latency", api, "p99", period),
                _stat("own", metrics.NAMESPACE, metrics.LATENCY, {metrics.ENVIRONMENT: status.environment}, "p99",
                      period)]
    response = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    for i, dims in enumerate(series):
        count = int(sum(_values(response, f"d{i}")))
        if count:
            outcome, reason = dims[metrics.OUTCOME], dims[metrics.REASON]
            status.deliveries[outcome] = status.deliveries.get(outcome, 0) + count
            status.reasons[f"{outcome}/{reason}"] = count
    status.p99_edge_ms = _first(response, "edge")
    status.p99_function_ms = _first(response, "own")


def _first(response: dict[str, Any], query_id: str) -> float | None:
    """The one period's value (the highest, should CloudWatch split it)."""
    values = _values(response, query_id)
    return round(max(values), 3) if values else None


def _unless_missing(call: Any, **arguments: Any) -> dict[str, Any]:
    """``call(**arguments)``, or an empty answer when what it reads does not exist."""
    try:
        return dict(call(**arguments))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "").endswith(_MISSING):
            return {}
        raise


def _read_alarms(cloudwatch: Any, status: Status) -> None:
    names = [metrics.alarm_name(status.stack, logical_id) for logical_id in metrics.ALARM_IDS]
    found = cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
    states = {alarm["AlarmName"]: alarm["StateValue"] for alarm in found}
    status.alarms_in_alarm = [name for name in names if states.get(name) == "ALARM"]
    status.alarms_missing = [name for name in names if name not in states]


def _read_release(clients: Clients, status: Status, function: str) -> None:
    """The live alias's version and weights, and a CodeDeploy deployment that has not finished."""
    alias = _unless_missing(clients.lambda_.get_alias, FunctionName=function, Name=naming.LIVE_ALIAS)
    status.live_version = alias.get("FunctionVersion")
    status.live_weights = dict((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
    unfinished = _unless_missing(
        clients.codedeploy.list_deployments, applicationName=f"{naming.FUNCTION}-{status.environment}",
        deploymentGroupName=naming.LIVE_ALIAS, includeOnlyStatuses=_UNFINISHED).get("deployments", [])
    status.deployment_in_progress = unfinished[0] if unfinished else None


def read_status(clients: Clients, stack_name: str, environment: str, since: timedelta,
                now: datetime | None = None) -> Status | None:
    """The environment's status, or None when there is no such stack."""
    stack = describe_stack(clients.cloudformation, stack_name)
    if stack is None or stack.get("StackStatus") == "DELETE_COMPLETE":
        return None
    # CloudWatch aggregates by the minute: end at the next one, so the current minute counts.
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    status = Status(stack_name, environment, int(since.total_seconds() // 60))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    _read_alarms(clients.cloudwatch, status)
    _read_release(clients, status, outputs.get("FunctionName", f"{naming.FUNCTION}-{environment}"))
    _read_metrics(clients.cloudwatch, status, end - since, end)
    return status


def _milliseconds(value: float | None) -> str:
    return "no data" if value is None else f"{value:g} ms"


def lines(status: Status) -> list[str]:
    """The text report, one fact a line."""
    window = f"the last {status.since_minutes} min"
    if status.deliveries:
        counts = ", ".join(f"{outcome} {status.deliveries.get(outcome, 0)}" for outcome in metrics.OUTCOMES)
        out = [f"deliveries in {window}: {counts}"]
        out += [f"  {reason}: {count}" for reason, count in sorted(status.reasons.items())]
    else:
        out = [f"no delivery metrics for {status.environment} in {window} (no traffic, or the function never ran)"]
    weights = ", ".join(f"version {v} takes {w:.0%}" for v, w in status.live_weights.items())
    out.append(f"{naming.LIVE_ALIAS} alias: version {status.live_version}" + (f" ({weights})" if weights else "")
               if status.live_version else f"no {naming.LIVE_ALIAS} alias")
    out.append(f"deployment in progress: {status.deployment_in_progress}" if status.deployment_in_progress
               else "no deployment in progress")
    out.append(f"p99 latency: edge {_milliseconds(status.p99_edge_ms)}, "
               f"handler {_milliseconds(status.p99_function_ms)}")
    out += [f"alarm missing: {name}" for name in status.alarms_missing]
    out.append(f"ALARM: {', '.join(status.alarms_in_alarm)}" if status.alarms_in_alarm else "no alarm in ALARM")
    return out


def no_stack(stack_name: str, region: str | None, environment: str) -> str:
    """The one line for an environment that is not deployed."""
    where = f" in {region}" if region else ""
    return (f"No stack {stack_name}{where}: nothing to report (deploy it with "
            f"`webhook-templates deploy --env {environment}`).")

