"""Alarms, tags, outputs and console metadata."""

from __future__ import annotations

from typing import Any

from template_helpers import of_type

from support.environments import SHIPPED
from webhook_templates import metrics
from webhook_templates.handoff.render import template_dict
from webhook_templates.stack import naming
from webhook_templates.stack.handler_artifact import HandlerArtifact
from webhook_templates.stack.tags import stack_tags
from webhook_templates.stack.template import build_template

#: Resource types that accept Tags (the rest: alias, model, validator, method, deployment,
#: gateway responses, account, permission, resource, Lambda version and alias).
UNTAGGABLE = {
    "AWS::KMS::Alias", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Account", "AWS::Lambda::Permission",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::Lambda::Version", "AWS::Lambda::Alias",
}


#: The alarms, once Environment/Team/CostCenter move to deploy-time stack tags (under way on main):
#: they carry none of their own (CloudFormation propagates the stack's).
STACK_TAGGED_ONLY = set(metrics.ALARM_IDS)


def test_alarms_cover_errors_throttles_5xx_latency_and_refusals(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(metrics.ALARM_IDS)
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
               if "Namespace" in a["Properties"]}
    assert watched == {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"),
                       ("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Latency"),
                       (metrics.NAMESPACE, metrics.DELIVERIES)}
    for logical_id, alarm in alarms.items():
        named = f"${{AWS::StackName}}-{metrics.alarm_suffix(logical_id)}"
        assert alarm["Properties"]["AlarmName"] == {"Fn::Sub": named}
    latency = next(a["Properties"] for a in alarms.values() if a["Properties"].get("MetricName") == "Latency")
    assert latency["ExtendedStatistic"] == "p99" and "Statistic" not in latency
    five_xx = next(a["Properties"] for a in alarms.values() if a["Properties"].get("MetricName") == "5XXError")
    assert five_xx["Statistic"] == "Average"  # a rate, not a count
    for alarm in alarms.values():
        notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
        assert alarm["Properties"]["AlarmActions"] == notify == alarm["Properties"]["OKActions"]


def test_the_edge_4xx_alarm_is_a_share_that_needs_a_minimum_of_requests(resources: dict[str, Any]) -> None:
    props = resources[metrics.API_4XX_ALARM_ID]["Properties"]
    assert props["Threshold"] == {"Ref": "Edge4xxAlarmPercent"}
    queries = {q["Id"]: q for q in props["Metrics"]}
    [returned] = [q for q in queries.values() if q["ReturnData"]]
    assert returned["Expression"] == {"Fn::Sub": "IF(n>=${Edge4xxAlarmMinRequests},100*e/n,0)"}
    stats = {q["Id"]: q["MetricStat"] for q in queries.values() if "MetricStat" in q}
    assert {i: (s["Metric"]["MetricName"], s["Stat"]) for i, s in stats.items()} == {
        "e": ("4XXError", "Sum"), "n": ("Count", "Sum")}
    api = {"Name": "ApiName", "Value": {"Fn::Sub": "webhook-api-${Environment}"}}
    assert all(s["Metric"]["Dimensions"] == [api] for s in stats.values())


def test_no_refusal_alarm_is_a_rollback_trigger() -> None:
    """A sender's misconfiguration is not a bad release: rolling back would fix nothing."""
    assert not {metrics.REFUSALS_ALARM_ID, metrics.API_4XX_ALARM_ID} & set(naming.ROLLBACK_ALARMS)


def test_no_resource_bakes_in_a_tag_and_every_deploy_sends_the_three_required_ones(
    handler_artifact: HandlerArtifact,
) -> None:
    """Tags are stack tags (CloudFormation propagates them to every taggable resource), never template text."""
    resources = template_dict(build_template(handler_artifact))["Resources"]
    taggable = {k: v for k, v in resources.items() if v["Type"] not in UNTAGGABLE}
    assert len(taggable) >= 15
    assert {k for k, v in taggable.items() if "Tags" in v.get("Properties", {})} == set()
    for name, config in SHIPPED.items():
        sent = stack_tags(config)
        assert {key: sent[key] for key in ("Environment", "Team", "CostCenter")} == {
            "Environment": name, "Team": config.team, "CostCenter": config.cost_center}


def test_outputs_keep_old_names_and_are_exported_with_stack_prefix(body: dict[str, Any]) -> None:
    outputs = body["Outputs"]
    assert {"ApiEndpoint", "TableName", "FunctionName", "KmsKeyId", "SigningSecretArn"} <= set(outputs)
    for key, output in outputs.items():
        assert output["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{key}"}}
    assert outputs["ApiEndpoint"]["Value"]["Fn::Sub"].endswith("/${ApiStage}/webhook")


def test_the_template_spends_no_body_on_console_metadata(body: dict[str, Any]) -> None:
    # The body limit goes to what runs; a parameter's key and description are what the console shows.
    assert "Metadata" not in body
    assert all(parameter.get("Description") for parameter in body["Parameters"].values())
