"""CloudWatch alarms on the function, the API and the deliveries, optionally notifying an SNS topic.

The refusal alarms watch for silent loss: a sender whose secret no longer matches ours, or whose
payload changed, gets 401/400 on every delivery until its retry window runs out. One alarm on
every function refusal, not one per kind: each is a lost transaction, and the runbook's query by
``reason`` tells signature, timestamp and validation apart. Neither is a rollback trigger: a
sender's misconfiguration is not a faulty release, and rolling back would not fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import If, NoValue, Ref, Sub, cloudwatch

from .. import metrics
from . import naming, parameters


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches and when it fires."""

    logical_id: str
    description: str
    namespace: str
    metric: str
    threshold: float
    statistic: str = "Sum"
    period_seconds: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 1


#: Any error or throttle is worth a look: each one is a sender retrying.
#: 5XX is alarmed as a rate (the metric is 0 or 1 per request, so its average
#: is the share of failed requests); latency as p99 against API Gateway's 29 s cap.
FUNCTION_ALARMS = (
    AlarmSpec(naming.FUNCTION_ERRORS_ALARM_ID, "Function errors", "AWS/Lambda", "Errors", 1),
    AlarmSpec(metrics.FUNCTION_THROTTLES_ALARM_ID, "Function throttled", "AWS/Lambda", "Throttles", 1),
)
API_ALARMS = (
    AlarmSpec(naming.API_5XX_ALARM_ID, "Over 1% of requests got 5XX",
              "AWS/ApiGateway", "5XXError", 0.01, statistic="Average", period_seconds=300,
              evaluation_periods=1),
    AlarmSpec(metrics.API_LATENCY_ALARM_ID, "API p99 latency over 2 s",
              "AWS/ApiGateway", "Latency", 2000, statistic="p99", period_seconds=300,
              evaluation_periods=3, datapoints_to_alarm=2),
)


def _notifying_alarm(logical_id: str, description: str, threshold: Any, **watch: Any) -> cloudwatch.Alarm:
    """An alarm on ``watch`` (a metric or metric math) that notifies the topic, when given."""
    notify = If(parameters.HAS_ALARM_TOPIC, [Ref("AlarmTopicArn")], NoValue)
    return cloudwatch.Alarm(
        logical_id,
        AlarmName=Sub(f"${{AWS::StackName}}-{metrics.alarm_suffix(logical_id)}"),
        AlarmDescription=description,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # No traffic is not an incident.
        TreatMissingData="notBreaching",
        AlarmActions=notify,
        OKActions=notify,
        **watch,
    )


def _alarm(spec: AlarmSpec, dimensions: list[cloudwatch.MetricDimension]) -> cloudwatch.Alarm:
    statistic = (
        {"ExtendedStatistic": spec.statistic} if spec.statistic.startswith("p")
        else {"Statistic": spec.statistic}
    )
    return _notifying_alarm(
        spec.logical_id, spec.description, spec.threshold,
        Namespace=spec.namespace,
        MetricName=spec.metric,
        Dimensions=dimensions,
        Period=spec.period_seconds,
        EvaluationPeriods=spec.evaluation_periods,
        # CloudWatch's default is all the evaluated periods: stated only when fewer must breach.
        **({"DatapointsToAlarm": spec.datapoints_to_alarm}
           if spec.datapoints_to_alarm != spec.evaluation_periods else {}),
        **statistic,
    )


def _refusals_alarm() -> cloudwatch.Alarm:
    """Deliveries the function refused: the handler's EMF count of outcome ``rejected``."""
    return _notifying_alarm(
        metrics.REFUSALS_ALARM_ID, "Function refused deliveries",
        Ref("RefusalAlarmThreshold"),
        Namespace=metrics.NAMESPACE,
        MetricName=metrics.DELIVERIES,
        Dimensions=[cloudwatch.MetricDimension(Name=metrics.ENVIRONMENT, Value=Ref("Environment")),
                    cloudwatch.MetricDimension(Name=metrics.OUTCOME, Value=metrics.REJECTED)],
        Statistic="Sum", Period=300, EvaluationPeriods=1,
    )


def _edge_4xx_alarm() -> cloudwatch.Alarm:
    """API Gateway's 4XX answers as a share of requests, silent below a minimum request count."""
    # The API has one stage (the environment), so ApiName alone is that stage's figure, in
    # fewer template bytes than ApiName and Stage twice.
    api = api_dimensions()[:1]

    def total(query_id: str, metric: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(
            Id=query_id, ReturnData=False,
            MetricStat=cloudwatch.MetricStat(
                Metric=cloudwatch.Metric(Namespace="AWS/ApiGateway", MetricName=metric, Dimensions=api),
                Period=300, Stat="Sum"),
        )
    rate = cloudwatch.MetricDataQuery(
        Id="r", Expression=Sub("IF(n>=${Edge4xxAlarmMinRequests},100*e/n,0)"), ReturnData=True)
    return _notifying_alarm(
        metrics.API_4XX_ALARM_ID, "API Gateway 4XX % of requests",
        Ref("Edge4xxAlarmPercent"),
        Metrics=[rate, total("e", "4XXError"), total("n", "Count")], EvaluationPeriods=1,
    )


def api_dimensions() -> list[cloudwatch.MetricDimension]:
    """The API's metric dimensions: its name and the stage, named after the environment."""
    return [
        cloudwatch.MetricDimension(Name="ApiName", Value=naming.per_environment(naming.API)),
        # Not Ref(ApiStage): CodeDeploy's deployment group names these alarms, and the stage
        # depends (through the API's integration) on the live alias, which the deployment group manages.
        cloudwatch.MetricDimension(Name="Stage", Value=Ref("Environment")),
    ]


def alarms() -> list[cloudwatch.Alarm]:
    """Lambda errors and throttles, function refusals; API 5XX and 4XX rates and p99 latency."""
    function = [cloudwatch.MetricDimension(Name="FunctionName", Value=Ref(naming.FUNCTION_ID))]
    api = api_dimensions()
    return ([_alarm(spec, function) for spec in FUNCTION_ALARMS] + [_refusals_alarm()]
            + [_alarm(spec, api) for spec in API_ALARMS] + [_edge_4xx_alarm()])
