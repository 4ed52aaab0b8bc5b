"""``webhook-templates status`` against moto's server: metric data put as CloudWatch extracts it from
the handler's EMF lines, the stack's alarms, the live alias; and with no stack at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.faults import Faults, install
from webhook_templates import metrics
from webhook_templates.exit_codes import EXIT_ALARM, EXIT_FAILED, EXIT_OK, EXIT_USAGE


def _emf_line(outcome: str, reason: str, latency_ms: float) -> dict[str, Any]:
    """A log line's members as the handler writes them (the EMF document)."""
    return {"_aws": {"Timestamp": 0, "CloudWatchMetrics": metrics.emf_directives()},
            metrics.ENVIRONMENT: "staging", metrics.OUTCOME: outcome, metrics.REASON: reason,
            metrics.DELIVERIES: 1, metrics.LATENCY: latency_ms}


def _extract(line: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What CloudWatch Logs extracts from an EMF line: one datum per metric and dimension set."""
    return [(directive["Namespace"], {"MetricName": metric["Name"], "Value": line[metric["Name"]],
                                      "Unit": metric["Unit"],
                                      "Dimensions": [{"Name": d, "Value": line[d]} for d in dimension_set]})
            for directive in line["_aws"]["CloudWatchMetrics"] for metric in directive["Metrics"]
            for dimension_set in directive["Dimensions"]]


def _put(cloudwatch: Any, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        for namespace, datum in _extract(line):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=[datum])


def test_status_without_a_stack_is_one_line_and_exit_1(aws, run) -> None:
    result = run("status", "--env", "dev")
    assert result.code == EXIT_FAILED
    assert result.err.strip().splitlines() == [
        "No stack webhook-dev in us-east-1: nothing to report (deploy it with `webhook-templates deploy --env dev`)."]
    assert "Traceback" not in result.out + result.err


def test_a_bad_since_is_a_usage_error(aws, run) -> None:
    result = run("status", "--env", "dev", "--since", "3 weeks")
    assert result.code == EXIT_USAGE
    assert "--since '3 weeks' is invalid; accepted: a duration such as 30m" in result.err


def test_status_counts_deliveries_by_outcome_and_reason_and_reads_the_alarms(aws, run) -> None:
    assert run("deploy", "--env", "staging", "--yes").code == EXIT_OK
    quiet = json.loads(run("status", "--env", "staging", "--output", "json").out)
    assert quiet["deliveries"] == {} and quiet["healthy"] is True
    cloudwatch = aws("cloudwatch")
    _put(cloudwatch, [_emf_line("processed", "processed", 2.0), _emf_line("processed", "processed", 4.0),
                      _emf_line("duplicate", "duplicate", 1.0),
                      _emf_line("rejected", "invalid_signature", 1.5), _emf_line("rejected", "validation_failed", 9.0)])
    cloudwatch.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
        {"MetricName": "Latency", "Value": value, "Unit": "Milliseconds",
         "Dimensions": [{"Name": "ApiName", "Value": "webhook-api-staging"}, {"Name": "Stage", "Value": "staging"}]}
        for value in (30.0, 80.0, 45.0)])

    result = run("status", "--env", "staging", "--since", "30m", "--output", "json")
    assert result.code == EXIT_OK, result.err
    status = json.loads(result.out)
    assert status["deliveries"] == {"processed": 2, "duplicate": 1, "rejected": 2}
    assert status["reasons"] == {"processed/processed": 2, "duplicate/duplicate": 1,
                                 "rejected/invalid_signature": 1, "rejected/validation_failed": 1}
    assert (status["p99_edge_ms"], status["p99_function_ms"]) == (80.0, 9.0)
    assert status["alarms_in_alarm"] == [] and status["alarms_missing"] == []
    assert status["live_version"] and status["deployment_in_progress"] is None
    assert status["since_minutes"] == 30

    cloudwatch.set_alarm_state(AlarmName="webhook-staging-DeliveryRefusals", StateValue="ALARM",
                               StateReason="test: 2 refusals")
    text = run("status", "--env", "staging")
    assert text.code == EXIT_ALARM
    assert "deliveries in the last 60 min: processed 2, duplicate 1, rejected 2, failed 0" in text.out
    assert "  rejected/invalid_signature: 1" in text.out
    assert "p99 latency: edge 80 ms, handler 9 ms" in text.out
    assert "ALARM: webhook-staging-DeliveryRefusals" in text.out


@pytest.mark.parametrize("kind", ["html500", "refused", "expired"])
@pytest.mark.parametrize("operation", ["GetMetricData", "DescribeAlarms"])
def test_status_when_cloudwatch_fails_is_one_line_never_a_traceback(
    aws, run, monkeypatch: pytest.MonkeyPatch, operation: str, kind: str
) -> None:
    """A proxy's error page, a refused connection or expired credentials on a CloudWatch read (every
    retry of it) end status with one line and exit 1: a script never reads 'healthy' from a failed read."""
    assert run("deploy", "--env", "staging", "--yes").code == EXIT_OK
    plan = Faults().add(operation, kind, times=100)
    install(plan, monkeypatch)
    result = run("status", "--env", "staging", "--output", "json")
    assert plan.calls[operation] >= 1
    assert result.code == EXIT_FAILED, result.out
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err
