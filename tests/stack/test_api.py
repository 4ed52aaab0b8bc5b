"""The API: POST /webhook proxied, validated, throttled, and redeployed whenever it changes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from template_helpers import of_type, props

from support.environments import SHIPPED as ENVIRONMENTS
from webhook_templates.stack import api, contract, naming
from webhook_templates.stack.handler_artifact import HandlerArtifact, HandlerLimits
from webhook_templates.stack.parameters import parameter_file


def test_api_keeps_old_name(resources: dict[str, Any]) -> None:
    assert props(resources, naming.API_ID)["Name"] == {"Fn::Sub": "webhook-api-${Environment}"}
    assert props(resources, api.RESOURCE_ID)["PathPart"] == "webhook"


def test_post_webhook_is_a_lambda_proxy_with_body_validation(resources: dict[str, Any]) -> None:
    method = props(resources, api.METHOD_ID)
    assert method["HttpMethod"] == "POST"
    assert method["ResourceId"] == {"Ref": api.RESOURCE_ID}
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert method["RequestValidatorId"] == {"Ref": api.VALIDATOR_ID}
    assert method["RequestModels"] == {"application/json": {"Ref": api.MODEL_ID}}
    assert props(resources, api.VALIDATOR_ID)["ValidateRequestBody"] is True


def test_model_is_the_handlers_contract(resources: dict[str, Any], handler_artifact: HandlerArtifact) -> None:
    # An object, not troposphere's JSON string: the form every reader of the template accepts.
    schema = props(resources, api.MODEL_ID)["Schema"]
    assert schema == contract.request_schema(handler_artifact.limits)
    assert schema["required"] == ["transactionId", "amount", "currency"]
    assert schema["properties"]["amount"]["type"] == "number"
    assert schema["properties"]["transactionId"]["type"] == "string"
    assert schema["$schema"].startswith("http://json-schema.org/draft-04/")


def test_gateway_rejections_use_the_handlers_error_shape(resources: dict[str, Any]) -> None:
    responses = of_type(resources, "AWS::ApiGateway::GatewayResponse")
    types = {r["Properties"]["ResponseType"] for r in responses.values()}
    assert {"BAD_REQUEST_BODY", "THROTTLED"} <= types
    for response in responses.values():
        template = response["Properties"]["ResponseTemplates"]["application/json"]
        assert template.startswith('{"error":"') and '"message":' in template


def _deployments(resources: dict[str, Any]) -> list[str]:
    return list(of_type(resources, "AWS::ApiGateway::Deployment"))


def test_exactly_one_deployment_and_the_stage_uses_it(resources: dict[str, Any]) -> None:
    (deployment,) = _deployments(resources)
    assert deployment.startswith(api.DEPLOYMENT_PREFIX)
    assert props(resources, naming.STAGE_ID)["DeploymentId"] == {"Ref": deployment}
    # The deployment must come after every part of the definition it snapshots.
    assert set(resources[deployment]["DependsOn"]) >= {api.METHOD_ID, api.MODEL_ID, api.RESOURCE_ID}


@pytest.mark.parametrize("change", ["handler limit", "method"])
def test_changing_the_api_definition_changes_the_deployment_id(change: str, handler_artifact: HandlerArtifact) -> None:
    limits = handler_artifact.limits
    before = api.deployment(api.api_definition(limits)).title
    if change == "handler limit":  # a handler that accepts shorter IDs changes the model
        definition = api.api_definition(dataclasses.replace(limits, transaction_id_max_length=64))
    else:
        definition = api.api_definition(limits)
        method = next(o for o in definition if o.title == api.METHOD_ID)
        method.AuthorizationType = "AWS_IAM"
    after = api.deployment(definition).title
    assert after != before


def test_unchanged_definition_keeps_the_deployment_id(handler_artifact: HandlerArtifact) -> None:
    limits: HandlerLimits = handler_artifact.limits
    assert api.deployment(api.api_definition(limits)).title == api.deployment(api.api_definition(limits)).title


def test_stage_is_traced_logged_and_throttled(resources: dict[str, Any]) -> None:
    stage = props(resources, naming.STAGE_ID)
    assert stage["StageName"] == {"Ref": "Environment"}
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [naming.ACCESS_LOG_GROUP_ID, "Arn"]}
    assert stage["AccessLogSetting"]["Format"].startswith('{"requestId":"$context.requestId"')
    (settings,) = stage["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["MetricsEnabled"] is True
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottleBurstLimit"}


@pytest.mark.parametrize(("env", "rate", "burst"), [("dev", "10", "20"), ("staging", "25", "50"),
                                                    ("prod", "100", "200")])
def test_throttling_values_per_environment(env: str, rate: str, burst: str) -> None:
    values = {p["ParameterKey"]: p["ParameterValue"] for p in parameter_file(ENVIRONMENTS[env])}
    assert (values["ThrottleRateLimit"], values["ThrottleBurstLimit"]) == (rate, burst)


def test_no_usage_plan(resources: dict[str, Any]) -> None:
    """A usage plan only throttles requests that carry an API key, which senders never send:
    the stage's MethodSettings throttle, and the plan's bytes went to the alarms."""
    assert not [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::UsagePlan"]


def test_the_account_logging_role_is_not_in_the_webhook_stack(body: dict[str, Any]) -> None:
    """One per account and region: account-setup.json holds it, so the stage depends on nothing of it."""
    assert not set(naming.MOVED_TO_ACCOUNT_SETUP) & set(body["Resources"])
    assert not of_type(body["Resources"], "AWS::ApiGateway::Account")
    assert "CreateApiGatewayAccountRole" not in body["Parameters"]
    assert "ShouldCreateApiGatewayAccountRole" not in body["Conditions"]
    assert props(body["Resources"], naming.STAGE_ID)["Description"] == "Webhook stage"
    assert "DependsOn" not in body["Resources"][naming.STAGE_ID]


def test_invoke_permission_scoped_to_this_api_stage_and_method(resources: dict[str, Any]) -> None:
    permission = props(resources, api.PERMISSION_ID)
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceArn"] == {"Fn::Sub": (
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebhookApi}/${ApiStage}/POST/webhook")}


@pytest.mark.parametrize(("body", "accepted"), [
    ({"transactionId": "t-1", "amount": 12.5, "currency": "USD"}, True),
    ({"transactionId": "t-1", "amount": 12.5, "currency": "USD", "metadata": None}, True),
    ({"transactionId": "t-1", "amount": 12.5, "currency": "USD", "status": "completed"}, True),
    ({"transactionId": "t-1", "amount": 0, "currency": "USD"}, False),
    ({"transactionId": "t-1", "amount": 10**16, "currency": "USD"}, False),
    ({"transactionId": "t-1", "amount": True, "currency": "USD"}, False),
    ({"transactionId": "t 1", "amount": 1, "currency": "USD"}, False),
    ({"transactionId": "t-1", "amount": 1, "currency": "usd"}, False),
    ({"transactionId": "t-1", "amount": 1, "currency": "USD", "status": "done"}, False),
    ({"amount": 1, "currency": "USD"}, False),
])
def test_gateway_schema_agrees_with_the_handler(
    body: dict[str, Any], accepted: bool, handler_artifact: HandlerArtifact
) -> None:
    """What API Gateway lets through, the handler accepts too (and the reverse for these cases)."""
    import importlib.util

    import jsonschema

    schema_ok = jsonschema.Draft4Validator(contract.request_schema(handler_artifact.limits)).is_valid(body)
    assert schema_ok is accepted
    # The handler itself judges the same body: imported here, never by the generator.
    spec = importlib.util.spec_from_file_location("webhook_handler_for_schema_test", handler_artifact.origin)
    assert spec and spec.loader
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    try:
        handler._validate(handler._parse(json.dumps(body).encode()))
        handler_ok = True
    except handler.Reject:
        handler_ok = False
    assert handler_ok is accepted
