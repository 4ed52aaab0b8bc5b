"""CloudWatch alarms on the function and the API, optionally notifying an SNS topic."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import If, NoValue, Ref, Sub, cloudwatch

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
    AlarmSpec(naming.FUNCTION_ERRORS_ALARM_ID, "Webhook processor raised errors", "AWS/Lambda", "Errors", 1),
    AlarmSpec("FunctionThrottlesAlarm", "Webhook processor was throttled", "AWS/Lambda", "Throttles", 1),
)
API_ALARMS = (
    AlarmSpec(naming.API_5XX_ALARM_ID, "More than 1% of webhook requests failed with 5XX",
              "AWS/ApiGateway", "5XXError", 0.01, statistic="Average", period_seconds=300,
              evaluation_periods=1),
    AlarmSpec("ApiLatencyP99Alarm", "Webhook p99 latency above 2 seconds",
              "AWS/ApiGateway", "Latency", 2000, statistic="p99", period_seconds=300,
              evaluation_periods=3, datapoints_to_alarm=2),
)


def _alarm(spec: AlarmSpec, dimensions: list[cloudwatch.MetricDimension]) -> cloudwatch.Alarm:
    notify = If(parameters.HAS_ALARM_TOPIC, [Ref("AlarmTopicArn")], NoValue)
    statistic = (
        {"ExtendedStatistic": spec.statistic} if spec.statistic.startswith("p")
        else {"Statistic": spec.statistic}
    )
    return cloudwatch.Alarm(
        spec.logical_id,
        AlarmName=Sub(f"${{AWS::StackName}}-{spec.logical_id.removesuffix('Alarm')}"),
        AlarmDescription=spec.description,
        Namespace=spec.namespace,
        MetricName=spec.metric,
        Dimensions=dimensions,
        Period=spec.period_seconds,
        EvaluationPeriods=spec.evaluation_periods,
        # CloudWatch's default is all the evaluated periods: stated only when fewer must breach.
        **({"DatapointsToAlarm": spec.datapoints_to_alarm}
           if spec.datapoints_to_alarm != spec.evaluation_periods else {}),
        Threshold=spec.threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # No traffic is not an incident.
        TreatMissingData="notBreaching",
        AlarmActions=notify,
        OKActions=notify,
        **statistic,
    )


def alarms() -> list[cloudwatch.Alarm]:
    """Lambda errors and throttles; API 5XX rate and p99 latency."""
    function = [cloudwatch.MetricDimension(Name="FunctionName", Value=Ref(naming.FUNCTION_ID))]
    api = [
        cloudwatch.MetricDimension(Name="ApiName", Value=naming.per_environment(naming.API)),
        # The stage is named after the environment.  Not Ref(ApiStage): CodeDeploy's
        # deployment group names these alarms, and the stage depends (through the
        # API's integration) on the live alias, which the deployment group manages.
        cloudwatch.MetricDimension(Name="Stage", Value=Ref("Environment")),
    ]
    return [_alarm(spec, function) for spec in FUNCTION_ALARMS] + [
        _alarm(spec, api) for spec in API_ALARMS
    ]
