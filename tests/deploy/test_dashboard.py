"""The environment's dashboard: generated from metrics.py and naming, put in place by ``deploy``.

The bundle's ``dashboards/<env>.json`` and what ``deploy`` puts are one function's output; a
failure to put it is a shortfall (exit 4, the command printed), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from webhook_templates import dashboard, metrics
from webhook_templates.config import EnvironmentConfig
from webhook_templates.deploy import dashboard as put
from webhook_templates.deploy.console import Console
from webhook_templates.deploy.protect import report
from webhook_templates.deploy.states import Protection
from webhook_templates.exit_codes import EXIT_OK


def _series(body: dict[str, Any]) -> list[list[Any]]:
    return [series for widget in body["widgets"] for series in widget["properties"]["metrics"]]


def test_the_dashboard_graphs_every_outcome_and_reason_the_handler_emits() -> None:
    series = _series(dashboard.body("staging", "eu-west-1"))
    outcomes = {s[5] for s in series if s[:2] == [metrics.NAMESPACE, metrics.DELIVERIES]}
    assert outcomes == set(metrics.OUTCOMES)
    assert all(s[2:4] == [metrics.ENVIRONMENT, "staging"] for s in series if s[0] == metrics.NAMESPACE)
    expressions = [s[0]["expression"] for s in series if isinstance(s[0], dict)]
    # The reason series: SEARCH over the handler's (environment, outcome, reason) dimension set.
    reason_set = ",".join((metrics.NAMESPACE, *metrics.DELIVERY_DIMENSIONS[1]))
    assert any(f"{{{reason_set}}}" in e and 'environment="staging"' in e for e in expressions)
    assert any('Resource="webhook-processor-staging:live"' in e and "ExecutedVersion" in e for e in expressions)


def test_the_dashboard_names_the_environments_resources_and_statistics() -> None:
    series = _series(dashboard.body("prod", "eu-west-1"))
    named = {(s[0], s[1]): s[2:-1] for s in series if isinstance(s[0], str)}
    assert named[("AWS/ApiGateway", "5XXError")] == ["ApiName", "webhook-api-prod", "Stage", "prod"]
    assert named[("AWS/ApiGateway", "4XXError")] == ["ApiName", "webhook-api-prod", "Stage", "prod"]
    assert named[("AWS/Lambda", "Throttles")] == ["FunctionName", "webhook-processor-prod"]
    assert named[("AWS/DynamoDB", "WriteThrottleEvents")] == ["TableName", "transactions-prod"]
    latency = {(s[0], s[-1]["stat"]) for s in series if isinstance(s[0], str) and s[1] in ("Latency", metrics.LATENCY)}
    assert latency == {("AWS/ApiGateway", "p50"), ("AWS/ApiGateway", "p99"),
                       (metrics.NAMESPACE, "p50"), (metrics.NAMESPACE, "p99")}
    assert {"ConcurrentExecutions", "Errors", "ConsumedWriteCapacityUnits", "ReadThrottleEvents"} <= {
        s[1] for s in series if isinstance(s[0], str)}


def test_the_bundle_file_is_the_body_with_the_region_left_to_fill_in(build_dir: Path) -> None:
    content = (build_dir / dashboard.path("dev")).read_text(encoding="utf-8")
    assert json.loads(dashboard.for_region(content, "ap-south-1")) == dashboard.body("dev", "ap-south-1")
    assert {w["properties"]["region"] for w in json.loads(content)["widgets"]} == {dashboard.REGION_TOKEN}


def test_deploy_puts_the_dashboard_in_the_stacks_region(aws, run) -> None:
    result = run("deploy", "--env", "staging", "--yes")
    assert result.code == EXIT_OK, result.out + result.err
    assert "Dashboard webhook-staging: https://us-east-1.console.aws.amazon.com/cloudwatch/" in result.out
    cloudwatch = aws("cloudwatch")
    body = json.loads(cloudwatch.get_dashboard(DashboardName="webhook-staging")["DashboardBody"])
    assert body == dashboard.body("staging", "us-east-1")


class _Refusing:
    """A CloudWatch client refused PutDashboard (an IAM policy without it)."""

    class meta:  # noqa: N801 - mirrors botocore's client.meta
        region_name = "eu-west-1"

    def put_dashboard(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to perform "
                                     "cloudwatch:PutDashboard"}}, "PutDashboard")


def test_a_dashboard_that_cannot_be_put_is_a_shortfall_with_its_command(capsys: pytest.CaptureFixture[str]) -> None:
    shortfall = put.converge(_Refusing(), "webhook-dev", EnvironmentConfig(name="dev"), Console())
    assert shortfall is not None and shortfall.protection is Protection.DASHBOARD
    assert "cloudwatch:PutDashboard" in shortfall.why
    assert shortfall.command == ('aws cloudwatch put-dashboard --region eu-west-1 --dashboard-name webhook-dev '
                                 '--dashboard-body "$(sed s/__REGION__/eu-west-1/g build/dashboards/dev.json)"')
    report([shortfall], "webhook-dev", Console())
    assert "the dashboard webhook-dev could not be put in place" in capsys.readouterr().err
